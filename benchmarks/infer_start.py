"""Start-up: wall seconds of ``ser-zoo infer`` on one file, this checkout against another, e.g. an older one.

Each run is a fresh process (``python -m ser_zoo infer FILE --model NAME``), as a user's command is, so the
figure is mostly imports and loading the checkpoint; the runs of the checkouts alternate so that background
load falls on both alike. Each run also reports which heavy packages its process had imported by the end, and
both checkouts' answers must agree.

    git worktree add /tmp/before <commit>     # the checkout to compare with
    python benchmarks/infer_start.py --compare /tmp/before [--file CLIP] [--model general6] [--repeat 7]

Results: results/infer_start.md and .json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _env import write_result

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("lightning", "torchmetrics", "transformers", "torchvision", "timm", "wandb")
RUN = (
    "import sys\n"
    "from ser_zoo.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print('LOADED', ' '.join(m for m in {heavy!r} if m in sys.modules))\n"
    "sys.exit(code)\n"
)


def one_run(src: Path, file: str, model: str) -> tuple[float, str, str]:
    """(wall seconds, the answer line, heavy packages loaded) of one ``ser-zoo infer`` process on ``src``."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    code = RUN.format(heavy=HEAVY)
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code, "infer", file, "--model", model],
        capture_output=True,
        text=True,
        env=env,
        cwd=src,
        timeout=600,
    )
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"{src}: ser-zoo infer failed: {out.stderr.strip().splitlines()[-1:]}")
    lines = out.stdout.strip().splitlines()
    loaded = lines[-1].removeprefix("LOADED").strip()
    return seconds, lines[-2].split(None, 1)[1], loaded


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--compare", required=True, help="another checkout of ser-zoo (e.g. a git worktree)")
    p.add_argument("--file", default=None, help="default: RAVDESS Actor_01's first clip under the data root")
    p.add_argument("--model", default="general6")
    p.add_argument("--repeat", type=int, default=7)
    args = p.parse_args()
    root = Path(os.environ.get("SER_ZOO_DATA", REPO.parent / "shared" / "data"))
    file = str(Path(args.file or sorted((root / "ravdess" / "Actor_01").iterdir())[0]).resolve())
    checkouts = {"this checkout": REPO, f"--compare {args.compare}": Path(args.compare).resolve()}
    runs: dict[str, list] = {name: [] for name in checkouts}
    load_before = os.getloadavg()[0]
    for _ in range(args.repeat):
        for name, src in checkouts.items():
            runs[name].append(one_run(src, file, args.model))
    load = (load_before, os.getloadavg()[0])
    answers = {name: {r[1] for r in rs} for name, rs in runs.items()}
    if len({frozenset(a) for a in answers.values()}) != 1:
        sys.exit(f"the checkouts answer differently: {answers}")
    rows = {
        name: {
            "median_s": statistics.median(r[0] for r in rs),
            "min_s": min(r[0] for r in rs),
            "max_s": max(r[0] for r in rs),
            "loaded": rs[-1][2],
            "commit": subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=src, capture_output=True, text=True
            ).stdout.strip(),
        }
        for (name, rs), src in zip(runs.items(), checkouts.values())
    }
    lines = [
        f"# Start-up of `ser-zoo infer` on one file (`--model {args.model}`)",
        "",
        f"Wall seconds of a fresh `ser-zoo infer FILE --model {args.model}` process, {args.repeat} runs of "
        "each checkout, alternating; the file is one RAVDESS clip and both answer "
        f"`{next(iter(answers.values())).pop()}`. `loaded`: the heavy packages the process had imported by "
        "the end. "
        f"Load average {load[0]:.1f} at the start and {load[1]:.1f} at the end on {os.cpu_count()} cores.",
        "",
        "| checkout | commit | median s | min s | max s | loaded |",
        "|---|---|---:|---:|---:|---|",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['commit']} | {r['median_s']:.2f} | {r['min_s']:.2f} | {r['max_s']:.2f} | "
            f"{r['loaded'] or '-'} |"
        )
    result = {"file": file, "model": args.model, "load_average": load, "runs": rows}
    write_result("infer_start", result, "\n".join(lines))


if __name__ == "__main__":
    main()
