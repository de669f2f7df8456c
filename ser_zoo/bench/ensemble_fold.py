"""Ensembles on one speaker-independent fold: each member alone, averaging, stacking and selection.

The members are ``ser-zoo fit`` / ``ser-zoo bench`` checkpoints trained on the same protocol and fold (or zoo
names), and baseline specs (scikit-learn on clip vectors, fitted here on the fold's training speakers); the
stacker and the ensemble selection's member weights are fitted on that fold's validation speakers only. A
member that heard any of the fold's test speakers (a .ckpt trained on another fold, a zoo checkpoint) is
refused. Each run appends a markdown table to a report file; with a leaderboard label the combined rows also
land in the protocol's CSV as bench rows. ``benchmarks/ensemble_fold.py`` is the command line over
:func:`run_ensemble_fold`.
"""

from __future__ import annotations

import dataclasses
import glob
import inspect
import time
from pathlib import Path
from typing import Optional, Sequence

import torch

from ..checkpoint_file import load_checkpoint_file
from ..data.datamodule import SERDataModule
from ..data.splits import get_protocol
from ..errors import ConfigError
from ..models.ensemble import COMBINED_ROWS, BaselineMember, ensemble_table, load_members
from ..zoo.heard import check_unheard, saved_heard_speakers
from .provenance import environment
from .report import write_report
from .results import ENSEMBLE_HOW, append_row, result_row, results_path

REPORT_HEADER = "# Ensembles of zoo members, one fold each\n\n"
#: How each combined row's config says what it is.


def newest_match(member: str) -> str:
    """A member as given, or the newest match of its glob (bench runs add a ``version_N`` folder per run)."""
    return (sorted(glob.glob(member)) or [member])[-1]


def member_reading(model, saved: Optional[dict]) -> dict:
    """How a member read the fold's evaluation clips when it was benched (crop, VAD trim, ...): the data
    settings saved in its .ckpt, or its zoo card's ``eval``; else its training crop."""
    data = (
        (saved or {}).get("datamodule_hyper_parameters")
        or (getattr(model, "card", None) or {}).get("eval")
        or {}
    )
    reading = {k: data[k] for k in SERDataModule.READING if k in data} or {
        "clip_seconds": model.hparams.example_seconds
    }
    defaults = inspect.signature(SERDataModule).parameters
    # complete, so that members with equal readings share one data module
    return {k: reading.get(k, defaults[k].default) for k in SERDataModule.READING}


def reading_text(reading: dict) -> str:
    """``2.5 s crops``, ``whole clips``, ``3 s crops, VAD-trimmed``: what a member's table name says of its
    reading."""
    text = "whole clips" if reading["eval_crop"] == "full" else f"{reading['clip_seconds']:g} s crops"
    return text + (", VAD-trimmed" if reading["vad_trim"] else "")


def member_label(path: str, model) -> str:
    """A member's recipe (a bench run folder is ``<recipe>-fold<N>``), zoo name, or else file stem."""
    if getattr(model, "card", None):
        return f"zoo:{model.card['name']}"
    run = [part for part in Path(path).parts if "-fold" in part]
    return run[-1].rsplit("-fold", 1)[0] if run else Path(path).stem


class _FoldReadings:
    """One set-up data module per reading of the fold: each deep member reads the fold as it was benched."""

    def __init__(self, protocol: str, fold: int, classes, root, limit_clips):
        self.common = dict(
            root=root,
            protocol=protocol,
            fold=fold,
            classes=classes,
            batch_size=32,
            num_workers=1,
            limit_clips=limit_clips,
        )
        self.by_reading: dict = {}

    def __call__(self, reading: dict) -> SERDataModule:
        key = tuple(sorted(reading.items()))
        if key not in self.by_reading:
            dm = SERDataModule(**self.common, **reading)
            dm.setup("fit")
            dm.setup("test")
            self.by_reading[key] = dm
        return self.by_reading[key]


@dataclasses.dataclass
class FoldEnsemble:
    """One fold's evaluated ensemble: the members as loaded, the table of results and what it took."""

    paths: list[str]  # the deep members' files (globs resolved) or zoo names
    deep: list  # the deep members, loaded
    named: list[tuple[str, object]]  # every member under its table name
    table: list[tuple[str, dict]]  # (name, metrics): members, then the combined rows
    dm: SERDataModule  # the fold as the first member reads it: labels, test speakers
    seconds: float


def evaluate_fold(protocol, fold, members, baselines, classes, root, limit_clips) -> FoldEnsemble:
    """Load the members, refuse any that heard the fold's test speakers, and evaluate them and their
    combinations on the fold."""
    paths = [newest_match(m) for m in members]
    deep = load_members(paths)
    saved = [load_checkpoint_file(p, map_location="cpu") if p.endswith(".ckpt") else None for p in paths]
    readings = [member_reading(m, s) for m, s in zip(deep, saved)]
    data_module = _FoldReadings(protocol, fold, classes, root, limit_clips)
    member_dms = [data_module(r) for r in readings]
    # labels, baselines and the speaker check read the first member's reading of the fold
    dm = member_dms[0] if deep else data_module({})
    for path, m, s in zip(paths, deep, saved):  # no member may have heard this fold's test speakers
        card = getattr(m, "card", None) or {
            "name": path,
            "heard_speakers": saved_heard_speakers(s, path, root),
        }
        check_unheard(card, dm, role="--members")
    t0 = time.time()
    named = [(f"{member_label(p, m)} ({reading_text(r)})", m) for p, m, r in zip(paths, deep, readings)]
    named += [
        (
            f"{spec} (fitted on training speakers)",
            BaselineMember(spec, protocol, fold, classes, root, limit_clips),
        )
        for spec in baselines
    ]
    table = ensemble_table(named, dm, member_dms)
    return FoldEnsemble(paths, deep, named, table, dm, time.time() - t0)


