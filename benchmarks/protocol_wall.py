"""Wall-clock time of a whole protocol run: ``ser-zoo bench`` of one recipe over every fold, as run by a user.

Issue 21 asks that the default recipe's whole RAVDESS 6-fold run take at most an hour on the development
machine (2 CPU cores, no GPU). The run happens in a scratch folder (its own ``runs/`` and CSV, so the
leaderboard's rows and checkpoints are never resumed or touched), on one torch thread, and the result records
the wall time, the peak memory, each fold's training seconds and test UA.

    python benchmarks/protocol_wall.py [--protocol ravdess-6fold] \\
        [--recipe configs/resnet18_half_ravdess.yaml]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _env import write_result

from ser_zoo.bench.results import read_rows

REPO = Path(__file__).resolve().parents[1]


def timed_bench(protocol: str, recipe: str, scratch: Path) -> tuple[float, float]:
    """Run ``ser-zoo bench`` in ``scratch``; (wall seconds, peak resident memory of the run in GiB)."""
    (scratch / "configs").symlink_to(REPO / "configs")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env.setdefault("SER_ZOO_DATA", str(REPO.parent / "shared" / "data"))
    cmd = [sys.executable, "-m", "ser_zoo", "bench", "--protocol", protocol, "--models", recipe]
    start = time.perf_counter()
    subprocess.run([*cmd, "--out", str(scratch / "out")], cwd=scratch, env=env, check=True)
    wall = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, peak_kib / 2**20


def record(
    protocol: str, recipe: str, csv_path: Path, wall: float, peak_gib: float, command: str, note: str = ""
) -> Path:
    """results/protocol_wall_<protocol>_<recipe>.md from a finished run's CSV and its measured wall time
    (``note``: what else the machine was doing)."""
    rows = sorted(read_rows(csv_path), key=lambda r: int(r["fold"]))
    ua = [100 * float(r["ua"]) for r in rows]
    name = Path(recipe).stem
    lines = [
        f"# Whole-protocol wall time: `{name}` on {protocol}, every fold",
        "",
        f"`ser-zoo bench` of `{recipe}` over {len(rows)} folds, one torch thread, start to finish "
        "(data set-up, "
        "training with validation each epoch, test of the best-on-validation checkpoint): "
        f"**{wall / 60:.1f} min** wall ({wall:.0f} s), peak memory {peak_gib:.1f} GiB. Issue 21's target: "
        "60 min.",
        "",
        "| fold | epochs | training s (fit, with validation) | validation UA % | test UA % |",
        "|---:|---:|---:|---:|---:|",
        *(
            f"| {r['fold']} | {r['epochs']} | {float(r['train_seconds']):.0f} | "
            f"{100 * float(r['val_ua']):.2f} | "
            f"{100 * float(r['ua']):.2f} |"
            for r in rows
        ),
        "",
        f"Test UA over the folds ({protocol}, speaker-independent): {statistics.mean(ua):.2f} ± "
        f"{statistics.stdev(ua):.2f}.",
        *(["", note] if note else []),
    ]
    result = {
        "protocol": protocol,
        "recipe": recipe,
        "wall_seconds": round(wall, 1),
        "peak_gib": round(peak_gib, 2),
        "folds": [
            {k: r[k] for k in ("fold", "epochs", "train_seconds", "val_ua", "ua", "wa", "f1")} for r in rows
        ],
    }
    return write_result(f"protocol_wall_{protocol}_{name}", result, "\n".join(lines), command=command)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--protocol", default="ravdess-6fold")
    p.add_argument("--recipe", default="configs/resnet18_half_ravdess.yaml")
    p.add_argument("--note", default="", help="what else the machine was doing, for the record")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ser-zoo-wall-") as tmp:
        wall, peak = timed_bench(args.protocol, args.recipe, Path(tmp))
        out = record(
            args.protocol,
            args.recipe,
            Path(tmp) / "out" / f"{args.protocol}.csv",
            wall,
            peak,
            None,
            args.note,
        )
    print(out.read_text())


if __name__ == "__main__":
    main()
