"""``ser-zoo data check``: what a corpus holds and what is wrong with it, before any training.

Counts, durations and sample rates per label and per speaker; then every file decoded once to find the
unreadable, silent, too short and clipped ones and identical audio under two labels; then what weakens or
blocks the protocol (speakers with a single label, labels with fewer speakers or clips than folds, a missing
speaker column). Errors are what stops ``fit``; the rest are warnings, and training skips unusable clips.
"""

from __future__ import annotations

import hashlib
import json
import statistics
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple, Optional, Sequence, Union

import numpy as np
from tqdm.auto import tqdm

from ..audio import MIN_SAMPLES, SILENCE_PEAK, read_audio
from ..errors import AudioError, ConfigError, error_reason
from .corpora import Clip
from .sources import as_list, class_names, keep_classes, read_sources
from .splits import check_protocol, get_protocol, with_folds

#: A clip counts as clipped when this share of its samples sits at full scale.
CLIPPED_SHARE = 0.001
FULL_SCALE = 0.999


class Decoded(NamedTuple):
    """One file, decoded at its own rate (``error`` set when it could not be)."""

    rate: int = 0
    channels: int = 0
    seconds: float = 0.0
    peak: float = 0.0
    clipped: float = 0.0  # share of samples at full scale
    digest: str = ""  # of the samples, to find the same audio under two labels
    error: str = ""


def decode(clip: Clip, max_seconds: float) -> Decoded:
    try:
        data, rate = read_audio(clip.path, max_seconds=max_seconds)
    except AudioError as e:
        return Decoded(error=error_reason(e, clip.path))
    mono = data.mean(axis=1)
    peak = float(np.abs(data).max()) if data.size else 0.0
    pcm = (np.clip(data, -1, 1) * 32767).astype(np.int16)
    return Decoded(
        rate=rate,
        channels=data.shape[1],
        seconds=len(mono) / rate,
        peak=peak,
        clipped=float((np.abs(data) >= FULL_SCALE).mean()),
        digest=hashlib.blake2b(pcm.tobytes(), digest_size=8).hexdigest(),
    )


def _problem(severity: str, check: str, detail: str, items: Sequence = ()) -> dict[str, Any]:
    return {"severity": severity, "check": check, "detail": detail, "items": list(items)}


def check_data(
    corpora: Union[str, Sequence[str]],
    root: Optional[str] = None,
    label_map: Optional[dict[str, str]] = None,
    classes: Optional[Union[str, Sequence[str]]] = None,
    protocol: Optional[str] = None,
    folds: int = 5,
    min_seconds: float = 0.5,
    max_seconds: float = 60.0,
    progress: bool = True,
) -> dict[str, Any]:
    """The report (a JSON-ready dict); ``ok`` is False where training cannot proceed."""
    from .clips import default_data_root

    table = read_sources(as_list(corpora), root or default_data_root(), label_map)
    clips = keep_classes(table.clips, class_names(table, classes, ""), say=False)
    problems: list[dict[str, Any]] = []
    if table.missing:
        problems.append(
            _problem("error", "missing", "files listed in a manifest do not exist", table.missing)
        )
    if table.skipped:
        problems.append(_problem("warning", "not read", "files that are not read", table.skipped))
    present = [c for c in clips if Path(c.path).is_file()]
    with ThreadPoolExecutor(4) as pool:
        decoded = list(
            tqdm(
                pool.map(lambda c: decode(c, max_seconds), present),
                total=len(present),
                desc="decoding",
                unit="file",
                disable=not progress,
            )
        )
    problems += _audio_problems(present, decoded, min_seconds)
    usable = [  # what training keeps: decodable, not silent, at least one analysis window at 16 kHz
        c
        for c, d in zip(present, decoded)
        if not d.error and d.peak >= SILENCE_PEAK and d.seconds * 16000 >= MIN_SAMPLES
    ]
    problems += _label_problems(usable, decoded, present)
    proto = _protocol(protocol, folds, usable)
    errors, warnings = check_protocol(usable, proto) if len({c.emotion for c in usable}) > 1 else ([], [])
    if len({c.emotion for c in usable}) < 2:
        errors = [f"{len({c.emotion for c in usable})} label(s) with readable clips; a classifier needs two"]
    problems += [_problem("error", "protocol", e) for e in errors]
    problems += [_problem("warning", "protocol", w) for w in warnings]
    good = {c.path: d for c, d in zip(present, decoded) if not d.error}
    return {
        "corpora": as_list(corpora),
        "clips": len(clips),
        "readable": len(good),
        "protocol": proto.name,
        "folds": proto.num_folds(usable) if not errors else None,
        "labels": _per(clips, good, lambda c: c.emotion),
        "speakers": _per(clips, good, lambda c: c.speaker or "(none)"),
        "durations": _durations([d.seconds for d in good.values()]),
        "sample_rates": dict(Counter(d.rate for d in good.values()).most_common()),
        "channels": dict(Counter(d.channels for d in good.values()).most_common()),
        "problems": problems,
        "ok": not any(p["severity"] == "error" for p in problems),
    }


def _protocol(name: Optional[str], folds: int, clips: Sequence[Clip]):
    """The protocol to check against: the one named, else speaker-kfold where speakers are known."""
    if name is None:
        name = "speaker-kfold" if clips and all(c.speaker for c in clips) else "random-split"
    proto = get_protocol(name)
    return with_folds(proto, folds) if name == "speaker-kfold" else proto


