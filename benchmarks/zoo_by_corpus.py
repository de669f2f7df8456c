"""A zoo checkpoint's test figures split by corpus, from the predictions its card recorded.

A test set that joins corpora (cross-corpus tests SAVEE + TESS, union folds all four) gives one number for
all; split by corpus it can be set beside figures measured on one corpus, e.g. a ``loco`` fold that held that
corpus out. Nothing is run through the model: the card's ``test_predictions`` (what the published weights
predicted when re-tested at publication) are matched to the fold's clips (``ser_zoo.zoo.reproduce.
recorded_test``); their "all" row can differ from the card's bench figure by a few hundredths (fp16 weights).

    python benchmarks/zoo_by_corpus.py [--name resnet18_cross_corpus] [--root DATA]

Results: results/zoo_by_corpus_<name>.md and .json.
"""

from __future__ import annotations

import argparse

from _env import write_result

from ser_zoo.models.classical import classification_metrics
from ser_zoo.weights import load_card
from ser_zoo.zoo.reproduce import recorded_test


def by_corpus(card: dict, root: str | None = None) -> dict[str, dict]:
    """``{corpus: {"clips", "wa", "ua", "f1"}}`` and ``"all"`` for the card's recorded test predictions."""
    test = recorded_test(card, root)
    groups = {"all": list(range(len(test.clips)))}
    for i, clip in enumerate(test.clips):
        groups.setdefault(clip.corpus, []).append(i)
    out = {}
    for name, rows in groups.items():
        m = classification_metrics(
            [test.predicted[i] for i in rows], [test.labels[i] for i in rows], test.class_names
        )
        out[name] = {"clips": len(rows), **{k: m[k] for k in ("wa", "ua", "f1")}}
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--name", default="resnet18_cross_corpus", help="zoo name")
    p.add_argument("--root", default=None, help="data root (default: $SER_ZOO_DATA or ../shared/data)")
    args = p.parse_args(argv)
    card = load_card(args.name)
    rows = by_corpus(card, args.root)
    lines = [
        f"# {args.name}: its test figures by corpus ({card['protocol']} fold {card['fold']})",
        "",
        "From the predictions the card recorded for every test clip (its published weights, re-tested at "
        "publication); the protocol says which corpora and speakers training and validation heard. In %.",
        "",
        "| test clips | n | UA | WA | macro-F1 |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['clips']} | {100 * r['ua']:.2f} | {100 * r['wa']:.2f} | {100 * r['f1']:.2f} |"
        )
    write_result(f"zoo_by_corpus_{args.name}", {"name": args.name, "by_corpus": rows}, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
