"""``ser-zoo bench``: run each model on every fold of a protocol and append one CSV row per finished fold.

A model is a recipe path (``configs/x.yaml``), a registered model name (library defaults plus the front-end the
model declares) or a scikit-learn baseline name. Rows are written as soon as a fold finishes, so a killed run loses
only the fold in flight, and a rerun skips every (model, fold) whose row in the CSV is complete.
"""

from __future__ import annotations

import csv
import datetime
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from ..data.labels import resolve_classes
from ..data.splits import get_protocol
from ..errors import ConfigError

log = logging.getLogger("ser_zoo")
REPO = Path(__file__).resolve().parents[2]
BASE_COLUMNS = [
    "protocol",
    "classes",
    "model",
    "fold",
    "wa",
    "ua",
    "f1",
    "epochs",
    "train_seconds",
    "params",
    "n_test",
    "test_speakers",
    "device",
    "git_commit",
    "config",
    "date",
    "confusion",
]


def results_path(out: Path, protocol: str, classes: Optional[str]) -> Path:
    """``<protocol>.csv``, or ``<protocol>-<classes>.csv`` when the class set is not the protocol's own."""
    default = get_protocol(protocol).classes
    return out / (f"{protocol}.csv" if classes in (None, default) else f"{protocol}-{classes}.csv")


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        )
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def read_rows(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def row_complete(row: dict) -> bool:
    """A finished fold: WA, UA and macro-F1 all present as numbers (a hand-edited or damaged row is rerun)."""
    try:
        return all(0.0 <= float(row.get(k) or "nan") <= 1.0 for k in ("wa", "ua", "f1"))
    except ValueError:
        return False


def append_row(path: Path, row: dict, class_names: Sequence[str]) -> None:
    """Rewrite the CSV with the new row through a temp file + rename, so a kill never leaves half a file.

    An earlier row for the same (model, fold), which can only be an incomplete one, is replaced."""
    from filelock import FileLock

    same = (str(row["model"]), str(row["fold"]))
    columns = BASE_COLUMNS[:7] + [f"recall_{c}" for c in class_names] + BASE_COLUMNS[7:]
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):  # two bench runs on one protocol never drop each other's rows
        rows = [r for r in read_rows(path) if (r.get("model"), r.get("fold")) != same] + [row]
        tmp = path.with_suffix(".csv.tmp")
        with tmp.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)
        os.replace(tmp, path)


def result_row(protocol: str, classes: str, label: str, fold: int, r: dict) -> dict:
    """One CSV row from a fold's result (metrics, recall, confusion, cost, provenance) and the commit that made it."""
    return {
        "protocol": protocol,
        "classes": classes,
        "model": label,
        "fold": fold,
        "wa": f"{r['wa']:.4f}",
        "ua": f"{r['ua']:.4f}",
        "f1": f"{r['f1']:.4f}",
        **{f"recall_{c}": f"{v:.4f}" for c, v in r["recall"].items()},
        "epochs": r["epochs"],
        "train_seconds": r["train_seconds"],
        "params": r["params"],
        "n_test": r["n_test"],
        "test_speakers": r["test_speakers"],
        "device": r["device"],
        "git_commit": git_commit(),
        "config": r["config"],
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "confusion": json.dumps(r["confusion"]),
    }


def model_label(spec: str) -> str:
    return Path(spec).stem if spec.endswith((".yaml", ".yml")) else spec


