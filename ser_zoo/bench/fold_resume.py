"""A bench fold killed mid-training resumes from its ``last.ckpt`` on the next ``ser-zoo bench`` run.

Full schedules run for hours on a CPU and sessions end where they stand, so a fold must not start over. Each
fold's run folder (``runs/bench/<protocol>/<model>-fold<k>/version_N``) records the arguments it was started
with (``bench_args.json``); a later run with the same arguments continues the newest such version from its
``last.ckpt`` (``LastCheckpoint`` writes it after every validation and every 50 steps), in the same folder, so
its best checkpoint and early-stopping state carry on. Lightning's CSVLogger deletes a folder's
``metrics.csv`` when a run reuses it, so the rows logged before a resume are set aside first
(``metrics_before_resume.csv``) and joined back in front of the new ones after the fold's test. Other
arguments (a changed recipe or override) start a fresh version.
"""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path
from typing import NamedTuple, Optional, Sequence

import yaml

ARGS_FILE = "bench_args.json"
METRICS, METRICS_BEFORE = "metrics.csv", "metrics_before_resume.csv"


class ResumePoint(NamedTuple):
    version: int
    checkpoint: Path
    seconds_before: float  # wall time from the fold's first start to its last save


def fold_runs(protocol: str, label: str, fold: int) -> Path:
    """Where the logger puts a bench fold's versions (the runner's ``save_dir`` and ``name``)."""
    return Path("runs") / "bench" / protocol / f"{label}-fold{fold}"


def best_checkpoint(runs: Path) -> Optional[Path]:
    """The newest version's best-on-validation checkpoint in a fold's run folder (``fold_runs``), not a
    ``ser-zoo calibrate`` copy beside it (``-calibrated.ckpt``); None before the fold has validated."""
    for version in _versions(runs):
        found = sorted(
            p
            for p in (runs / f"version_{version}" / "checkpoints").glob("best-*.ckpt")
            if not p.stem.endswith("-calibrated")
        )
        if found:
            return found[-1]
    return None


def _versions(runs: Path) -> list[int]:
    names = (p.name.removeprefix("version_") for p in runs.glob("version_*"))
    return sorted((int(n) for n in names if n.isdigit()), reverse=True)


def resume_point(runs: Path, args: Sequence[str]) -> Optional[ResumePoint]:
    """The newest version started with ``args`` that left a ``last.ckpt``; None when there is none."""
    for version in _versions(runs):
        folder = runs / f"version_{version}"
        last, saved = folder / "checkpoints" / "last.ckpt", folder / ARGS_FILE
        if not (last.is_file() and saved.is_file()):
            continue
        try:
            same = json.loads(saved.read_text()) == list(args)
        except (OSError, ValueError):
            same = False
        if same:
            return ResumePoint(version, last, max(0.0, last.stat().st_mtime - saved.stat().st_mtime))
    return None


def fold_progress(runs: Path) -> Optional[str]:
    """Where an unfinished fold stands, for ``--dry_run``: epochs validated in its newest version (of its
    ``max_epochs``), the best validation UA so far, whether a ``last.ckpt`` is there to resume from, and the
    time left at the pace of its latest start; None when nothing has validated."""
    for version in _versions(runs):
        folder = runs / f"version_{version}"
        rows = [r for name in (METRICS_BEFORE, METRICS) for r in _read(folder / name) if r.get("val/ua")]
        if not rows:
            continue
        best = max(rows, key=lambda r: float(r["val/ua"]))
        resume = (
            "last.ckpt to resume from" if (folder / "checkpoints" / "last.ckpt").is_file() else "no last.ckpt"
        )
        total = _max_epochs(folder)
        of = f" of {total}" if total else ""
        pace = _pace(folder, rows[-1], total)
        return (
            f"version_{version}: {int(rows[-1]['epoch']) + 1}{of} epoch(s) validated, best validation UA "
            f"{float(best['val/ua']):.4f} at epoch {int(best['epoch'])}, {resume}"
            + (f"; {pace}" if pace else "")
        )
    return None


def _max_epochs(folder: Path) -> Optional[int]:
    """``trainer.max_epochs`` of the ``config.yaml`` LightningCLI saved in a version folder."""
    try:
        value = (
            (yaml.safe_load((folder / "config.yaml").read_text()) or {}).get("trainer", {}).get("max_epochs")
        )
    except (OSError, yaml.YAMLError, AttributeError):
        return None
    return int(value) if isinstance(value, int) and value > 0 else None


def _pace(folder: Path, last_val: dict, max_epochs: Optional[int]) -> Optional[str]:
    """``~3.0 min an epoch, at most ~36 min to go (metrics last written 08:22 UTC)``: seconds per optimizer
    step since the run's latest start (the args file's time, or a resume's, when the rows were set aside) up
    to the newest logged step, times the steps left to ``max_epochs`` (early stopping may end it sooner)."""
    metrics, before = folder / METRICS, folder / METRICS_BEFORE
    since = before if before.is_file() else folder / ARGS_FILE
    now = max((int(r["step"]) for r in _read(metrics) if r.get("step")), default=None)
    then = max((int(r["step"]) for r in _read(before) if r.get("step")), default=0)  # 0: no resume yet
    if now is None or not since.is_file() or now <= then:
        return None
    written = metrics.stat().st_mtime
    per_step = (written - since.stat().st_mtime) / (now - then)
    per_epoch = per_step * (int(last_val["step"]) + 1) / (int(last_val["epoch"]) + 1)
    clock = time.strftime("%H:%M UTC", time.gmtime(written))
    if not max_epochs:
        return f"~{per_epoch / 60:.1f} min an epoch (metrics last written {clock})"
    left = max(0.0, max_epochs * per_epoch - now * per_step)
    return (
        f"~{per_epoch / 60:.1f} min an epoch, at most ~{left / 60:.0f} min to go"
        f" (metrics last written {clock})"
    )


def record_args(log_dir: str | os.PathLike, args: Sequence[str]) -> None:
    """Write the fold's arguments once, when its version starts (the file's time marks the start)."""
    path = Path(log_dir) / ARGS_FILE
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(list(args)))


def _read(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _write(path: Path, rows: list[dict]) -> None:
    keys = sorted({k for r in rows for k in r})
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def set_metrics_aside(log_dir: str | os.PathLike) -> None:
    """Before a resumed fit: the folder's ``metrics.csv`` rows join those set aside by earlier resumes."""
    folder = Path(log_dir)
    current = _read(folder / METRICS)
    if current:
        _write(folder / METRICS_BEFORE, _read(folder / METRICS_BEFORE) + current)
        (folder / METRICS).unlink()


def join_metrics(log_dir: str | os.PathLike) -> None:
    """After a resumed fold's test: one ``metrics.csv`` again, the rows set aside first."""
    folder = Path(log_dir)
    before = _read(folder / METRICS_BEFORE)
    if before:
        _write(folder / METRICS, before + _read(folder / METRICS))
        (folder / METRICS_BEFORE).unlink()
