"""Benchmark suites: a YAML file says what ``ser-zoo bench`` runs, step by step, so a leaderboard is data.

``ser-zoo bench --suite FILE [FILE ...]`` runs every step of each suite in turn (all files checked first);
like ``ser-zoo bench`` it is resumable (a (model, fold) whose row in the CSV is complete is skipped), and each
row it writes names the suite in its ``suite`` column beside the commit. ``--dry_run`` prints each step and
which (model, fold) rows are already complete. Schema (only ``steps`` is required; a step's own ``protocol``,
``classes``, ``folds`` and ``threads`` win over the
suite's)::

    about: what the suite is for, in a line or two
    protocol: savee-loso        # every step's protocol
    classes: emotions7          # class set (default: the protocol's own)
    folds: [0, 1]               # a list, or `all` (the default): every fold of the protocol
    out: benchmarks/results     # folder of the CSVs, LEADERBOARD.md and ensemble.md (the default)
    threads: 1                  # torch and BLAS threads per step (default 1)
    in_progress: false          # true while a long run's rows are still landing, session after session
    steps:
      - bench: [logreg, "svm:stats+mfcc_mean+pitch+ge2e:vad"]   # recipes, model names, baseline specs
      - bench: [configs/mfcc_cnn_savee.yaml]
        overrides: {trainer.max_epochs: 15}   # LightningCLI keys (trainer.max_time, data.limit_clips, ...)
      - ensemble: mfcc_cnn+svm+mlp            # leaderboard label: rows <label>-average, -stack, -select
        members: [configs/mfcc_cnn_savee.yaml]   # a recipe: its bench checkpoint on each fold
        baselines: ["svm:stats+mfcc_mean+pitch+ge2e:vad", "mlp:stats+mfcc_mean+pitch+ge2e:vad"]
        rows: [average, stack]                # which combined rows go to the CSV (default: all three)

An ensemble member is a recipe (its ``ser-zoo bench`` checkpoint on the fold, from a bench step run first),
a zoo name, or a .ckpt path or glob in which ``{fold}`` stands for the fold. ``trainer.max_epochs`` is
recorded in each row's config as ``max_epochs=N``, as ``ser-zoo bench --max_epochs`` does. Recipes, ``out``
and checkpoint paths are relative to the current directory: run suites from the repository root. Time values
such as ``trainer.max_time`` must be quoted (YAML reads ``00:00:03:00`` as a number).
"""

from __future__ import annotations

import contextlib
import functools
import glob
import logging
from pathlib import Path
from typing import Iterator, Optional, Sequence

from ..errors import ConfigError, RunsFailed, SerZooError
from ..models.ensemble import COMBINED_ROWS
from .bench_data import BenchData, bench_data
from .ensemble_fold import run_ensemble_fold
from .fold_resume import fold_progress, fold_runs
from .results import completed, read_rows, results_path
from .runner import every_fold, is_recipe, run_bench
from .suite_file import Step, Suite, load_suite

log = logging.getLogger("ser_zoo")


@functools.lru_cache(maxsize=None)
def _every_fold(protocol: str, root: Optional[str], data: BenchData) -> tuple[int, ...]:
    return tuple(every_fold(protocol, root, data))  # reads the corpus manifests: once per protocol and data


def _step_data(step: Step) -> BenchData:
    """The step's data settings from its overrides (``data.corpora``, ``data.label_map``, ``data.folds``)."""
    return bench_data(step.overrides, classes=step.classes)


def step_folds(step: Step, root: Optional[str]) -> list[int]:
    if step.folds is not None:
        return list(step.folds)
    return list(_every_fold(step.protocol, root, _step_data(step)))


def step_csv(step: Step, out: Path) -> Path:
    data = _step_data(step)
    return results_path(out, step.protocol, data.classes_label(), data.tag(step.protocol))


def fold_complete(step: Step, done: set[tuple[str, str]], fold: int) -> bool:
    """Every row the step writes on ``fold`` is among the complete (model, fold) pairs ``done``."""
    return all((label, str(fold)) in done for label in step.labels())


def member_path(member: str, protocol: str, fold: int | str) -> str:
    """A member as ``run_ensemble_fold`` takes it: a recipe's bench checkpoint glob on the fold, or as
    given."""
    if is_recipe(member):
        return f"runs/bench/{protocol}/{Path(member).stem}-fold{fold}/version_*/checkpoints/best-*.ckpt"
    return member.replace("{fold}", str(fold))


def bench_command(step: Step, out: Path) -> str:
    """The ``ser-zoo bench`` command line a bench step runs."""
    words = ["ser-zoo bench --protocol", step.protocol]
    words += ["--classes", step.classes] if step.classes else []
    words += ["--folds", *map(str, step.folds)] if step.folds is not None else []
    words += ["--models", *step.models]
    words += ["--max_epochs", str(step.max_epochs)] if step.max_epochs else []
    return " ".join([*words, *step.overrides, "--out", str(out)])


def ensemble_command(step: Step, out: Path, fold: int | str) -> str:
    """The ``benchmarks/ensemble_fold.py`` command line an ensemble step runs on one fold."""
    words = ["python benchmarks/ensemble_fold.py --protocol", step.protocol, "--fold", str(fold)]
    words += ["--classes", step.classes] if step.classes else []
    members = [member_path(m, step.protocol, fold) for m in step.members]
    words += ["--members", *members] if members else []
    words += ["--baselines", *step.baselines] if step.baselines else []
    words += ["--leaderboard", step.label]
    words += ["--rows", *step.rows] if list(step.rows) != list(COMBINED_ROWS) else []
    return " ".join([*words, "--results", str(out), "--out", str(out / step.report)])


