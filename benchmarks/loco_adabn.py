"""How much of loco's gap is the held-out corpus's feature statistics? AdaBN on each loco fold's checkpoint.

Each fold's best-on-validation checkpoint from ``ser-zoo bench --suite benchmarks/suites/general6_loco.yaml``
is tested three times on the held-out corpus: as trained; after re-estimating every BatchNorm layer's running
mean and variance on that corpus's test audio (AdaBN, Li et al. 2016: one forward pass, no labels, no
gradients); and per speaker, each test speaker's clips classified by a copy adapted on that speaker's clips
alone (what ``ser-zoo adapt`` does on a folder of one user's recordings).
The adapted figures are transductive (they read the test clips' audio, never their labels), so they are not
loco headline numbers: they say what a user gains by letting the model see a folder of their own unlabelled
audio.

    python benchmarks/loco_adabn.py [--recipe general6_ge2e] [--runs runs/bench/loco] [--folds 0 1 2 3]

Results: results/loco_adabn.md for general6, results/loco_adabn_<recipe>.md for another recipe.
"""

from __future__ import annotations

import argparse
import copy
import statistics
from pathlib import Path

import numpy as np
import torch
from _env import write_result
from torch.utils.data import DataLoader, Subset

from ser_zoo.adapt import adapt_batchnorm
from ser_zoo.bench.fold_resume import best_checkpoint
from ser_zoo.calibrate import saved_datamodule
from ser_zoo.checkpoint_file import load_checkpoint_file
from ser_zoo.lit.safe_ckpt import load_module
from ser_zoo.models.classical import classification_metrics
from ser_zoo.models.ensemble import calibrated_probs, evaluate

STAGES = (("before", "as trained"), ("corpus", "AdaBN on the corpus"), ("speaker", "AdaBN per speaker"))


@torch.no_grad()
def per_speaker_adabn(model, dm) -> dict:
    """Test metrics when each test speaker's clips are classified by a copy of ``model`` whose BatchNorm
    statistics come from that speaker's clips alone."""
    base = dm.test_dataloader()
    clips = dm.stage_clips("test")
    labels = np.asarray(dm.datasets["test"].labels)
    pred = np.empty(len(clips), int)
    for speaker in sorted({c.speaker for c in clips}):
        rows = [i for i, c in enumerate(clips) if c.speaker == speaker]
        loader = DataLoader(
            Subset(base.dataset, rows), batch_size=base.batch_size, collate_fn=base.collate_fn
        )
        adapted = copy.deepcopy(model)
        adapt_batchnorm(adapted, loader)
        probs = [calibrated_probs(adapted, b["audio"], b["lengths"], gender=b["gender"]) for b in loader]
        pred[rows] = torch.cat(probs).argmax(1).numpy()
    return classification_metrics(pred, labels, list(model.class_names))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", default="runs/bench/loco")
    p.add_argument("--recipe", default="general6")
    p.add_argument("--folds", type=int, nargs="*", default=[0, 1, 2, 3])
    args = p.parse_args(argv)
    rows = []
    for fold in args.folds:
        ckpt = best_checkpoint(Path(args.runs) / f"{args.recipe}-fold{fold}")
        if ckpt is None:
            print(f"fold {fold}: no best-*.ckpt under {args.runs}; run the general6_loco suite first")
            continue
        saved = load_checkpoint_file(ckpt, "cpu")
        dm = saved_datamodule(saved, str(ckpt), None, 64)
        dm.setup("test")
        model = load_module(ckpt).eval()
        speaker = per_speaker_adabn(model, dm)
        before = evaluate(model, dm)
        seen = adapt_batchnorm(model, dm.test_dataloader())
        corpus = evaluate(model, dm)
        held_out = dm.stage_clips("test")[0].corpus
        speakers = len({c.speaker for c in dm.stage_clips("test")})
        rows.append(
            {"fold": fold, "held_out": held_out, "clips": seen, "speakers": speakers}
            | {"before": before, "corpus": corpus, "speaker": speaker}
        )
        print(
            f"loco fold {fold} ({held_out} held out): UA {before['ua']:.4f} -> {corpus['ua']:.4f} (AdaBN), "
            f"{speaker['ua']:.4f} (AdaBN per speaker)"
        )
    if not rows:
        raise SystemExit(
            f"no fold checkpoint of {args.recipe} under {args.runs}: nothing measured, nothing written"
        )
    lines = [
        f"# AdaBN on loco: {args.recipe}'s fold checkpoints, BatchNorm statistics re-estimated on the "
        "held-out corpus, or on each of its speakers",
        "",
        "Transductive: the held-out corpus's test audio (never its labels) sets each BatchNorm layer's mean "
        "and variance, in one forward pass over the corpus, or over each speaker's clips for that speaker; "
        "not a loco headline figure. In %.",
        "",
        "The statistics come from the data module's test clips (one centre crop of each); `ser-zoo adapt` "
        "reads a user's recordings in training-length windows from start to end. The two agree for clips up "
        "to the recipe's clip length.",
        "",
        "| fold | held out | clips | speakers | "
        + " | ".join(f"UA {label}" for _, label in STAGES)
        + " | "
        + " | ".join(f"macro-F1 {label}" for _, label in STAGES)
        + " |",
        "|---:|---|---:|---:|" + "---:|" * (2 * len(STAGES)),
    ]
    for r in rows:
        cells = [f"{100 * r[s][m]:.2f}" for m in ("ua", "f1") for s, _ in STAGES]
        lines.append(
            f"| {r['fold']} | {r['held_out']} | {r['clips']} | {r['speakers']} | " + " | ".join(cells) + " |"
        )
    if len(rows) > 1:

        def pct(stage: str) -> str:
            v = [100 * r[stage]["ua"] for r in rows]
            return f"{statistics.mean(v):.2f} ± {statistics.stdev(v):.2f}"

        lines += [
            "",
            f"UA mean ± std over folds {[r['fold'] for r in rows]}: "
            + ", ".join(f"{pct(s)} {label}" for s, label in STAGES)
            + ".",
        ]
    result = [
        {k: r[k] for k in ("fold", "held_out", "clips", "speakers")}
        | {f"{m}_{s}": r[s][m] for s, _ in STAGES for m in ("wa", "ua", "f1")}
        for r in rows
    ]
    name = "loco_adabn" if args.recipe == "general6" else f"loco_adabn_{args.recipe}"
    write_result(name, {"recipe": args.recipe, "folds": result}, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
