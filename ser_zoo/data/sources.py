"""``data.corpora``: built-in corpus names and your own folders or manifests, read into one clip table, and
the class set that table is trained on.

A name the built-in readers know (ravdess, crema_d, tess, savee) is read from the data root; anything else is
a folder or manifest path (``data/custom.py``). ``data.label_map`` renames labels (yours onto the emotion
vocabulary, or any names you like; a built-in corpus's too, e.g. ``{calm: neutral}``); ``data.classes`` picks
and orders the classes, else every label found.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import NamedTuple, Optional, Sequence, Union

from ..errors import ConfigError
from .corpora import READERS, Clip, read_corpus
from .custom import canonical_label, read_source
from .labels import EMOTIONS, resolve_classes
from .scan import Skipped

log = logging.getLogger("ser_zoo")


class ClipTable(NamedTuple):
    """Every clip of the sources (before the class filter), and what could not be listed."""

    clips: list[Clip]
    skipped: list[Skipped]  # files in your folders that are not audio, or not inside a label folder
    missing: list[str]  # manifest entries whose file does not exist
    custom: bool  # a folder or manifest is among the sources
    without_speakers: list[str]  # sources with no speaker folders or column
    relabelled: bool = False  # a label map was applied


def is_builtin(spec: str) -> bool:
    return spec in READERS


def as_list(corpora: Union[str, Sequence[str], None]) -> list[str]:
    """``--data.corpora PATH`` (one string) or a list."""
    if corpora is None:
        return []
    return [corpora] if isinstance(corpora, (str, Path)) else [str(c) for c in corpora]


def read_sources(
    corpora: Sequence[str], root: Union[str, Path], label_map: Optional[dict[str, str]] = None
) -> ClipTable:
    """The clips of every source, with the label map applied."""
    label_map = dict(label_map or {})
    clips: list[Clip] = []
    skipped: list[Skipped] = []
    missing: list[str] = []
    without: list[str] = []
    owner: dict[str, str] = {}  # corpus name -> the source it came from
    raw_labels: set[str] = set()
    custom = False
    for spec in corpora:
        if is_builtin(spec):
            found, names = read_corpus(spec, root), {spec}
            raw_labels |= {c.emotion for c in found}
            if label_map:  # e.g. {calm: neutral} merges two of a built-in corpus's classes
                found = [dataclasses.replace(c, emotion=canonical_label(c.emotion, label_map)) for c in found]
        else:
            custom = True
            source = read_source(spec, label_map)
            found, names = source.clips, {c.corpus for c in source.clips}
            skipped += source.skipped
            missing += source.missing
            raw_labels |= {c.text for c in found}
            if not source.has_speakers:
                without.append(spec)
        for name in sorted(names):
            if name in owner:
                raise ConfigError(
                    f"data.corpora: {owner[name]} and {spec} are both corpus '{name}'; rename a folder or "
                    "manifest, or set a corpus column"
                )
            owner[name] = spec
        clips += found
    unknown = [
        k for k in label_map if k not in raw_labels and k.lower() not in {r.lower() for r in raw_labels}
    ]
    if unknown:
        raise ConfigError(
            f"data.label_map renames {unknown}, but no clip carries that label; "
            f"labels found: {sorted(raw_labels)}"
        )
    return ClipTable(clips, skipped, missing, custom, without, bool(label_map))


def labels_found(clips: Sequence[Clip]) -> list[str]:
    """The labels of ``clips``: vocabulary emotions in their canonical order, then the others sorted."""
    found = {c.emotion for c in clips}
    return [e for e in EMOTIONS if e in found] + sorted(found - set(EMOTIONS))


def class_names(table: ClipTable, classes: Union[str, Sequence[str], None], default: str) -> tuple[str, ...]:
    """The class set: ``classes`` (a set name or a list), else the protocol's ``default`` set, else (your
    own data, relabelled data, or a protocol without a set) every label found. Your own data must carry each
    class asked for."""
    found = labels_found(table.clips)
    if classes is None:
        from_data = table.custom or table.relabelled or not default
        names = tuple(found) if from_data else resolve_classes(default)
    elif table.custom and not isinstance(classes, str):
        names = tuple(classes)
    else:
        names = resolve_classes(classes)
    absent = [c for c in names if c not in found]
    if table.custom and absent:
        raise ConfigError(f"unknown label {absent} in data.classes; labels found: {found}")
    if len(names) < 2:
        raise ConfigError(
            f"only one class ({', '.join(names) or 'none'}); labels found: {found}: "
            "a classifier needs two or more"
        )
    return names


def keep_classes(clips: Sequence[Clip], names: Sequence[str], say: bool) -> list[Clip]:
    """The clips of the class set; with ``say``, a note of the labels left out (your own data)."""
    keep = set(names)
    dropped = sorted({c.emotion for c in clips if c.emotion not in keep})
    if dropped and say:
        n = sum(c.emotion not in keep for c in clips)
        log.warning("data.classes leaves out %d clips labelled %s", n, ", ".join(dropped))
    return [c for c in clips if c.emotion in keep]
