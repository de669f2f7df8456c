"""Publish a general zoo checkpoint: trained on every speaker (``union-all``), with no test set of its own.

Its card says so, and takes its figures from where they can be honest: the recipe's rows on another protocol
in a bench CSV (``loco`` for general6: each fold trains the same recipe on three corpora and tests on the
fourth, unheard) and, when the checkpoint was calibrated (``ser-zoo calibrate``), the temperature with ECE
before and after on the validation speakers it was fitted on. The fp16 export is checked against the
checkpoint on those validation clips before anything is kept.

    ser-zoo fit --config general6 --data.protocol union-all --trainer.logger.init_args.version union_all
    ser-zoo calibrate runs/general6/union_all/checkpoints/best-*.ckpt
    python benchmarks/publish_general.py --ckpt runs/general6/union_all/checkpoints/best-...-calibrated.ckpt \
        --name general6 --recipe general6 --csv benchmarks/results/loco.csv
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Optional

from ser_zoo.bench.results import read_rows
from ser_zoo.calibrate import saved_datamodule
from ser_zoo.checkpoint_file import load_checkpoint_file
from ser_zoo.data.datamodule import SERDataModule
from ser_zoo.data.splits import get_protocol
from ser_zoo.lit.safe_ckpt import load_module
from ser_zoo.models.ensemble import evaluate
from ser_zoo.zoo import export_checkpoint, load_pretrained
from ser_zoo.zoo.heard import saved_heard_speakers


def recipe_figures(csv_path: Optional[str], recipe: str) -> tuple[dict, Optional[dict], Optional[str]]:
    """(metrics text, recipe_ua numbers, protocol) of the recipe's rows in a bench CSV; empty if none ran."""
    if not csv_path or not Path(csv_path).is_file():
        return {}, None, None
    rows = sorted(
        (r for r in read_rows(Path(csv_path)) if r["model"] == recipe), key=lambda r: int(r["fold"])
    )
    if not rows:
        return {}, None, None
    protocol = rows[0]["protocol"]
    folds = [int(r["fold"]) for r in rows]
    every = len(folds) == get_protocol(protocol).known_folds()
    scope = (
        f"folds {folds} mean ± std" if every else f"folds {folds} of {get_protocol(protocol).known_folds()}"
    )

    def pct(key: str) -> str:
        v = [float(r[key]) * 100 for r in rows]
        return f"{statistics.mean(v):.2f}" + (f" ± {statistics.stdev(v):.2f}" if len(v) > 1 else "")

    metrics = {
        f"recipe {name} on {protocol}, {scope}": pct(key)
        for key, name in (("ua", "UA"), ("wa", "WA"), ("f1", "macro-F1"))
    }
    for r in rows:
        test_corpus = r["test_speakers"].split()[0].rsplit("_", 1)[0]
        metrics[f"recipe UA on {protocol} fold {r['fold']} (test: {test_corpus})"] = round(
            float(r["ua"]) * 100, 2
        )
    ua = [float(r["ua"]) for r in rows]
    numbers = {
        "folds": folds,
        "mean": round(statistics.mean(ua), 4),
        "std": round(statistics.stdev(ua), 4) if len(ua) > 1 else None,
    }
    return metrics, numbers, protocol


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ckpt", required=True, help="the union-all checkpoint (calibrated or not)")
    p.add_argument("--name", required=True, help="zoo name")
    p.add_argument("--recipe", required=True, help="the recipe's model label in --csv (its file stem)")
    p.add_argument("--csv", default=None, help="bench CSV of the recipe on a protocol with test speakers")
    p.add_argument("--config", default=None, help="the recipe file (default: configs/<recipe>.yaml)")
    p.add_argument("--out", default=None, help="default: the repo's checkpoints/")
    args = p.parse_args(argv)

    saved = load_checkpoint_file(args.ckpt, map_location="cpu")
    dm = saved_datamodule(saved, args.ckpt, None, None)
    if dm.protocol.name != "union-all":
        sys.exit(
            f"{args.ckpt} was trained on {dm.protocol.name}; publish fold checkpoints with publish_zoo.py"
        )
    dm.setup("fit")  # the card counts the training clips too
    n_train, n_val = len(dm.stage_clips("train")), len(dm.stage_clips("val"))
    data = saved.get("datamodule_hyper_parameters", {})
    metrics, recipe_ua, recipe_protocol = recipe_figures(args.csv, args.recipe)
    fitted = load_module(args.ckpt).eval()
    val = evaluate(fitted, dm, "val")
    config = args.config or f"configs/{args.recipe}.yaml"
    corpora = ", ".join(sorted({c.corpus for c in dm.stage_clips("train")}))
    card = {
        "data": f"every speaker of {corpora} ({n_train} training clips); {n_val} validation clips from "
        "10 % of the speakers chose the epoch"
        + (" and fitted the temperature" if fitted.calibration else "")
        + "; no test set of its own: its recipe's figures are measured on "
        + (recipe_protocol or "another protocol (not run yet)"),
        "protocol": "union-all",
        "fold": 0,
        "classes": dm.hparams.classes or dm.protocol.classes,
        "eval": {k: data[k] for k in SERDataModule.READING if k in data},
        "metrics": {
            **metrics,
            "validation UA, union-all (chose the epoch: not a test figure)": round(val["ua"] * 100, 2),
        },
        **({"recipe_ua": recipe_ua, "recipe_protocol": recipe_protocol} if recipe_ua else {}),
        "heard_speakers": saved_heard_speakers(saved, args.ckpt),
        "epochs": str(saved.get("epoch", "?")),
        "config": config,
        "command": (
            f"ser-zoo fit --config {config} --data.protocol union-all && ser-zoo calibrate CKPT && "
            f"python benchmarks/publish_general.py --ckpt CKPT-calibrated.ckpt --name {args.name} "
            f"--recipe {args.recipe}" + (f" --csv {args.csv}" if args.csv else "")
        ),
    }
    weights = export_checkpoint(args.ckpt, args.name, args.out, fp16=True, card_extra=card)
    exported = load_pretrained(str(weights))
    again = evaluate(exported, dm, "val")
    delta = abs(again["ua"] - val["ua"]) * 100
    print(
        f"{args.name}: {weights} ({weights.stat().st_size / 2**20:.1f} MiB); "
        f"validation UA {val['ua'] * 100:.2f} (fp32) vs {again['ua'] * 100:.2f} (fp16 export), {n_val} clips"
        + (f"; {recipe_protocol} UA {metrics[next(iter(metrics))]}" if metrics else "; no recipe rows yet")
    )
    if delta > 0.5:
        for suffix in (".safetensors", ".json", ".md"):
            weights.with_suffix(suffix).unlink()
        sys.exit(f"{args.name}: the fp16 export moved validation UA by {delta:.2f} points; not published")


if __name__ == "__main__":
    main()
