"""The GPU lane's runner (issue 21): a suite's bench steps as (step, fold) jobs, several side by side on one
GPU, all stopped at a deadline so that the rows which finished are kept.

One small model leaves most of a large GPU idle (its steps are bound by kernel launches and Python), so the
lane trains ``--jobs`` folds at once, each in a process of its own. Workers take the jobs in the suite's order
(steps in order, each step's folds in order), so the most valuable rows land first; a job is one fold of one
step, claimed by one worker (a file created exclusively), and its row is appended to the suite's CSV under the
file lock ``ser-zoo bench`` uses, with the suite in the ``suite`` column and the GPU in ``device``. Jobs
whose row is complete are skipped, so a second run resumes. At ``--seconds`` the workers are stopped (the
folds in flight are lost), LEADERBOARD.md is rebuilt and every row is listed. Ensemble steps are not run.

    python benchmarks/gpu_lane.py benchmarks/suites/gpu_lane.yaml --jobs 8 --seconds 520
    python benchmarks/gpu_lane.py benchmarks/suites/gpu_lane.yaml --smoke --out /tmp/lane/results
        --workdir /tmp/lane/work --jobs 2     # fold 0 of each step, 1 epoch on 24 clips per stage (CPU)

``--workdir`` runs from a scratch folder holding a link to configs/ (so ``runs/`` lands there, not in the
checkout); benchmarks/gpu_lane.sh is the device command around this script.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # ser_zoo from this checkout, installed or not

#: a smoke run: every step on its first fold, one epoch on a few clips per stage
SMOKE_OVERRIDES = ("--data.limit_clips", "24")
#: worker output the lane echoes: its own lines, bench's row line, errors
ECHO = re.compile(r"^(lane:|\[\S+\] \S+ fold \d+: WA|Traceback|\S*Error\b)")


@dataclasses.dataclass(frozen=True)
class Job:
    step: object  # ser_zoo.bench.suite_file.Step
    fold: int

    @property
    def key(self) -> str:
        return f"step{self.step.number}-fold{self.fold}"

    @property
    def name(self) -> str:
        return f"{'+'.join(self.step.labels())} fold {self.fold} ({self.step.protocol})"


def load(args: argparse.Namespace):
    from ser_zoo.bench.suite_file import load_suite

    suite = load_suite(args.suite, args.out)
    if suite.out.resolve() == (REPO / "benchmarks" / "results").resolve():
        sys.exit(f"lane: {args.suite} writes to benchmarks/results itself; give the lane its own out")
    return suite


def all_jobs(suite, smoke: bool) -> list[Job]:
    from ser_zoo.bench.suite import step_folds

    jobs = []
    for step in suite.steps:
        if step.kind != "bench":
            print(f"lane: step {step.number} is an ensemble step; run it with ser-zoo bench --suite")
            continue
        folds = step_folds(step, None)
        jobs += [Job(step, f) for f in (folds[:1] if smoke else folds)]
    return jobs


def complete(suite, job: Job) -> bool:
    from ser_zoo.bench.results import completed
    from ser_zoo.bench.suite import fold_complete, step_csv

    return fold_complete(job.step, completed(step_csv(job.step, suite.out)), job.fold)


def run_job(suite, job: Job, smoke: bool) -> None:
    from ser_zoo.bench.runner import run_bench
    from ser_zoo.bench.suite import thread_limit

    step = job.step
    with thread_limit(step.threads):
        run_bench(
            step.protocol,
            step.models,
            folds=[job.fold],
            out=suite.out,
            classes=step.classes,
            max_epochs=1 if smoke else step.max_epochs,
            overrides=[*step.overrides, *(SMOKE_OVERRIDES if smoke else ())],
            suite=suite.name,
        )


def worker(args: argparse.Namespace) -> int:
    """Take the jobs in order, one claim at a time, until none is left."""
    signal.signal(signal.SIGTERM, lambda signum, frame: os._exit(128 + signum))  # stopped: no next job
    suite = load(args)
    claims = Path(args.claims)
    failed = 0
    for job in all_jobs(suite, args.smoke):
        if complete(suite, job):
            continue
        try:
            os.close(os.open(claims / job.key, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            continue  # another worker has it
        print(f"lane: worker {args.worker} starts {job.name}", flush=True)
        start = time.time()
        try:
            run_job(suite, job, args.smoke)
        except Exception:
            traceback.print_exc()
            (claims / f"{job.key}.failed").touch()
            failed += 1
            print(f"lane: worker {args.worker} FAILED {job.name}", flush=True)
            continue
        print(f"lane: worker {args.worker} finished {job.name} in {time.time() - start:.0f} s", flush=True)
    return 1 if failed else 0


def preflight(smoke: bool) -> None:
    """Fail in seconds, not after the deadline: the imports a bench run needs, the GPU, one clip of each
    corpus."""
    import torch

    from ser_zoo.audio import read_audio
    from ser_zoo.bench.provenance import environment
    from ser_zoo.data.clips import default_data_root
    from ser_zoo.lit.cli import build_cli  # noqa: F401  (LightningCLI: jsonargparse[signatures])

    env = environment()
    print(f"lane: {env['machine']}", flush=True)
    print(f"lane: {env['versions']}, commit {env['git_commit']}", flush=True)
    if not smoke and not torch.cuda.is_available():
        sys.exit("lane: no CUDA device; the lane's rows must come from a GPU (--smoke runs on the CPU)")
    root = Path(default_data_root())
    print(f"lane: data root {root.resolve()}, cache {os.environ.get('SER_ZOO_CACHE', '~/.cache/ser-zoo')}")
    for corpus in sorted(p for p in root.iterdir() if p.is_dir()):
        clip = next((f for f in sorted(corpus.rglob("*")) if f.suffix in (".opus", ".flac", ".wav")), None)
        if clip is not None:
            wave, rate = read_audio(clip)
            print(f"lane: {clip.relative_to(root)}: {len(wave) / rate:.2f} s at {rate} Hz", flush=True)


def echo_new(logs: list[Path], offsets: list[int]) -> None:
    for i, log in enumerate(logs):
        try:
            with log.open("rb") as f:
                f.seek(offsets[i])
                chunk = f.read()
        except OSError:
            continue
        end = chunk.rfind(b"\n") + 1
        offsets[i] += end
        for line in chunk[:end].decode(errors="replace").splitlines():
            if ECHO.match(line):
                print(f"  w{i} {line}", flush=True)


def stop(procs: list[subprocess.Popen], grace: float = 10.0) -> None:
    """SIGTERM each worker's process group (its data-loader processes too), then SIGKILL what is left."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p in procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, sig)
                except ProcessLookupError:
                    pass
        end = time.monotonic() + grace
        while any(p.poll() is None for p in procs) and time.monotonic() < end:
            time.sleep(0.2)


