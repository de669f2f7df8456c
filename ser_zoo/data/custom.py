"""Your own corpus as clips: a folder of label folders, or a CSV/TSV/JSONL manifest.

A folder is ``<root>/<label>/*.wav`` or ``<root>/<label>/<speaker>/*.wav``; a manifest has the columns
``path`` and ``label`` and optionally ``speaker``, ``gender``, ``split`` and ``corpus``, its relative paths
resolved against the manifest's folder. Each clip is named (``Clip.key``) by its path relative to the folder
or the manifest, so caches keyed by it survive a moved or renamed corpus. Files that are not audio are listed
with a reason; manifest paths that do not exist are listed too (``fit`` stops on them, ``data check`` reports
them). A manifest that cannot be read as a table (missing columns, mixed separators, not UTF-8, Windows drive
paths, duplicate rows) fails with one line naming the line to fix.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path, PureWindowsPath
from typing import Iterable, NamedTuple, Optional

from ..errors import ConfigError, SerZooError
from .corpora import Clip
from .labels import EMOTIONS
from .scan import Skipped, scan_folder

MANIFEST_SUFFIXES = (".csv", ".tsv", ".jsonl")
COLUMNS = ("path", "label", "speaker", "gender", "split", "corpus")
SPLITS = {"train": "train", "val": "val", "valid": "val", "validation": "val", "dev": "val", "test": "test"}
GENDERS = {"m": "male", "male": "male", "man": "male", "f": "female", "female": "female", "woman": "female"}
LAYOUT = "<folder>/<label>/*.wav or <folder>/<label>/<speaker>/*.wav"


class Source(NamedTuple):
    """What one folder or manifest holds."""

    spec: str  # as given
    clips: list[Clip]
    skipped: list[Skipped]  # files that are not audio, or not inside a label folder
    missing: list[str]  # manifest entries whose file does not exist: "path (line N)"
    has_speakers: bool


def is_manifest(path: Path) -> bool:
    return path.suffix.lower() in MANIFEST_SUFFIXES


def corpus_name(text: str) -> str:
    """A corpus name safe in speaker ids and cache names."""
    return re.sub(r"[^\w.-]+", "_", text.strip()).strip("._") or "own"


def canonical_label(raw: str, label_map: dict[str, str]) -> str:
    """A label as the data module sees it: mapped by ``label_map`` (exact name first, then any case), or a
    vocabulary emotion in its lowercase spelling, or kept as written."""
    raw = raw.strip()
    lowered = {k.lower(): v for k, v in label_map.items()}
    mapped = label_map.get(raw, lowered.get(raw.lower(), raw))
    return mapped.lower() if mapped.lower() in EMOTIONS else mapped


def read_source(spec: str | Path, label_map: Optional[dict[str, str]] = None) -> Source:
    """The clips of a folder or manifest (see the module docstring for the layouts)."""
    path = Path(spec).expanduser()
    if not path.exists():
        raise SerZooError(
            f"{spec}: no such folder or manifest, and not a built-in corpus name (ravdess, crema_d, tess, "
            "savee); check the path"
        )
    if path.is_dir():
        return read_folder(path, label_map or {}, str(spec))
    if not is_manifest(path):
        raise ConfigError(
            f"{spec}: a corpus source is a folder ({LAYOUT}) or a manifest ending in "
            f"{', '.join(MANIFEST_SUFFIXES)}; got a '{path.suffix}' file"
        )
    return read_manifest(path, label_map or {}, str(spec))


# --- folders ----------------------------------------------------------------------------------------------
def read_folder(root: Path, label_map: dict[str, str], spec: str) -> Source:
    scan = scan_folder(root)
    name = corpus_name(Path(os.path.abspath(root)).name)
    by_depth: dict[bool, list[Path]] = {False: [], True: []}  # has a speaker folder?
    skipped = list(scan.skipped)
    for f in scan.audio:
        parts = f.relative_to(root).parts
        if len(parts) < 2:
            skipped.append(Skipped(str(f), f"not inside a label folder; lay the corpus out as {LAYOUT}"))
        else:
            by_depth[len(parts) > 2].append(f)
    flat, nested = by_depth[False], by_depth[True]
    if not flat and not nested:
        raise SerZooError(f"{spec}: no audio files found (layout: {LAYOUT}); check the folder")
    if flat and nested:
        raise ConfigError(
            f"{spec}: mixed layouts: {len(flat)} files sit directly in label folders "
            f"({flat[0].relative_to(root).as_posix()}) and {len(nested)} in speaker folders "
            f"({nested[0].relative_to(root).as_posix()}); use one of {LAYOUT}"
        )
    clips = []
    for f in flat or nested:
        parts = f.relative_to(root).parts
        speaker = f"{name}_{parts[1]}" if nested else ""
        clips.append(
            Clip(
                path=str(f),
                corpus=name,
                speaker=speaker,
                gender="unknown",
                emotion=canonical_label(parts[0], label_map),
                text=parts[0],  # the label as written, before label_map
                key=f.relative_to(root).as_posix(),
            )
        )
    return Source(spec, clips, skipped, [], bool(nested))


# --- manifests --------------------------------------------------------------------------------------------
def _text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise SerZooError(
            f"{path}: not UTF-8 text (byte 0x{data[e.start]:02x} on line {line}); save it as UTF-8"
        ) from None


def _rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line number, row with lowercase column names) of a CSV, TSV or JSONL manifest."""
    text = _text(path)
    if path.suffix.lower() == ".jsonl":
        rows = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise SerZooError(
                    f"{path}: line {n} is not JSON ({e.msg}); write one object per line"
                ) from None
            if not isinstance(row, dict):
                raise SerZooError(f"{path}: line {n} is not a JSON object; write one object per line")
            rows.append((n, {str(k).strip().lower(): "" if v is None else str(v) for k, v in row.items()}))
        return rows
    lines = text.splitlines()
    header_at = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_at is None:
        raise SerZooError(f"{path}: empty manifest; write a header (path,label,...) and one row per clip")
    header = lines[header_at]
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    if delimiter not in header:
        delimiter = next((d for d in (",", "\t", ";") if d in header), delimiter)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    columns: Optional[list[str]] = None
    rows = []
    for fields in reader:
        n = reader.line_num
        if not any(f.strip() for f in fields):
            continue
        if columns is None:
            columns = [c.strip().lower() for c in fields]
            continue
        if len(fields) != len(columns):
            shown = {"\t": "tab", ",": "','", ";": "';'"}[delimiter]
            raise SerZooError(
                f"{path}: line {n} has {len(fields)} fields but the header has {len(columns)} (separated by "
                f"{shown}); use one separator throughout, and quote fields that contain it"
            )
        rows.append((n, dict(zip(columns, fields))))
    return rows