def run_ensemble_fold(
    protocol: str,
    fold: int,
    *,
    members: Sequence[str] = (),
    baselines: Sequence[str] = (),
    classes: Optional[str] = None,
    root: Optional[str] = None,
    limit_clips: Optional[int] = None,
    report: str | Path = "benchmarks/results/seed_zoo/ensemble.md",
    leaderboard: Optional[str] = None,
    results: str | Path = "benchmarks/results",
    rows: Sequence[str] = tuple(COMBINED_ROWS),
    suite: str = "",
    command: str = "",
) -> list[tuple[str, dict]]:
    """Evaluate the members and their combinations on one fold; returns the table's (name, metrics) rows.

    ``members`` are .ckpt paths (globs: the newest match) or zoo names; ``baselines`` are baseline specs.
    The table is appended to ``report``; with ``leaderboard`` the combined ``rows`` (of average, stack,
    select) are written to the protocol's CSV under ``results`` as ``<leaderboard>-<kind>``, with ``suite``
    in each row. ``command`` is how the report says the run can be repeated."""
    if len(members) + len(baselines) < 2:
        raise ConfigError("an ensemble needs two or more --members / --baselines")
    unknown = set(rows) - set(COMBINED_ROWS)
    if unknown:
        raise ConfigError(f"unknown ensemble rows {sorted(unknown)}; use some of {list(COMBINED_ROWS)}")
    with torch.no_grad():
        ens = evaluate_fold(protocol, fold, members, baselines, classes, root, limit_clips)
    combined = {kind: dict(ens.table)[name] for kind, name in COMBINED_ROWS.items()}
    if leaderboard:
        picked = {kind: combined[kind] for kind in COMBINED_ROWS if kind in rows}
        leaderboard_rows(protocol, fold, classes, leaderboard, ens, baselines, picked, results, suite)
    how = f"`{command}`" + (f" (suite {suite})" if suite else "") if command else ""
    text = report_text(protocol, fold, ens, baselines, combined["select"]["weights"], how)
    print(text)
    report = Path(report)
    report.parent.mkdir(parents=True, exist_ok=True)
    header = "" if report.exists() else REPORT_HEADER
    with report.open("a") as f:
        f.write(header + text + "\n")
    return ens.table


def report_text(protocol, fold, ens: FoldEnsemble, baselines, weights, command: str) -> str:
    """The markdown table of one fold's ensemble, with its members, selection weights, machine and command."""
    lines = [
        f"## {protocol} fold {fold} (speaker-independent), {len(ens.named)} members, "
        f"{ens.table[0][1]['n_test']} test clips",
        "",
        "| model | UA | WA | macro-F1 |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {name} | {r['ua'] * 100:.2f} | {r['wa'] * 100:.2f} | {r['f1'] * 100:.2f} |"
        for name, r in ens.table
    ]
    env = environment()
    m, v = env["machine"], env["versions"]
    lines += [
        "",
        f"Members: {', '.join(f'`{x}`' for x in [*ens.paths, *baselines])}.  ",
        "Ensemble-selection weights (picked on validation speakers): "
        + ", ".join(f"{name} {w:g}" for (name, _), w in zip(ens.named, weights))
        + ".  ",
        f"Evaluation took {ens.seconds:.0f} s on {m['cpu']}, {m['cores']} cores, GPU {m['gpu'] or 'none'}; "
        + ", ".join(f"{k} {val}" for k, val in v.items())
        + f"; commit {env['git_commit']}, {env['date']}.  ",
        *([f"Command: {command}"] if command else []),
        "",
    ]
    return "\n".join(lines)


def leaderboard_rows(
    protocol, fold, classes, label, ens: FoldEnsemble, baselines, by_kind, out, suite
) -> None:
    """The combined rows' test metrics on this fold as bench rows (every member was trained or fitted on this
    fold's training speakers; the stacker and the selection weights on its validation speakers)."""
    members = " + ".join([member_label(p, m) for p, m in zip(ens.paths, ens.deep)] + list(baselines))
    cost = {
        "epochs": "",
        "train_seconds": round(ens.seconds, 1),
        "params": sum(p.numel() for m in ens.deep for p in m.net.parameters()),
        "test_speakers": " ".join(sorted({c.speaker for c in ens.dm.stage_clips("test")})),
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
    }
    path = results_path(Path(out), protocol, classes)
    for kind, r in by_kind.items():
        picked = f" (weights {' / '.join(f'{w:g}' for w in r['weights'])})" if "weights" in r else ""
        r = {**r, **cost, "config": ENSEMBLE_HOW[kind] + members + picked}
        row = result_row(
            protocol, classes or get_protocol(protocol).classes, f"{label}-{kind}", fold, r, suite
        )
        append_row(path, row, list(ens.dm.class_names))
        print(f"[{protocol}] {label}-{kind} fold {fold}: UA {r['ua']:.4f} -> {path}")
    write_report(out)
