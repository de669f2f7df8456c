"""Ensembles on one speaker-independent fold: each member alone, averaging, stacking and selection.

The command line over ``ser_zoo.bench.ensemble_fold.run_ensemble_fold`` (suites run the same function in an
``ensemble`` step). Appends a table to ``--out`` (markdown) with the command, and with ``--leaderboard LABEL``
the average's, the stack's and the selection's rows to the protocol's CSV (run it on every fold for a mean).

    python benchmarks/ensemble_fold.py --protocol ravdess-6fold --fold 1 \
        --members runs/bench/ravdess-6fold/resnet18_ravdess-fold1/version_0/checkpoints/best-*.ckpt \
                  runs/bench/ravdess-6fold/resnet18_ravdess_aug-fold1/version_0/checkpoints/best-*.ckpt
    python benchmarks/ensemble_fold.py --protocol union-11fold --fold 0 \
        --baselines svm:stats+mfcc_mean+pitch+ge2e:vad \
        --members resnet18_union6     # a zoo checkpoint: refused if it heard this fold's test speakers
"""

from __future__ import annotations

import argparse
import sys

from ser_zoo.bench.ensemble_fold import run_ensemble_fold
from ser_zoo.errors import ConfigError
from ser_zoo.models.ensemble import COMBINED_ROWS


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--protocol", required=True)
    p.add_argument("--fold", type=int, required=True)
    p.add_argument("--classes", default=None)
    p.add_argument("--members", nargs="*", default=[], help=".ckpt paths (globs allowed) or zoo names")
    p.add_argument(
        "--baselines", nargs="*", default=[], help="baseline specs, e.g. svm:stats+mfcc_mean+ge2e:vad"
    )
    p.add_argument("--root", default=None)
    p.add_argument("--limit_clips", type=int, default=None, help="a quick check on a few clips per stage")
    p.add_argument("--out", default="benchmarks/results/seed_zoo/ensemble.md")
    p.add_argument(
        "--leaderboard",
        default=None,
        metavar="LABEL",
        help="also append the average's, the stack's and the selection's fold rows, as models "
        "LABEL-average, LABEL-stack and LABEL-select, to the protocol's CSV under --results and "
        "regenerate LEADERBOARD.md (run every fold with the same members for a mean ± std)",
    )
    p.add_argument(
        "--rows",
        nargs="+",
        default=list(COMBINED_ROWS),
        choices=list(COMBINED_ROWS),
        help="which combined rows --leaderboard writes (default: all three)",
    )
    p.add_argument("--results", default="benchmarks/results")
    args = p.parse_args(argv)
    run_ensemble_fold(
        args.protocol,
        args.fold,
        members=args.members,
        baselines=args.baselines,
        classes=args.classes,
        root=args.root,
        limit_clips=args.limit_clips,
        report=args.out,
        leaderboard=args.leaderboard,
        results=args.results,
        rows=args.rows,
        command=f"python benchmarks/ensemble_fold.py {' '.join(sys.argv[1:] if argv is None else argv)}",
    )


if __name__ == "__main__":
    try:
        main()
    except ConfigError as e:  # bad input: one line naming it, no traceback
        raise SystemExit(str(e)) from None
