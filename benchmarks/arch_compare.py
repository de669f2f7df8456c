"""Issue 21's architecture comparison in one table: training throughput beside UA on every ravdess-6fold fold.

Throughput comes from benchmarks/results/arch_throughput.json (`benchmarks/arch_throughput.py`, one run,
random audio); accuracy and wall time per fold from the bench CSVs (each candidate trained to the end of its
recipe's schedule or early stopping on every fold, speaker-independent).
resnet18's row is its leaderboard row.
Run:  python benchmarks/arch_compare.py
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from _env import RESULTS, write_result

from ser_zoo.bench.results import read_rows

#: recipe -> (bench CSV, arch_throughput candidate)
RECIPES = {
    "resnet18_ravdess": ("ravdess-6fold.csv", "resnet18"),
    "mobilenetv3_ravdess": ("arch_ravdess/ravdess-6fold.csv", "timm/mobilenetv3_small_100"),
    "resnet18_half_ravdess": ("arch_ravdess/ravdess-6fold.csv", "timm/resnet18, half width, 20 ms hop"),
}
FOLDS = 6


def pct(values: list[float]) -> str:
    return f"{statistics.mean(values) * 100:.2f} ± {statistics.stdev(values) * 100:.2f}"


def recipe_rows(csv_path: Path, recipe: str) -> list[dict]:
    rows = [r for r in read_rows(Path(csv_path)) if r["model"] == recipe]
    return sorted(rows, key=lambda r: int(r["fold"]))


def main() -> None:
    speed = json.loads((RESULTS / "arch_throughput.json").read_text())
    base = speed["rows"]["resnet18"]["clips_per_s"]
    lines = [
        "# Fast default: throughput and UA on every ravdess-6fold fold (speaker-independent)",
        "",
        f"Training clips/s: `arch_throughput.md` (torch threads: {speed['args']['threads']}, batch "
        f"{speed['args']['batch']}, 3 s clips). UA, WA, macro-F1: mean ± std over the {FOLDS} folds of "
        "ravdess-6fold, each fold's test actors unseen in training and model selection.",
        "",
        "| recipe | train clips/s | vs resnet18 | epochs / fold | train s / fold | UA % | WA % "
        "| macro-F1 % | UA per fold |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    table = {}
    for recipe, (csv_name, candidate) in RECIPES.items():
        rows = recipe_rows(RESULTS / csv_name, recipe)
        cps = speed["rows"][candidate]["clips_per_s"]
        if len(rows) < FOLDS:
            lines.append(
                f"| {recipe} | {cps:.1f} | {cps / base:.2f}x | | | {len(rows)} of {FOLDS} folds run | | | |"
            )
            continue
        ua = [float(r["ua"]) for r in rows]
        table[recipe] = {
            "clips_per_s": cps,
            "ua": ua,
            "train_seconds": [float(r["train_seconds"]) for r in rows],
        }
        lines.append(
            f"| {recipe} | {cps:.1f} | {cps / base:.2f}x | "
            f"{statistics.mean(int(r['epochs']) for r in rows):.0f} | "
            f"{statistics.mean(table[recipe]['train_seconds']):.0f} | {pct(ua)} | "
            f"{pct([float(r['wa']) for r in rows])} | {pct([float(r['f1']) for r in rows])} | "
            + ", ".join(f"{u * 100:.1f}" for u in ua)
            + " |"
        )
    lines += [
        "",
        "Train seconds are each fold's wall time as the bench recorded it (one CPU thread for the two "
        "candidates, two other jobs sharing the machine at times; resnet18's 8-epoch row came from an "
        "earlier session), so compare them loosely; the clips/s column is the controlled speed comparison.",
    ]
    write_result("arch_comparison", {"recipes": table, "throughput": speed["rows"]}, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
