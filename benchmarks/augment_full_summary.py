"""Summary of the full-length augmentation test (``augment_full.yaml``): three recipes of the fast default on
every ravdess-6fold fold, the choice read from the validation actors' UA before the test UA.

Reads ``benchmarks/results/augment_full/ravdess-6fold.csv`` and writes ``summary.md`` beside it.
Run:  python benchmarks/augment_full_summary.py
"""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "augment_full"
RECIPES = {
    "resnet18_half_ravdess": "plain",
    "resnet18_half_ravdess_aug": "waveform block (shift, stretch, pitch, gain, noise) + SpecAugment",
    "resnet18_half_ravdess_specaug": "SpecAugment + mixup",
}


def mean_std(values: list[float]) -> str:
    m = statistics.mean(values) * 100
    return f"{m:.2f} ± {statistics.stdev(values) * 100:.2f}" if len(values) > 1 else f"{m:.2f}"


def main(csv_path: Path = RESULTS / "ravdess-6fold.csv") -> str:
    rows = list(csv.DictReader(csv_path.open()))
    lines = [
        "# Augmentation at full length: the fast default on ravdess-6fold (speaker-independent)",
        "",
        "30 epochs each, best-on-validation-UA checkpoint tested on the fold's held-out actors. The recipe "
        "is chosen on the validation actors' UA (mean over the folds), then reported on test. In %.",
        "",
        "| recipe | folds | validation UA | test UA per fold | test UA | test WA | test macro-F1 "
        "| training s |",
        "|---|---:|---:|---|---:|---:|---:|---:|",
    ]
    for model, what in RECIPES.items():
        runs = sorted((r for r in rows if r["model"] == model), key=lambda r: int(r["fold"]))
        if not runs:
            continue
        col = {k: [float(r[k]) for r in runs] for k in ("ua", "wa", "f1", "val_ua", "train_seconds")}
        lines.append(
            f"| `{model}`: {what} | {len(runs)} | {statistics.mean(col['val_ua']) * 100:.2f} | "
            + " / ".join(f"{u * 100:.2f}" for u in col["ua"])
            + f" | {mean_std(col['ua'])} | {mean_std(col['wa'])} | {mean_std(col['f1'])} | "
            f"{sum(col['train_seconds']):.0f} |"
        )
    text = "\n".join(lines) + "\n"
    (csv_path.parent / "summary.md").write_text(text)
    return text


if __name__ == "__main__":
    print(main())