def summary(suite, jobs: list[Job], claims: Path) -> int:
    """Each job's state, then every row of the suite's CSVs; returns how many jobs are complete."""
    from ser_zoo.bench.results import read_rows
    from ser_zoo.bench.suite import step_csv

    done = 0
    for job in jobs:
        if complete(suite, job):
            state, done = "complete", done + 1
        elif (claims / f"{job.key}.failed").exists():
            state = "FAILED (see its worker's log)"
        elif (claims / job.key).exists():
            state = "stopped in flight"
        else:
            state = "not started"
        print(f"lane: {job.name}: {state}")
    for path in dict.fromkeys(step_csv(j.step, suite.out) for j in jobs):
        for r in read_rows(path):
            print(
                f"lane: row {path.name} {r['model']} fold {r['fold']}: UA {r['ua']} WA {r['wa']} "
                f"F1 {r['f1']} "
                f"epochs {r['epochs']} {r['train_seconds']} s on {r['device']} (suite {r['suite']}, "
                f"commit {r['git_commit']})"
            )
    return done


def lane(args: argparse.Namespace) -> int:
    start = time.monotonic()
    if args.smoke and args.out is None:
        sys.exit("lane: --smoke needs --out (a scratch folder): smoke rows never go to the suite's own out")
    preflight(args.smoke)
    suite = load(args)
    jobs = all_jobs(suite, args.smoke)
    todo = [j for j in jobs if not complete(suite, j)]
    n = min(args.jobs, len(todo))
    print(
        f"lane: {suite.name}: {len(jobs)} jobs, {len(jobs) - len(todo)} complete already; {n} workers, "
        f"stop after {args.seconds:.0f} s; rows -> {suite.out}",
        flush=True,
    )
    claims = Path(tempfile.mkdtemp(prefix="gpu_lane_claims_"))
    logs_dir = Path(args.logs)
    logs_dir.mkdir(parents=True, exist_ok=True)
    logs = [logs_dir / f"worker{i}.log" for i in range(n)]
    base = [sys.executable, str(Path(__file__).resolve()), str(args.suite), "--claims", str(claims)]
    base += ["--out", str(suite.out)] + (["--smoke"] if args.smoke else [])
    procs = []
    for i, log in enumerate(logs):
        with log.open("w") as f:  # each worker (and its loaders) in a process group of its own, for stop()
            cmd = [*base, "--worker", str(i)]
            procs.append(subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, start_new_session=True))
        time.sleep(args.stagger)  # the first ones build the waveform caches; the rest wait on their locks

    def on_term(signum, frame):  # the shell's timeout: stop the workers, still write the report
        raise TimeoutError

    signal.signal(signal.SIGTERM, on_term)
    offsets = [0] * n
    try:
        while any(p.poll() is None for p in procs):
            if time.monotonic() - start > args.seconds:
                print(f"lane: deadline ({args.seconds:.0f} s): stopping the workers", flush=True)
                break
            echo_new(logs, offsets)
            time.sleep(2)
    except (TimeoutError, KeyboardInterrupt):
        print("lane: stopped from outside: stopping the workers", flush=True)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the report is written whatever comes now
    stop(procs)
    echo_new(logs, offsets)
    for i, p in enumerate(procs):
        if p.returncode not in (0, -signal.SIGTERM, -signal.SIGKILL, 128 + signal.SIGTERM):
            tail = logs[i].read_text(errors="replace").splitlines()[-25:]
            print(f"lane: worker {i} exited {p.returncode}; the end of {logs[i]}:", *tail, sep="\n  ")
    from ser_zoo.bench.report import write_report

    suite.out.mkdir(parents=True, exist_ok=True)
    write_report(suite.out)
    done = summary(suite, jobs, claims)
    shutil.rmtree(claims, ignore_errors=True)
    print(f"lane: {done}/{len(jobs)} jobs complete after {time.monotonic() - start:.0f} s", flush=True)
    return 0 if done > len(jobs) - len(todo) or not todo else 1


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("suite", help="a suite file; its bench steps become (step, fold) jobs")
    p.add_argument("--jobs", type=int, default=8, help="folds trained side by side (default 8)")
    p.add_argument(
        "--seconds", type=float, default=520, help="stop the workers after this long (default 520)"
    )
    p.add_argument("--out", default=None, help="the rows' folder instead of the suite's own out")
    p.add_argument("--smoke", action="store_true", help="each step's first fold, 1 epoch, 24 clips per stage")
    p.add_argument("--workdir", default=None, help="run from this scratch folder (runs/ lands there)")
    p.add_argument("--logs", default="runs/gpu_lane", help="worker logs, under the working folder")
    p.add_argument("--stagger", type=float, default=1.0, help="seconds between worker starts")
    p.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--claims", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.suite = Path(args.suite).resolve()  # before any chdir
    args.out = None if args.out is None else Path(args.out).resolve()
    if args.workdir:
        work = Path(args.workdir).resolve()
        work.mkdir(parents=True, exist_ok=True)
        if not (work / "configs").exists():
            (work / "configs").symlink_to(REPO / "configs")
        os.chdir(work)
    elif args.worker is None:
        os.chdir(REPO)  # recipes are named relative to the repository root
    if args.worker is not None:
        return worker(args)
    return lane(args)


if __name__ == "__main__":
    sys.exit(main())