def _resolve(raw: str, base: Path, where: str) -> Path:
    """A manifest path: backslashes read as folder separators, relative ones against the manifest's folder."""
    text = raw.strip()
    if PureWindowsPath(text).drive:
        raise SerZooError(
            f"{where}: Windows path '{text}' with a drive; write paths relative to the manifest "
            "(e.g. angry/clip01.wav) or as absolute paths of this machine"
        )
    p = Path(text.replace("\\", "/")).expanduser()
    return p if p.is_absolute() else base / p


def _check_columns(path: Path, columns: Iterable[str]) -> None:
    found = list(columns)
    missing = [c for c in ("path", "label") if c not in found]
    if missing:
        raise SerZooError(
            f"{path}: no {' or '.join(repr(c) for c in missing)} column (columns found: {', '.join(found)}); "
            f"a manifest needs path and label, optionally {', '.join(COLUMNS[2:])}"
        )


def read_manifest(path: Path, label_map: dict[str, str], spec: str) -> Source:
    rows = _rows(path)
    if not rows:
        raise SerZooError(f"{spec}: the manifest lists no clips; add one row per clip")
    _check_columns(path, rows[0][1])
    base, default_corpus = Path(os.path.abspath(path)).parent, corpus_name(path.stem)
    has_speakers = "speaker" in rows[0][1]
    clips, missing, seen, blank_speakers = [], [], {}, []
    for n, row in rows:
        where = f"{path} line {n}"
        if not row.get("path", "").strip() or not row.get("label", "").strip():
            raise SerZooError(f"{where}: empty path or label; every row needs both")
        file = _resolve(row["path"], base, where)
        key = _relative_key(file, base)
        if key in seen:
            raise SerZooError(
                f"{path}: line {n} repeats the file of line {seen[key]} ({row['path'].strip()}); list each "
                "clip once"
            )
        seen[key] = n
        if not file.is_file():
            missing.append(f"{row['path'].strip()} (line {n})")
        speaker = row.get("speaker", "").strip()
        if has_speakers and not speaker:
            blank_speakers.append(n)
        split = row.get("split", "").strip().lower()
        if "split" in row and split not in SPLITS:
            raise SerZooError(
                f"{where}: split '{row['split']}'; use train, val or test (valid, validation, dev mean val)"
            )
        corpus = corpus_name(row["corpus"]) if row.get("corpus", "").strip() else default_corpus
        gender = row.get("gender", "").strip().lower()
        clips.append(
            Clip(
                path=str(file),
                corpus=corpus,
                speaker=f"{corpus}_{speaker}" if speaker else "",
                gender=GENDERS.get(gender, gender or "unknown"),
                emotion=canonical_label(row["label"], label_map),
                text=row["label"].strip(),
                key=key,
                split=SPLITS.get(split, ""),
            )
        )
    if blank_speakers:
        lines = ", ".join(map(str, blank_speakers[:5])) + (" ..." if len(blank_speakers) > 5 else "")
        raise SerZooError(
            f"{path}: the speaker column is empty on {len(blank_speakers)} rows (lines {lines}); give every "
            "row a speaker, or drop the column (then only random-split runs)"
        )
    return Source(spec, clips, [], missing, has_speakers)


def _relative_key(file: Path, base: Path) -> str:
    """The clip's name: its path beside the manifest (``../`` where it lies outside), with '/' separators."""
    return Path(os.path.relpath(os.path.abspath(file), base)).as_posix()
