"""Paired summary of the front-end-effect runs: each pretrained front-end against the classifier without it.

Reads ``benchmarks/results/frontends_effect/<protocol>.csv`` and writes ``effect.md`` beside them: per
protocol and classifier, WA / UA / macro-F1 mean ± std over the folds every variant finished, and the
paired UA difference (variant - base) fold by fold, with how many folds it helped.
"""

from __future__ import annotations

import csv
import statistics
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "frontends_effect"
BASE = "stats+mfcc_mean"
VARIANTS = (  # (label, spec suffix after the classifier name)
    ("base: 6 clip stats + MFCC mean/std (46-d)", ""),
    ("+ CREPE pitch statistics (+10)", f":{BASE}+pitch"),
    ("+ GE2E voice embedding (+256)", f":{BASE}+ge2e"),
    ("base on Silero-VAD-trimmed clips", f":{BASE}:vad"),
    ("all three: + pitch + GE2E, VAD-trimmed", f":{BASE}+pitch+ge2e:vad"),
    ("GE2E embedding alone (256-d)", ":ge2e"),
)
METRICS = (("ua", "UA"), ("wa", "WA"), ("f1", "macro-F1"))


def mean_std(values: list[float]) -> str:
    m = statistics.mean(values) * 100
    return f"{m:.2f} ± {statistics.stdev(values) * 100:.2f}" if len(values) > 1 else f"{m:.2f}"


def protocol_section(csv_path: Path) -> list[str]:
    rows = {(r["model"], int(r["fold"])): r for r in csv.DictReader(csv_path.open())}
    protocol = csv_path.stem
    out = [f"## {protocol} ({next(iter(rows.values()))['classes']}, speaker-independent)", ""]
    for clf in sorted({m.split(":")[0] for m, _ in rows}):
        specs = [clf + suffix for _, suffix in VARIANTS]
        folds = sorted(f for (m, f) in rows if m == clf and all((s, f) in rows for s in specs))
        if not folds:
            partial = sorted({f for (m, f) in rows if m == clf})
            out += [f"`{clf}`: not every variant has finished a common fold yet (base folds {partial}).", ""]
            continue
        out += [
            f"**{clf}** over folds {folds} (mean ± std over folds, %):",
            "",
            "| features | UA | WA | macro-F1 | UA - base (paired) | folds better |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        base = [float(rows[(clf, f)]["ua"]) for f in folds]
        for (label, _), spec in zip(VARIANTS, specs):
            vals = {k: [float(rows[(spec, f)][k]) for f in folds] for k, _ in METRICS}
            diff = [v - b for v, b in zip(vals["ua"], base)]
            better = "" if spec == clf else f"{sum(d > 0 for d in diff)}/{len(diff)}"
            delta = "" if spec == clf else f"{'+' if statistics.mean(diff) >= 0 else ''}{mean_std(diff)}"
            out.append(
                f"| {label} (`{spec}`) | {mean_std(vals['ua'])} | {mean_std(vals['wa'])} | "
                f"{mean_std(vals['f1'])} | {delta} | {better} |"
            )
        commits = sorted({rows[(s, f)]["git_commit"] for s in specs for f in folds})

        def speakers(f: int) -> str:
            names = rows[(clf, f)]["test_speakers"].split()
            return (
                " ".join(names) if len(names) <= 6 else f"{len(names)} speakers ({names[0]} ... {names[-1]})"
            )

        out += [
            "",
            "Test speakers per fold: "
            + "; ".join(f"{f}: {speakers(f)}" for f in folds)
            + f". Commits {commits}.",
            "",
        ]
    return out


def main(results: Path = RESULTS) -> str:
    paths = sorted(results.glob("*.csv"), key=lambda p: (not p.stem.startswith("ravdess"), p.stem))
    if not paths:
        sys.exit(
            f"no CSV in {results}; run ser-zoo bench --suite benchmarks/suites/frontends_effect.yaml first"
        )
    lines = [
        "# Pretrained front-ends: measured effect on accuracy",
        "",
        "The same scikit-learn classifier (StandardScaler + SVM (C=10, RBF) or MLP (256-128, early "
        "stopping); fitted on the fold's training speakers, nothing tuned) on the same clip vectors, with "
        "and without each front-end: CREPE tiny pitch statistics (F0 mean/std/percentiles/range/movement "
        "over voiced 40 ms frames, periodicity, voiced share), the GE2E voice embedding (Resemblyzer, 1.6 s "
        "windows, L2-normalised mean), and Silero VAD trimming (features of each clip from first to last "
        "speech). Whole clips, test speakers held out of training and of any selection.",
        "",
    ]
    for path in paths:
        lines += protocol_section(path)
    lines += [
        "Commands: `ser-zoo bench --suite benchmarks/suites/frontends_effect.yaml` (rows, resumable), then "
        "`python benchmarks/frontends_effect_summary.py` (this file). Front-end cost on this CPU: "
        "benchmarks/results/pretrained_frontends.md.",
        "",
    ]
    text = "\n".join(lines)
    (results / "effect.md").write_text(text)
    return text


if __name__ == "__main__":
    print(main(*(Path(a) for a in sys.argv[1:])))