def _lightning_fold(
    spec: str,
    protocol: str,
    fold: int,
    classes: Optional[str],
    out: Path,
    max_epochs: Optional[int],
    root: Optional[str],
    overrides: Sequence[str],
) -> dict:
    from ..lit.cli import build_cli

    args = ["--config", spec] if spec.endswith((".yaml", ".yml")) else ["--model.model", spec]
    args += [
        "--data.protocol",
        protocol,
        "--data.fold",
        str(fold),
        "--trainer.logger.init_args.save_dir",
        str(Path("runs") / "bench" / protocol),
        "--trainer.logger.init_args.name",
        f"{model_label(spec)}-fold{fold}",
        "--trainer.enable_progress_bar",
        str(sys.stderr.isatty()).lower(),
    ]
    if classes:
        args += ["--data.classes", classes]
    if max_epochs:
        args += ["--trainer.max_epochs", str(max_epochs)]
    if root:
        args += ["--data.root", root]
    cli = build_cli([*args, *overrides], run=False)
    model, dm, trainer = cli.model, cli.datamodule, cli.trainer
    start = time.time()
    trainer.fit(model, datamodule=dm)
    seconds = time.time() - start
    best = trainer.checkpoint_callback.best_model_path or None
    [metrics] = trainer.test(model, datamodule=dm, ckpt_path=best, verbose=False)
    import torch

    return {
        "wa": metrics["test/wa"],
        "ua": metrics["test/ua"],
        "f1": metrics["test/f1"],
        "recall": model.test_results["per_class_recall"],
        "confusion": model.test_results["confusion_matrix"],
        "epochs": trainer.current_epoch,
        "train_seconds": round(seconds, 1),
        "params": sum(p.numel() for p in model.net.parameters()),
        "n_test": len(dm.stage_clips("test")),
        "test_speakers": " ".join(sorted({c.speaker for c in dm.stage_clips("test")})),
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
        "config": " ".join([spec, *overrides]) + (f" max_epochs={max_epochs}" if max_epochs else ""),
        "class_names": dm.class_names,
    }


def _baseline_fold(spec: str, protocol: str, fold: int, classes: Optional[str], root: Optional[str]) -> dict:
    from ..models.classical import parse_baseline_spec, run_baseline

    name, features, vad = parse_baseline_spec(spec)
    start = time.time()
    r = run_baseline(name, protocol, fold, root=root, classes=classes, features=features, vad_trim=vad)
    return {
        **r,
        "train_seconds": round(time.time() - start, 1),
        "epochs": "",
        "device": "cpu",
        "config": f"baseline {name} features={features}" + (" vad_trim" if vad else ""),
    }


def is_baseline(spec: str) -> bool:
    """A baseline name, optionally with its features and VAD trim: ``svm``, ``mlp:stats+mfcc_mean+pitch:vad``."""
    try:
        from ..models.classical import BASELINES, parse_baseline_spec
    except ImportError:
        return False
    if spec.endswith((".yaml", ".yml")):
        return False
    return parse_baseline_spec(spec)[0] in BASELINES


def run_bench(
    protocol: str,
    models: Sequence[str],
    folds: Optional[Sequence[int]] = None,
    out: str | Path = "benchmarks/results",
    classes: Optional[str] = None,
    max_epochs: Optional[int] = None,
    root: Optional[str] = None,
    overrides: Sequence[str] = (),
) -> Path:
    """Run every (model, fold) not yet in the protocol's CSV; returns the CSV path."""
    from ..data.corpora import read_corpora
    from ..data.datamodule import default_data_root

    proto = get_protocol(protocol)
    class_names = resolve_classes(classes or proto.classes)
    out = Path(out)
    path = results_path(out, protocol, classes)
    if folds is None:
        folds = range(proto.num_folds(read_corpora(proto.corpora, root or default_data_root())))
    for spec in models:
        if not (spec.endswith((".yaml", ".yml")) or is_baseline(spec)):
            from ..models import model_entry

            model_entry(spec)  # unknown names fail before any training starts
        elif is_baseline(spec):
            from ..models.classical import check_features, parse_baseline_spec

            check_features(parse_baseline_spec(spec)[1])
        elif spec.endswith((".yaml", ".yml")) and not Path(spec).is_file():
            raise ConfigError(f"recipe not found: {spec}")
    for spec in models:
        label = model_label(spec)
        for fold in folds:
            done = {(r["model"], r["fold"]) for r in read_rows(path) if row_complete(r)}
            if (label, str(fold)) in done:
                log.warning(f"bench: {label} fold {fold} already in {path}; skipped")
                continue
            if is_baseline(spec):
                r = _baseline_fold(spec, protocol, fold, classes, root)
            else:
                r = _lightning_fold(spec, protocol, fold, classes, out, max_epochs, root, overrides)
            append_row(path, result_row(protocol, classes or proto.classes, label, fold, r), class_names)
            print(
                f"[{protocol}] {label} fold {fold}: WA {r['wa']:.4f} UA {r['ua']:.4f} F1 {r['f1']:.4f} "
                f"({r['train_seconds']} s) -> {path}",
                flush=True,
            )
            from .report import write_report

            write_report(out)
    return path