@contextlib.contextmanager
def thread_limit(threads: int) -> Iterator[None]:
    """torch and the BLAS / OpenMP pools (scikit-learn's) on ``threads`` threads, restored afterwards."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(threads):
            yield
    finally:
        torch.set_num_threads(before)


def fold_status(have: Sequence[int], todo: Sequence[int]) -> str:
    """``complete 0 1; to run 2 3``, or just one half when the other is empty."""
    parts = [f"complete {' '.join(map(str, have))}"] if have else []
    parts += [f"to run {' '.join(map(str, todo))}"] if todo else []
    return "; ".join(parts) or "no fold"


def time_to_go(rows: Sequence[dict], label: str, todo: int) -> str:
    """``; ~63 min a fold (mean of the 5 run), ~6.3 h for the 6 to run`` from the complete rows' training
    wall time (``train_seconds``: an estimate for folds of like size on a like machine); "" without them."""
    seconds = [float(r["train_seconds"]) for r in rows if r.get("model") == label and r.get("train_seconds")]
    if not (seconds and todo):
        return ""
    mean = sum(seconds) / len(seconds)
    left = mean * todo
    total = f"~{left / 3600:.1f} h" if left >= 5400 else f"~{left / 60:.0f} min"
    return f"; ~{mean / 60:.0f} min a fold (mean of the {len(seconds)} run), {total} for the {todo} to run"


def print_plan(suite: Suite, root: Optional[str]) -> None:
    """Each step as the command it runs, and per row name which folds are complete and which would run."""
    print(f"suite {suite.name}: {suite.about}" if suite.about else f"suite {suite.name}")
    for step in suite.steps:
        path = step_csv(step, suite.out)
        threads = f"{step.threads} thread{'s' if step.threads > 1 else ''}"
        print(f"step {step.number}/{len(suite.steps)} ({threads}) -> {path}")
        if step.kind == "bench":
            print(f"  {bench_command(step, suite.out)}")
        else:
            print(f"  on each fold N: {ensemble_command(step, suite.out, 'N')}")
        done = completed(path)
        rows = read_rows(path)
        folds = step_folds(step, root)
        for label in step.labels():
            have = [f for f in folds if (label, str(f)) in done]
            todo = [f for f in folds if f not in have]
            print(f"  {label}: {fold_status(have, todo)}{time_to_go(rows, label, len(todo))}")
            if step.kind == "bench":
                for fold in (f for f in folds if f not in have):
                    progress = fold_progress(fold_runs(step.protocol, label, fold))
                    if progress:
                        print(f"    fold {fold} started: {progress}")


def run_suite(
    path: str | Path,
    *,
    out: Optional[str | Path] = None,
    root: Optional[str] = None,
    dry_run: bool = False,
) -> list[Path]:
    """Run every step of a suite, skipping the (model, fold) rows already complete; returns the CSVs written.

    ``out`` replaces the suite's output folder, ``root`` is the data root; ``dry_run`` prints the plan
    instead."""
    suite = load_suite(path, out)
    paths = list(dict.fromkeys(step_csv(s, suite.out) for s in suite.steps))
    if dry_run:
        print_plan(suite, root)
        return paths
    failures: list[str] = []
    for step in suite.steps:
        with thread_limit(step.threads):
            try:
                if step.kind == "bench":
                    run_bench(
                        step.protocol,
                        step.models,
                        folds=step.folds,
                        out=suite.out,
                        classes=step.classes,
                        max_epochs=step.max_epochs,
                        root=root,
                        overrides=step.overrides,
                        suite=suite.name,
                    )
                else:
                    _run_ensemble_step(suite, step, root)
            except RunsFailed as e:  # the step's other runs went on; so do the next steps
                failures += e.failures
            except SerZooError as e:  # e.g. an ensemble whose members a failed run did not leave
                failures.append(f"{suite.path}: step {step.number}: {e}")
                log.error(f"bench: {failures[-1]}")
    if failures:
        raise RunsFailed(failures)
    return paths


def run_suites(
    paths: Sequence[str | Path],
    *,
    out: Optional[str | Path] = None,
    root: Optional[str] = None,
    dry_run: bool = False,
) -> list[Path]:
    """Run suites one after another (a queue for a machine left to train); every file is read and checked
    before the first trains, so a mistake in the last one costs no hours. Returns the CSVs written."""
    for path in paths:
        load_suite(path, out)
    written: list[Path] = []
    failures: list[str] = []
    for path in paths:
        try:
            written += run_suite(path, out=out, root=root, dry_run=dry_run)
        except RunsFailed as e:  # the next suite in the queue still runs
            failures += e.failures
    if failures:
        raise RunsFailed(failures)
    return list(dict.fromkeys(written))


def _run_ensemble_step(suite: Suite, step: Step, root: Optional[str]) -> None:
    path = step_csv(step, suite.out)
    for fold in step_folds(step, root):
        if fold_complete(step, completed(path), fold):
            print(f"[{step.protocol}] ensemble {step.label} fold {fold} already in {path}; skipped")
            continue
        members = [member_path(m, step.protocol, fold) for m in step.members]
        missing = [m for m, spec in zip(members, step.members) if is_recipe(spec) and not glob.glob(m)]
        if missing:
            raise ConfigError(
                f"{suite.path}: step {step.number}: no bench checkpoint {missing[0]}; run the recipe's bench "
                "step first"
            )
        run_ensemble_fold(
            step.protocol,
            fold,
            members=members,
            baselines=step.baselines,
            classes=step.classes,
            root=root,
            report=suite.out / step.report,
            leaderboard=step.label,
            results=suite.out,
            rows=step.rows,
            suite=suite.name,
            command=ensemble_command(step, suite.out, fold),
        )
