"""Publish a zoo checkpoint from a finished ``ser-zoo bench`` fold: safetensors + model card, then re-test it.

The card's numbers come from the bench CSV (the fold's test metrics, and mean ± std of the same recipe over
every fold in the CSV); the exported fp16 weights are then loaded with ``ser_zoo.load_pretrained`` and
re-tested on the same fold's test speakers, and publishing fails if UA moves by more than 0.5 points.

    python benchmarks/publish_zoo.py --csv benchmarks/results/augment_effect/ravdess-6fold.csv \
        --recipe resnet18_ravdess_aug --fold 0 --name resnet18_ravdess

A calibrated copy of the fold's checkpoint (``ser-zoo calibrate``: temperature fitted on the fold's validation
speakers) is published with ``--ckpt``; its card then carries the temperature and ECE before and after.
``--supersedes OLD`` marks the zoo checkpoint it replaces (``superseded_by``) once it has re-tested.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional

import yaml

from ser_zoo.bench.fold_resume import best_checkpoint
from ser_zoo.bench.report import mean_std_percent, mean_std_text
from ser_zoo.bench.results import read_rows
from ser_zoo.checkpoint_file import load_checkpoint_file
from ser_zoo.data.clips import default_data_root
from ser_zoo.data.datamodule import SERDataModule
from ser_zoo.data.splits import get_protocol
from ser_zoo.zoo import export_checkpoint, load_pretrained
from ser_zoo.zoo.checkpoints import model_card_markdown
from ser_zoo.zoo.heard import fold_heard_speakers, saved_heard_speakers
from ser_zoo.zoo.reproduce import prediction_record, retest

CORPUS_TEXT = {
    "ravdess-6fold": "RAVDESS speech (24 actors, 1440 clips); trained on the fold's 16 training actors, best "
    "epoch chosen on 4 validation actors, tested on the 4 held-out actors",
    "crema_d-kfold": "CREMA-D (91 actors, 7442 clips); actor folds, validation actors drawn from the "
    "training actors",
    "union-11fold": "RAVDESS + CREMA-D + TESS + SAVEE; actor folds, validation actors drawn from the "
    "training actors",
    "cross-corpus": "trained on CREMA-D + RAVDESS (10% of their actors validate), tested on SAVEE + TESS, "
    "whose speakers it never heard",
}


def best_ckpt(runs: Path, protocol: str, recipe: str, fold: int) -> Path:
    found = best_checkpoint(runs / protocol / f"{recipe}-fold{fold}")
    if found is None:
        sys.exit(
            f"no best-*.ckpt for {recipe} fold {fold} under {runs / protocol}; run `ser-zoo bench` first"
        )
    return found


def recipe_metrics(rows: list[dict]) -> dict[str, str]:
    folds = sorted(int(r["fold"]) for r in rows)
    return {
        f"recipe {name}, folds {folds} mean ± std": mean_std_text([float(r[k]) for r in rows])
        for k, name in (("ua", "UA"), ("wa", "WA"), ("f1", "macro-F1"))
    }


def recipe_ua(rows: list[dict]) -> dict:
    """The recipe's UA over the folds run, as numbers (``ser-zoo zoo list`` reads it; the metrics hold the
    text)."""
    ua = [float(r["ua"]) for r in rows]
    mean, std = mean_std_percent(ua)  # rounded as the leaderboard prints them, so the two never differ
    return {
        "folds": sorted(int(r["fold"]) for r in rows),
        "mean": round(round(mean, 2) / 100, 4),
        "std": round(round(std, 2) / 100, 4) if len(ua) > 1 else None,
    }


def recipe_init_from(row: dict) -> Optional[str]:
    """The start named by the row's recipe: for cards published before they recorded their own
    ``init_from``."""
    return (yaml.safe_load(open(row["config"].split()[0])).get("model") or {}).get("init_from")


def refresh_card(args) -> None:
    """Rewrite a published card's recipe figures from more finished folds; the weights and sha256 stay as
    they are."""
    out = Path(args.out) if args.out else Path(__file__).resolve().parents[1] / "checkpoints"
    path = out / f"{args.name}.json"
    card = json.loads(path.read_text())
    rows = [r for r in read_rows(Path(args.csv)) if r["model"] == args.recipe]
    [row] = [r for r in rows if int(r["fold"]) == card["fold"]]
    if abs(float(row["ua"]) - card["test_fold_ua"]) > 1e-9:
        sys.exit(
            f"{args.csv} fold {card['fold']} UA {row['ua']} is not the card's {card['test_fold_ua']}: "
            "another run"
        )
    card["metrics"] = {k: v for k, v in card["metrics"].items() if not k.startswith("recipe ")}
    card["metrics"].update(recipe_metrics(rows))
    card["recipe_ua"] = recipe_ua(rows)
    init_from = card["init_from"] if "init_from" in card else recipe_init_from(row)
    card["heard_speakers"] = fold_heard_speakers(
        row["protocol"], int(row["fold"]), row["classes"], default_data_root(), init_from
    )
    if init_from:
        card["init_from"] = init_from
    path.write_text(json.dumps(card, indent=1) + "\n")
    (out / f"{args.name}.md").write_text(model_card_markdown(card))
    print(
        f"{args.name}: card recipe figures now {recipe_metrics(rows)}; "
        f"{len(card['heard_speakers'])} speakers heard"
    )


def publication_card(args, rows: list[dict], row: dict, saved: dict, ckpt: Path) -> dict:
    """What the card says of ``row``'s fold checkpoint ``ckpt`` (loaded as ``saved``): its data and protocol,
    the fold's and the recipe's metrics from the CSV ``rows``, what it heard and started from, how it was
    made, and ``args.notes``."""
    protocol, classes = row["protocol"], row["classes"]
    data = saved.get("datamodule_hyper_parameters", {})
    init_from = saved.get("hyper_parameters", {}).get(
        "init_from"
    )  # what the weights started from, not the YAML now
    return {
        "data": CORPUS_TEXT.get(protocol, protocol)
        + f"; fold {args.fold}, test speakers {row['test_speakers']}",
        "protocol": protocol,
        "fold": args.fold,
        "classes": classes,
        "test_speakers": row["test_speakers"],
        "eval": {k: data[k] for k in (*SERDataModule.READING, "limit_clips") if k in data},
        "metrics": {
            f"test UA, fold {args.fold} (this checkpoint)": round(float(row["ua"]) * 100, 2),
            f"test WA, fold {args.fold}": round(float(row["wa"]) * 100, 2),
            f"test macro-F1, fold {args.fold}": round(float(row["f1"]) * 100, 2),
            **recipe_metrics(rows),
        },
        "test_fold_ua": float(row["ua"]),
        "recipe_ua": recipe_ua(rows),
        "n_test": int(row["n_test"]),
        "heard_speakers": saved_heard_speakers(saved, ckpt),
        **({"init_from": init_from} if init_from else {}),
        "epochs": row["epochs"],
        "config": row["config"],
        **({"notes": args.notes} if args.notes else {}),
        "command": (
            f"ser-zoo bench --protocol {protocol} --folds {args.fold} --models {row['config'].split()[0]}"
            + (f" --classes {classes}" if classes != get_protocol(protocol).classes else "")
            + (
                f" --max_epochs {row['config'].split('max_epochs=')[1]}"
                if "max_epochs=" in row["config"]
                else ""
            )
            + f" --out {Path(args.csv).parent}"
            + (
                f" && CKPT=$(ls {args.runs}/{protocol}/{args.recipe}-fold{args.fold}/version_*/checkpoints/"
                "best-*[0-9].ckpt) && ser-zoo calibrate $CKPT"
                if args.ckpt
                else ""
            )
            + " && python benchmarks/publish_zoo.py "
            + f"--csv {args.csv} --recipe {args.recipe} --fold {args.fold} --name {args.name}"
            + (" --ckpt ${CKPT%.ckpt}-calibrated.ckpt" if args.ckpt else "")
        ),
    }


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--csv", help="the bench CSV holding the recipe's rows")
    p.add_argument("--recipe", help="the model label in the CSV (the recipe's file stem)")
    p.add_argument("--fold", type=int, help="the fold whose checkpoint is published")
    p.add_argument("--name", required=True, help="zoo name")
    p.add_argument("--runs", default="runs/bench")
    p.add_argument(
        "--ckpt",
        default=None,
        help="the checkpoint to publish, e.g. its `ser-zoo calibrate` copy; default: the fold's best-*.ckpt",
    )
    p.add_argument("--out", default=None, help="default: the repo's checkpoints/")
    p.add_argument(
        "--notes",
        default=None,
        help="a line for the card's Note, e.g. why this fold's checkpoint was the one published",
    )
    p.add_argument(
        "--supersedes",
        default=None,
        help="the zoo name this checkpoint replaces: its card (JSON and markdown) gets superseded_by NAME "
        "once the new one has re-tested",
    )
    p.add_argument(
        "--refresh_card",
        action="store_true",
        help="keep the published weights; update the card's recipe mean ± std from the CSV's folds "
        "and its list of heard speakers",
    )
    p.add_argument(
        "--record_predictions",
        action="store_true",
        help="keep the published weights and card; re-test them whole and record the per-clip predictions",
    )
    args = p.parse_args(argv)
    if args.record_predictions:
        return record_published(args)
    missing = [f"--{k}" for k in ("csv", "recipe", "fold") if getattr(args, k) is None]
    if missing and not (args.refresh_card and missing == ["--fold"]):
        p.error(f"this needs {', '.join(missing)}")
    if args.refresh_card:
        return refresh_card(args)

    rows = [r for r in read_rows(Path(args.csv)) if r["model"] == args.recipe]
    [row] = [r for r in rows if int(r["fold"]) == args.fold]
    protocol = row["protocol"]
    ckpt = Path(args.ckpt) if args.ckpt else best_ckpt(Path(args.runs), protocol, args.recipe, args.fold)
    saved = load_checkpoint_file(ckpt, map_location="cpu")
    card = publication_card(args, rows, row, saved, ckpt)
    weights = export_checkpoint(ckpt, args.name, args.out, fp16=True, card_extra=card)
    model = load_pretrained(str(weights))
    r = retest(model, root=None)
    delta = abs(r["ua"] - card["test_fold_ua"]) * 100
    print(
        f"{args.name}: {weights} ({weights.stat().st_size / 2**20:.1f} MiB); "
        f"card UA {card['test_fold_ua'] * 100:.2f}, "
        f"re-tested fp16 UA {r['ua'] * 100:.2f} (delta {delta:.2f} points) on {protocol} fold {args.fold}"
    )
    if delta > 0.5:
        sys.exit(f"{args.name}: the fp16 export moved UA by {delta:.2f} points; publish with --fp32 instead")
    record_predictions(weights.with_suffix(".json"), r)
    if args.supersedes:
        mark_superseded(weights.parent, args.supersedes, args.name)


def mark_superseded(out: Path, old: str, new: str) -> None:
    """Point ``old``'s card at ``new`` (``superseded_by``, and the line its markdown card then shows), so
    ``ser-zoo zoo list`` names the successor; the old weights stay as a fine-tuning start."""
    path = out / f"{old}.json"
    if not path.is_file():
        sys.exit(f"--supersedes {old}: no card {path}")
    card = json.loads(path.read_text())
    card["superseded_by"] = new
    path.write_text(json.dumps(card, indent=1) + "\n")
    path.with_suffix(".md").write_text(model_card_markdown(card))


def record_predictions(card_path: Path, retested: dict) -> None:
    """Write the re-test's per-clip predictions into the card: tests check the card from them and a sample."""
    card = json.loads(card_path.read_text())
    card["test_predictions"] = prediction_record(retested)
    card_path.write_text(json.dumps(card, indent=1) + "\n")


def record_published(args) -> None:
    """Re-test a published checkpoint whole and record its per-clip test predictions in its card (cards
    published before cards held them)."""
    out = Path(args.out) if args.out else Path(__file__).resolve().parents[1] / "checkpoints"
    model = load_pretrained(str(out / f"{args.name}.safetensors"))
    r = retest(model, root=None)
    delta = abs(r["ua"] - model.card["test_fold_ua"]) * 100
    print(f"{args.name}: re-tested UA {r['ua'] * 100:.2f}, card {model.card['test_fold_ua'] * 100:.2f}")
    if delta > 0.5 or r["n_test"] != model.card["n_test"]:
        sys.exit(
            f"{args.name}: the re-test does not reproduce the card (delta {delta:.2f} points); not recorded"
        )
    record_predictions(out / f"{args.name}.json", r)


if __name__ == "__main__":
    main()
