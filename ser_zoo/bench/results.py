"""The bench CSVs: one row per (model, fold), where each protocol's file lives, how rows are read and added.

The runner, the ensemble rows and the leaderboard report all read and write rows through here, so none of them
imports another to reach the file format.
"""

from __future__ import annotations

import csv
import datetime
import json
import os
from pathlib import Path
from typing import Optional, Sequence

from ..data.splits import get_protocol
from .provenance import git_commit

BASE_COLUMNS = [
    "protocol",
    "classes",
    "model",
    "fold",
    "wa",
    "ua",
    "f1",
    "val_ua",
    "epochs",
    "train_seconds",
    "params",
    "n_test",
    "test_speakers",
    "device",
    "suite",
    "git_commit",
    "config",
    "date",
    "confusion",
]
#: The columns before the per-class recalls; the recalls follow them, then the rest.
LEADING_COLUMNS = 7

#: How an ensemble row's ``config`` begins, per combined row kind (the members follow): the report tells
#: ensemble rows from single models by it.
ENSEMBLE_HOW = {
    "average": "mean of the probabilities of ",
    "stack": "stack (logreg on val speakers) of ",
    "select": "ensemble selection (weights from val-speaker UA) of ",
}


def results_path(out: Path, protocol: str, classes: Optional[str], data_tag: str = "") -> Path:
    """``<protocol>.csv``; ``-<data_tag>`` follows the protocol when it ran on other corpora than its own
    (``speaker-kfold-calls.csv``), ``-<classes>`` when the class set is not the protocol's own."""
    default = get_protocol(protocol).classes
    words = [protocol, data_tag, "" if classes in (None, default) else classes]
    return out / ("-".join(w for w in words if w) + ".csv")


def read_rows(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def row_complete(row: dict) -> bool:
    """A finished fold: WA, UA and macro-F1 all present as numbers (a hand-edited or damaged row is rerun)."""
    try:
        return all(0.0 <= float(row.get(k) or "nan") <= 1.0 for k in ("wa", "ua", "f1"))
    except ValueError:
        return False


def completed(path: Path) -> set[tuple[str, str]]:
    """The (model, fold) pairs, fold as text, whose row in the CSV at ``path`` is complete."""
    return {(r["model"], r["fold"]) for r in read_rows(path) if row_complete(r)}


def columns_for(class_names: Sequence[str]) -> list[str]:
    """The CSV header for a class set: metrics, one recall per class, then cost and provenance."""
    return (
        BASE_COLUMNS[:LEADING_COLUMNS] + [f"recall_{c}" for c in class_names] + BASE_COLUMNS[LEADING_COLUMNS:]
    )


def write_rows(path: Path, rows: Sequence[dict], class_names: Sequence[str]) -> None:
    """Write every row through a temp file + rename, so a kill never leaves half a file."""
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns_for(class_names), extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)


def append_row(path: Path, row: dict, class_names: Sequence[str]) -> None:
    """Add a row to the CSV; an earlier row for the same (model, fold), which can only be an incomplete one,
    is replaced."""
    from filelock import FileLock

    same = (str(row["model"]), str(row["fold"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):  # two bench runs on one protocol never drop each other's rows
        rows = [r for r in read_rows(path) if (r.get("model"), r.get("fold")) != same] + [row]
        write_rows(path, rows, class_names)


def result_row(protocol: str, classes: str, label: str, fold: int, r: dict, suite: str = "") -> dict:
    """One CSV row from a fold's result (metrics, recall, confusion, cost), with the suite and the commit
    that made it."""
    return {
        "protocol": protocol,
        "classes": classes,
        "model": label,
        "fold": fold,
        "wa": f"{r['wa']:.4f}",
        "ua": f"{r['ua']:.4f}",
        "f1": f"{r['f1']:.4f}",
        **{f"recall_{c}": f"{v:.4f}" for c, v in r["recall"].items()},
        "val_ua": "" if r.get("val_ua") is None else f"{r['val_ua']:.4f}",
        "epochs": r["epochs"],
        "train_seconds": r["train_seconds"],
        "params": r["params"],
        "n_test": r["n_test"],
        "test_speakers": r["test_speakers"],
        "device": r["device"],
        "suite": suite,
        "git_commit": git_commit(),
        "config": r["config"],
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "confusion": json.dumps(r["confusion"]),
    }
