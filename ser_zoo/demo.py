"""The main job: train the default recipe on real data for a short schedule, then test it.

Runs the same LightningCLI as ``ser-zoo fit`` (so every option stays overridable) and prints test
WA / UA / macro-F1 with the protocol's name, plus where the checkpoint and confusion matrix went.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional, Sequence

from .data.clips import default_data_root
from .data.corpora import READERS
from .data.download import download_corpus
from .lit.best_checkpoint import score_best_checkpoint
from .lit.callbacks import ConfusionMatrixWriter
from .lit.cli import build_cli
from .zoo_paths import DEFAULT_RECIPE, DEMO_EPOCHS


def _ensure_data(root: str, corpora: Sequence[str]) -> None:
    """Fetch a missing corpus from its official source (the dev layout has them in ../shared/data)."""
    for name in corpora:
        if name in READERS and not (Path(root) / name).is_dir():
            print(f"{name} not under {root}: downloading it from its official source")
            download_corpus(name, root)


def run_demo(
    config: Optional[str] = None, max_epochs: Optional[int] = None, overrides: Sequence[str] = ()
) -> dict:
    args = [
        "--config",
        str(config or DEFAULT_RECIPE),
        "--trainer.max_epochs",
        str(max_epochs or DEMO_EPOCHS),
        *overrides,
    ]
    start = time.time()
    cli = build_cli(args, run=False)
    dm, model, trainer = cli.datamodule, cli.model, cli.trainer
    if dm.hparams.root is None:
        dm.root = default_data_root()
    _ensure_data(dm.root, dm.corpora)
    trainer.fit(model, datamodule=dm)
    metrics = score_best_checkpoint(trainer, model, dm)
    best = trainer.checkpoint_callback.best_model_path or None
    [writer] = [c for c in trainer.callbacks if isinstance(c, ConfusionMatrixWriter)]
    protocol = dm.protocol
    tag = "speaker-independent" if protocol.speaker_independent else "random-split, NOT speaker-independent"
    test_speakers = sorted({c.speaker for c in dm.stage_clips("test")})
    result = {
        "protocol": protocol.name,
        "fold": dm.hparams.fold,
        "model": model.hparams.model,
        "classes": dm.class_names,
        "test_speakers": test_speakers,
        "test_wa": metrics["test/wa"],
        "test_ua": metrics["test/ua"],
        "test_f1": metrics["test/f1"],
        "epochs": trainer.current_epoch,
        "seconds": round(time.time() - start, 1),
        "checkpoint": best,
        "confusion_matrix_png": str(writer.png_path) if writer.png_path else None,
        "log_dir": trainer.log_dir,
    }
    Path(trainer.log_dir).mkdir(parents=True, exist_ok=True)
    (Path(trainer.log_dir) / "demo_result.json").write_text(json.dumps(result, indent=1))
    print(
        f"\n{protocol.name} fold {result['fold']} ({tag}; test speakers {', '.join(test_speakers)}), "
        f"{len(dm.class_names)} classes, model {result['model']}, {result['epochs']} epochs, "
        f"{result['seconds']} s"
    )
    print(
        f"test WA {result['test_wa']:.4f}  UA {result['test_ua']:.4f}  macro-F1 {result['test_f1']:.4f}  "
        f"[{protocol.name}]"
    )
    print(
        f"checkpoint: {best}\nconfusion matrix: {result['confusion_matrix_png']}\nlog dir: {trainer.log_dir}"
    )
    return result
