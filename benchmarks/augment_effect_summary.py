"""Paired summary of the augmentation-effect runs: a recipe with and without ``model.augment``, fold by fold.

Reads ``benchmarks/results/augment_effect/ravdess-6fold.csv`` and writes ``effect.md`` beside it: per-fold
WA / UA / macro-F1 of both recipes, their mean ± std over the folds both finished, and the paired difference
(aug - no aug).
"""

from __future__ import annotations

import csv
import statistics
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "augment_effect"
BASE, AUG = "resnet18_ravdess", "resnet18_ravdess_aug"
METRICS = (("ua", "UA"), ("wa", "WA"), ("f1", "macro-F1"))


def mean_std(values: list[float]) -> str:
    m = statistics.mean(values) * 100
    return f"{m:.2f} ± {statistics.stdev(values) * 100:.2f}" if len(values) > 1 else f"{m:.2f}"


def main(csv_path: Path = RESULTS / "ravdess-6fold.csv") -> str:
    rows = {(r["model"], int(r["fold"])): r for r in csv.DictReader(csv_path.open())}
    folds = sorted(f for (m, f) in rows if m == BASE and (AUG, f) in rows)
    if not folds:
        sys.exit(f"no fold has both {BASE} and {AUG} in {csv_path}")
    lines = [
        f"# Augmentation effect: resnet18 on ravdess-6fold (speaker-independent), folds {folds}",
        "",
        f"Same recipe and schedule ({rows[(BASE, folds[0])]['config'].split(' ', 1)[-1]}), with and without "
        "the `model.augment` block of `configs/resnet18_ravdess_aug.yaml`; the best-on-validation-UA "
        "checkpoint of each run is tested on the fold's held-out actors. In %.",
        "",
        "| fold | test speakers | " + " | ".join(f"{n} no aug | {n} aug" for _, n in METRICS) + " |",
        "|---:|---|" + "---:|" * (2 * len(METRICS)),
    ]
    for f in folds:
        b, a = rows[(BASE, f)], rows[(AUG, f)]
        lines.append(
            f"| {f} | {b['test_speakers']} | "
            + " | ".join(f"{float(b[k]) * 100:.2f} | {float(a[k]) * 100:.2f}" for k, _ in METRICS)
            + " |"
        )
    lines += [
        "",
        "| metric | no augmentation | augmentation | paired difference (aug - none) |",
        "|---|---:|---:|---:|",
    ]
    for k, name in METRICS:
        base = [float(rows[(BASE, f)][k]) for f in folds]
        aug = [float(rows[(AUG, f)][k]) for f in folds]
        lines.append(
            f"| {name} | {mean_std(base)} | {mean_std(aug)} | "
            f"{mean_std([a - b for a, b in zip(aug, base)])} |"
        )
    epochs = {f: (rows[(BASE, f)]["epochs"], rows[(AUG, f)]["epochs"]) for f in folds}
    lines += [
        "",
        f"mean ± sample std over {len(folds)} folds. Epochs run (no aug, aug): {epochs}; "
        f"commits: {sorted({rows[(m, f)]['git_commit'] for f in folds for m in (BASE, AUG)})}; "
        f"device: {sorted({rows[(m, f)]['device'] for f in folds for m in (BASE, AUG)})}.  ",
        "Commands: `ser-zoo bench --suite benchmarks/suites/augment_effect.yaml` (the rows), then "
        "`python benchmarks/augment_effect_summary.py` (this file).",
        "",
    ]
    text = "\n".join(lines)
    (csv_path.parent / "effect.md").write_text(text)
    return text


if __name__ == "__main__":
    print(main(*(Path(a) for a in sys.argv[1:])))
