"""Should evaluation read whole clips? Each fold's validation UA with ``eval_crop`` center against full.

Training reads random ``clip_seconds`` crops; evaluation reads the centre crop (``eval_crop: center``, the
default) or the whole clip (``full``, one clip a batch so no padding dilutes the pooling). Each fold's
best-on-validation checkpoint from ``ser-zoo bench`` is scored both ways on its validation speakers only, so
the choice is made where a recipe's other choices are. The centre figure is the one that picked the
checkpoint, so it carries that selection's small optimism.

    python benchmarks/eval_crop.py [--runs runs/bench/crema_d-kfold] [--recipe resnet18_half_crema_d_aug]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from _env import write_result

from ser_zoo.bench.fold_resume import best_checkpoint
from ser_zoo.calibrate import saved_datamodule
from ser_zoo.lit.safe_ckpt import load_checkpoint_file, load_module
from ser_zoo.models.ensemble import evaluate

CROPS = {"center": 64, "full": 1}  # crop -> batch size


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
        rows.append(row)
        print(f"fold {fold}: validation UA {row['center']['ua']:.4f} center, {row['full']['ua']:.4f} full")
    lines = [
        f"# Evaluation crop: {args.recipe}'s fold checkpoints on their validation speakers",
        "",
        "Centre crop of the training length (`eval_crop: center`, the default) against the whole clip "
        "(`eval_crop: full`, batch size 1). Validation speakers only: this is a recipe choice. In %.",
        "",
        "| fold | UA center | UA full | WA center | WA full | macro-F1 center | macro-F1 full |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        c, f = r["center"], r["full"]
        lines.append(
            f"| {r['fold']} | {100 * c['ua']:.2f} | {100 * f['ua']:.2f} | {100 * c['wa']:.2f} | "
            f"{100 * f['wa']:.2f} | {100 * c['f1']:.2f} | {100 * f['f1']:.2f} |"
        )
    if len(rows) > 1:
        mean = {crop: [100 * r[crop]["ua"] for r in rows] for crop in CROPS}
        better = sum(r["full"]["ua"] > r["center"]["ua"] for r in rows)
        lines += [
            "",
            "UA mean ± std: "
            + ", ".join(f"{statistics.mean(v):.2f} ± {statistics.stdev(v):.2f} {c}" for c, v in mean.items())
            + f"; full is better on {better} of {len(rows)} folds.",
        ]
    write_result(f"eval_crop_{args.recipe}", {"recipe": args.recipe, "folds": rows}, "\n".join(lines))


if __name__ == "__main__":
    main()
