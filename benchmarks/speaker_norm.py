"""How much do speaker-normalised features (``:spknorm``) need from a test speaker? Loco, two baselines.

Each classifier is fitted per fold on the training speakers' clip vectors, raw and standardised per speaker
(``ser_zoo.features.speaker_norm``) with each speaker's variance shrunk toward the training speakers' pooled
one by ``prior_clips`` pseudo-clips (0, 5, 20). A held-out speaker is then normalised with statistics from:
``k`` of its clips drawn at random (an enrolment of k unlabelled clips; three draws averaged), every one of
its clips (what the bench's ``:spknorm`` rows do), and a skewed enrolment of ten clips, six of them neutral (a
speaker heard mostly calm; the labels only pick the draw). Every clip is classified in each case. The prior
weight is chosen on the validation speakers (their UA averaged over the enrolments and folds), then read on
the test speakers. The features are the bench's cached clip vectors, so no audio is decoded twice.

    python benchmarks/speaker_norm.py [--protocol loco] [--folds 0 1 2 3]
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
from _env import write_result

from ser_zoo.features.speaker_norm import SpeakerNormalizer
from ser_zoo.models.classical import classification_metrics, make_baseline, stage_vectors

FEATURES = "stats+mfcc_mean+pitch+ge2e"
CLASSIFIERS = ("svm", "mlp")
PRIORS = (0, 5, 20)
ENROL = (5, 10, 20)
DRAWS = 3
RAW = "none (raw features)"
EVERY = "every clip"
SKEWED = "10 clips, 6 neutral"


def random_reference(speakers: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` rows of each speaker (all of them when it has fewer), chosen at random."""
    ref = np.zeros(len(speakers), bool)
    for s in np.unique(speakers):
        rows = np.flatnonzero(speakers == s)
        ref[rng.choice(rows, min(k, len(rows)), replace=False)] = True
    return ref


def neutral_heavy_reference(
    speakers: np.ndarray, labels: np.ndarray, neutral: int, rng: np.random.Generator
) -> np.ndarray:
    """Ten rows per speaker: six neutral and four of other classes (fewer neutral if it has fewer)."""
    ref = np.zeros(len(speakers), bool)
    for s in np.unique(speakers):
        rows = np.flatnonzero(speakers == s)
        calm, other = rows[labels[rows] == neutral], rows[labels[rows] != neutral]
        n = min(6, len(calm))
        ref[rng.choice(calm, n, replace=False)] = True
        ref[rng.choice(other, 10 - n, replace=False)] = True
    return ref


def references(speakers: np.ndarray, labels: np.ndarray, neutral: int) -> dict[str, list]:
    """Condition -> the reference masks it averages over (None: every clip)."""
    refs: dict[str, list] = {
        f"{k} random clips": [random_reference(speakers, k, np.random.default_rng(d)) for d in range(DRAWS)]
        for k in ENROL
    }
    refs[EVERY] = [None]
    refs[SKEWED] = [neutral_heavy_reference(speakers, labels, neutral, np.random.default_rng(0))]
    return refs


def fold_scores(protocol: str, fold: int, root) -> tuple[str, dict]:
    """{stage: {classifier: {prior: {condition: UA}}}} on one fold (the raw row under prior 'raw')."""
    names, data, test_clips = stage_vectors(protocol, fold, root, FEATURES, ("train", "val", "test"))
    data = {stage: (x, y, np.array(spk)) for stage, (x, y, spk) in data.items()}
    held_out = " ".join(sorted({c.corpus for c in test_clips}))
    x_tr, y_tr, s_tr = data["train"]
    refs = {stage: references(spk, y, names.index("neutral")) for stage, (_, y, spk) in data.items()}
    norms = {prior: SpeakerNormalizer(prior_clips=prior).fit(x_tr, s_tr) for prior in PRIORS}
    trains = {prior: norm.transform(x_tr, s_tr) for prior, norm in norms.items()}
    scores: dict = {"val": {}, "test": {}}
    for name in CLASSIFIERS:
        raw = make_baseline(name).fit(x_tr, y_tr)
        for stage in ("val", "test"):
            x, y, _ = data[stage]
            ua = classification_metrics(raw.predict(x), y, names)["ua"]
            scores[stage].setdefault(name, {})["raw"] = {RAW: ua}
        for prior, norm in norms.items():
            clf = make_baseline(name).fit(trains[prior], y_tr)
            for stage in ("val", "test"):
                x, y, spk = data[stage]
                row = {}
                for cond, masks in refs[stage].items():
                    uas = [
                        classification_metrics(clf.predict(norm.transform(x, spk, ref)), y, names)["ua"]
                        for ref in masks
                    ]
                    row[cond] = float(np.mean(uas))
                scores[stage][name][prior] = row
            print(
                f"{protocol} fold {fold} {name} prior {prior}: "
                + ", ".join(f"{k} {100 * v:.2f}" for k, v in scores["test"][name][prior].items())
                + f" (validation, every clip: {100 * scores['val'][name][prior][EVERY]:.2f})",
                flush=True,
            )
    return held_out, scores


