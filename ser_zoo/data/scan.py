"""List a folder's files as audio to decode and the rest with a reason: no file is ever silently ignored.

``ser-zoo infer``, ``ser-zoo data check`` and the folder corpus source all scan folders this way, so a file
that one of them skips is skipped by all, with the same reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from ..audio import AUDIO_EXTENSIONS, FORMATS_TEXT


class Skipped(NamedTuple):
    """A file left out, and why (one line, without the path)."""

    path: str
    reason: str


class FolderScan(NamedTuple):
    """A folder's audio files (to decode; they may still fail) and the other files, each with a reason."""

    audio: list[Path]
    skipped: list[Skipped]


def not_audio_reason(path: Path) -> str:
    kind = f"'{path.suffix}' files" if path.suffix else "files without an extension"
    return f"not an audio file ({kind} are not read; use {FORMATS_TEXT})"


def scan_folder(folder: str | Path) -> FolderScan:
    """Every file under ``folder`` (recursively, sorted): audio by extension, the rest listed as skipped."""
    audio, skipped = [], []
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        if path.suffix.lower() in AUDIO_EXTENSIONS:
            audio.append(path)
        else:
            skipped.append(Skipped(str(path), not_audio_reason(path)))
    return FolderScan(audio, skipped)