def _audio_problems(clips: Sequence[Clip], decoded: Sequence[Decoded], min_seconds: float) -> list[dict]:
    found = []
    unreadable = [(c.path, d.error) for c, d in zip(clips, decoded) if d.error]
    if unreadable:
        found.append(_problem("warning", "unreadable", "left out of training", unreadable))
    ok = [(c, d) for c, d in zip(clips, decoded) if not d.error]
    silent = [(c.path, f"peak {d.peak:.1e}") for c, d in ok if d.peak < SILENCE_PEAK]
    if silent:
        found.append(
            _problem("warning", "silent", f"peak below {SILENCE_PEAK:g}; left out of training", silent)
        )
    short = [
        (c.path, f"{d.seconds:.2f} s") for c, d in ok if d.seconds < max(min_seconds, MIN_SAMPLES / d.rate)
    ]
    if short:
        found.append(_problem("warning", "too short", f"under {min_seconds:g} s", short))
    clipped = [
        (c.path, f"{100 * d.clipped:.2f}% of samples at full scale")
        for c, d in ok
        if d.clipped >= CLIPPED_SHARE
    ]
    if clipped:
        found.append(
            _problem("warning", "clipped", f"over {100 * CLIPPED_SHARE:g}% of samples at full scale", clipped)
        )
    return found


def _label_problems(
    usable: Sequence[Clip], decoded: Sequence[Decoded], present: Sequence[Clip]
) -> list[dict]:
    found = []
    digest = {c.path: d.digest for c, d in zip(present, decoded)}
    same: dict[str, list[Clip]] = defaultdict(list)
    for c in usable:
        same[digest[c.path]].append(c)
    conflicts = [
        (" = ".join(c.path for c in group), " / ".join(sorted({c.emotion for c in group})))
        for group in same.values()
        if len({c.emotion for c in group}) > 1
    ]
    if conflicts:
        found.append(
            _problem("warning", "same audio, two labels", "identical audio under different labels", conflicts)
        )
    labels_of: dict[str, set[str]] = defaultdict(set)
    for c in usable:
        if c.speaker:
            labels_of[c.speaker].add(c.emotion)
    one_label = [(s, next(iter(labels))) for s, labels in sorted(labels_of.items()) if len(labels) == 1]
    if one_label and len({c.emotion for c in usable}) > 1:
        found.append(
            _problem(
                "warning",
                "speakers with one label",
                "a model can learn the voice instead of the emotion",
                one_label,
            )
        )
    return found


def _per(clips: Sequence[Clip], good: dict[str, Decoded], key) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for c in clips:
        row = rows.setdefault(
            key(c), {"clips": 0, "readable": 0, "seconds": 0.0, "labels": set(), "speakers": set()}
        )
        row["clips"] += 1
        if c.path in good:
            row["readable"] += 1
            row["seconds"] += good[c.path].seconds
        row["labels"].add(c.emotion)
        if c.speaker:
            row["speakers"].add(c.speaker)
    return {
        k: {
            **v,
            "seconds": round(v["seconds"], 2),
            "labels": len(v["labels"]),
            "speakers": len(v["speakers"]),
        }
        for k, v in sorted(rows.items())
    }


def _durations(seconds: list[float]) -> dict[str, float]:
    if not seconds:
        return {}
    return {
        "total": round(sum(seconds), 2),
        "min": round(min(seconds), 3),
        "median": round(statistics.median(seconds), 3),
        "max": round(max(seconds), 3),
    }


def format_check(report: dict[str, Any], fmt: str = "table", shown: int = 10) -> str:
    if fmt == "json":
        return json.dumps(report, indent=1)
    if fmt != "table":
        raise ConfigError(f"--format {fmt!r}; use table or json")
    speakers = len([s for s in report["speakers"] if s != "(none)"])
    lines = [
        f"data check: {', '.join(report['corpora'])}: {report['clips']} clips, {report['readable']} "
        f"readable, {len(report['labels'])} labels, {speakers} speakers"
    ]
    for title, rows, other in (
        ("label", report["labels"], "speakers"),
        ("speaker", report["speakers"], "labels"),
    ):
        width = max([len(title)] + [len(k) for k in rows])
        lines.append(f"{title:<{width}}  {'clips':>6} {'readable':>8} {other:>8} {'minutes':>8}")
        lines += [
            f"{k:<{width}}  {v['clips']:>6} {v['readable']:>8} {v[other]:>8} {v['seconds'] / 60:>8.1f}"
            for k, v in rows.items()
        ]
    d = report["durations"]
    if d:
        lines.append(
            f"durations: min {d['min']:.2f} s, median {d['median']:.2f} s, max {d['max']:.2f} s, "
            f"total {d['total'] / 3600:.2f} h"
        )
    lines.append(
        "sample rates: "
        + ", ".join(f"{r} Hz ({n})" for r, n in report["sample_rates"].items())
        + "; channels: "
        + ", ".join(f"{c} ({n})" for c, n in report["channels"].items())
    )
    for severity in ("error", "warning"):
        found = [p for p in report["problems"] if p["severity"] == severity]
        if found:
            lines.append(f"{severity}s:" if severity == "warning" else "errors (training cannot proceed):")
        for p in found:
            items = p["items"]
            lines.append(f"  {p['check']}: {p['detail']}" + (f" ({len(items)})" if items else ""))
            lines += [f"    {_item(i)}" for i in items[:shown]]
            if len(items) > shown:
                lines.append(f"    ... and {len(items) - shown} more (--format json lists all)")
    folds = f" ({report['folds']} folds)" if report["folds"] else ""
    lines.append(
        f"ok: training can proceed with {report['protocol']}{folds}"
        if report["ok"]
        else "not ok: fix the errors above before training"
    )
    return "\n".join(lines)


def _item(item: Any) -> str:
    return f"{item[0]}: {item[1]}" if isinstance(item, (list, tuple)) and len(item) == 2 else str(item)