def pct(values: list[float]) -> str:
    v = [100 * u for u in values]
    return f"{statistics.mean(v):.2f}" + (f" ± {statistics.stdev(v):.2f}" if len(v) > 1 else "")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--protocol", default="loco")
    p.add_argument("--folds", type=int, nargs="*", default=[0, 1, 2, 3])
    p.add_argument("--root", default=None, help="data root (default: $SER_ZOO_DATA or ../shared/data)")
    args = p.parse_args(argv)
    folds = {f: fold_scores(args.protocol, f, args.root) for f in args.folds}
    conditions = [f"{k} random clips" for k in ENROL] + [EVERY, SKEWED]

    def mean_over(stage: str, name: str, prior, conds) -> float:
        return float(np.mean([folds[f][1][stage][name][prior][c] for f in folds for c in conds]))

    chosen = {n: max(PRIORS, key=lambda m: mean_over("val", n, m, conditions)) for n in CLASSIFIERS}
    lines = [
        f"# Speaker normalisation on {args.protocol}: what it needs from a speaker",
        "",
        f"Baselines on `{FEATURES}` clip vectors of VAD-trimmed clips (the bench's `:vad`), fitted on the "
        "training speakers. A held-out speaker's statistics come from the clips named in the column heading "
        f"(random enrolments: {DRAWS} draws averaged; the neutral-heavy one picks its clips by label, to "
        "simulate a speaker heard mostly calm); every clip is classified. `prior` is the weight, in clips, "
        "of the training speakers' pooled variance in each speaker's (0: its own alone). UA in %, mean over "
        f"folds {list(folds)} ({', '.join(f'{f}: {h} held out' for f, (h, _) in folds.items())}); "
        "validation speakers come from the training corpora.",
        "",
        "| classifier | prior | validation UA, mean of the columns | "
        + " | ".join(f"test: {c}" for c in conditions)
        + " |",
        "|---|---|---:|" + "---:|" * len(conditions),
    ]
    for name in CLASSIFIERS:
        raw = pct([folds[f][1]["test"][name]["raw"][RAW] for f in folds])
        raw_val = 100 * mean_over("val", name, "raw", [RAW])
        lines.append(
            f"| {name} | raw features | {raw_val:.2f} | " + " | ".join([raw] * len(conditions)) + " |"
        )
        for prior in PRIORS:
            cells = [pct([folds[f][1]["test"][name][prior][c] for f in folds]) for c in conditions]
            mark = " (chosen)" if prior == chosen[name] else ""
            val = 100 * mean_over("val", name, prior, conditions)
            lines.append(f"| {name} | {prior}{mark} | {val:.2f} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Per fold, test UA with every clip of a speaker (the `:spknorm` rows' setting) at the chosen prior:",
        "",
        "| classifier | " + " | ".join(f"fold {f}" for f in folds) + " |",
        "|---|" + "---:|" * len(folds),
    ]
    for name in CLASSIFIERS:
        cells = [f"{100 * folds[f][1]['test'][name][chosen[name]][EVERY]:.2f}" for f in folds]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    result = {
        "protocol": args.protocol,
        "features": FEATURES,
        "chosen_prior": chosen,
        "folds": {f: {"held_out": h, **s} for f, (h, s) in folds.items()},
    }
    write_result(f"speaker_norm_{args.protocol}", result, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
