"""Should evaluation read more than the centre crop? Each fold's validation UA three ways.

Training reads random ``clip_seconds`` crops; evaluation reads the centre crop (``eval_crop: center``, the
default) or the whole clip (``full``, one clip a batch so no padding dilutes the pooling). ``three`` averages
the probabilities of training-length windows spread from a longer clip's start to its end, as ``ser-zoo
infer`` reads it (``ser_zoo.inference.training_windows``: start, centre and end up to twice the length). Each
fold's best-on-validation checkpoint from ``ser-zoo bench`` is scored every way on its validation speakers
only, so the choice is made where a recipe's other choices are. The centre figure is the one that picked the
checkpoint, so it carries that selection's small optimism.

    python benchmarks/eval_crop.py [--runs runs/bench/crema_d-kfold] [--recipe resnet18_half_crema_d_aug]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import numpy as np
import torch
from _env import write_result

from ser_zoo.audio import pad_waves
from ser_zoo.bench.fold_resume import best_checkpoint
from ser_zoo.calibrate import saved_datamodule
from ser_zoo.checkpoint_file import load_checkpoint_file
from ser_zoo.inference import training_windows
from ser_zoo.lit.safe_ckpt import load_module
from ser_zoo.models.classical import classification_metrics
from ser_zoo.models.ensemble import calibrated_probs, evaluate

CROPS = {"center": 64, "full": 1}  # crop -> batch size (``three`` reads the ``full`` data module)
WAYS = (*CROPS, "three")


@torch.no_grad()
def three_window_metrics(model, dm) -> dict:
    """WA / UA / F1, each validation clip's probabilities averaged over its training-length windows."""
    width, probs, labels = dm.num_samples, [], []
    for batch in dm.val_dataloader():  # one whole clip a batch
        wave = batch["audio"][0, : int(batch["lengths"][0])].numpy()
        windows, lengths = pad_waves(training_windows(wave, width), width)
        probs.append(calibrated_probs(model, windows, lengths).mean(0))
        labels.append(int(batch["label"][0]))
    pred = torch.stack(probs).argmax(1).numpy()
    return classification_metrics(pred, np.array(labels), list(model.class_names))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", default="runs/bench/crema_d-kfold")
    p.add_argument("--recipe", default="resnet18_half_crema_d_aug")
    p.add_argument("--folds", type=int, nargs="*", default=[0, 1, 2, 3, 4])
    args = p.parse_args(argv)
    rows = []
    for fold in args.folds:
        ckpt = best_checkpoint(Path(args.runs) / f"{args.recipe}-fold{fold}")
        if ckpt is None:
            print(f"fold {fold}: no best-*.ckpt under {args.runs}; run its bench suite first")
            continue
        saved = load_checkpoint_file(ckpt, "cpu")
        model = load_module(ckpt).eval()
        row = {"fold": fold, "checkpoint": str(ckpt)}
        for crop, batch_size in CROPS.items():
            saved["datamodule_hyper_parameters"]["eval_crop"] = crop
            dm = saved_datamodule(saved, str(ckpt), None, batch_size)
            dm.setup("validate")
            row[crop] = {k: evaluate(model, dm, "val")[k] for k in ("wa", "ua", "f1")}
        row["three"] = {k: three_window_metrics(model, dm)[k] for k in ("wa", "ua", "f1")}
        rows.append(row)
        print(f"fold {fold}: validation UA " + ", ".join(f"{row[w]['ua']:.4f} {w}" for w in WAYS))
    lines = [
        f"# Evaluation crop: {args.recipe}'s fold checkpoints on their validation speakers",
        "",
        "Centre crop of the training length (`eval_crop: center`, the default), the whole clip "
        "(`eval_crop: full`, batch size 1), and the mean probabilities of three training-length windows "
        "(start, centre, end; `three`). Validation speakers only: this is a recipe choice. In %.",
        "",
        "| fold | " + " | ".join(f"{m} {w}" for m in ("UA", "WA", "macro-F1") for w in WAYS) + " |",
        "|---:|" + "---:|" * 3 * len(WAYS),
    ]
    for r in rows:
        cells = [f"{100 * r[w][k]:.2f}" for k in ("ua", "wa", "f1") for w in WAYS]
        lines.append(f"| {r['fold']} | " + " | ".join(cells) + " |")
    if len(rows) > 1:
        mean = {way: [100 * r[way]["ua"] for r in rows] for way in WAYS}
        better = {w: sum(r[w]["ua"] > r["center"]["ua"] for r in rows) for w in WAYS[1:]}
        lines += [
            "",
            "UA mean ± std: "
            + ", ".join(f"{statistics.mean(v):.2f} ± {statistics.stdev(v):.2f} {c}" for c, v in mean.items())
            + "; better than center on "
            + ", ".join(f"{n} of {len(rows)} folds ({w})" for w, n in better.items())
            + ".",
        ]
    write_result(f"eval_crop_{args.recipe}", {"recipe": args.recipe, "folds": rows}, "\n".join(lines))


if __name__ == "__main__":
    main()
