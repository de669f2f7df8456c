"""``ser-zoo infer`` with a speaker-normalised model: files grouped into speakers, each group classified
together.

A speaker-normalised classifier standardises every clip by its speaker's statistics, so ``infer`` must know
which files share a voice: ``--speaker_by folder`` (the default: each file's parent folder is one speaker, the
layout of most corpora and of a user's recordings sorted by person) or ``all`` (every file given is one
speaker). Files without speech (the no-speech gate) are answered as such and take no part in their speaker's
statistics; a speaker left with fewer than ``MIN_SPEAKER_CLIPS`` clips with speech has its files reported and
skipped, never classified on statistics too thin to mean anything.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from tqdm.auto import tqdm

from .audio import load_audio
from .batch_answers import RetryingBatches, failure, not_classified
from .errors import AudioError, ConfigError, error_reason
from .models.speaker_normalized import ADVISED_SPEAKER_CLIPS, MIN_SPEAKER_CLIPS
from .speech_gate import SpeechEvidence, check_waves, gated_row, model_input, no_speech_row

SPEAKER_BY = ("folder", "all")


def speaker_of(path: Path, by: str) -> str:
    """The speaker a file is taken to be: its parent folder, or one speaker for everything."""
    if by not in SPEAKER_BY:
        raise ConfigError(f"--speaker_by {by!r}; use one of {list(SPEAKER_BY)}")
    return str(path.parent) if by == "folder" else "all"


def speaker_vectors(
    model,
    paths: Sequence[Path],
    members: list[int],
    speaker: str,
    rows: dict[int, dict],
    bad: list[tuple[str, str]],
    batch_size: int,
    max_seconds: float,
    speech_gate: bool,
) -> list[tuple[int, np.ndarray, Optional[SpeechEvidence]]]:
    """(file index, clip vector, evidence) for each of a speaker's files with speech, read a batch at a time
    (memory holds vectors, not audio); a file without speech gets its "no speech" row in ``rows``, an
    unreadable one or one whose vector fails alone (``RetryingBatches``) its reason in ``bad``."""
    sr = model.sample_rate

    def vectors(items):
        out = model.vectors([w for _, w, _ in items], batch_size, trimmed=speech_gate)
        return [(i, v, ev) for (i, _, ev), v in zip(items, out)]

    talk = RetryingBatches(vectors, batch_size, lambda item, e: bad.append((str(paths[item[0]]), failure(e))))
    for start in range(0, len(members), batch_size):
        waves, keep = [], []
        for i in members[start : start + batch_size]:
            try:
                waves.append(load_audio(paths[i], sr, max_seconds=max_seconds, allow_silent=speech_gate))
                keep.append(i)
            except AudioError as e:
                bad.append((str(paths[i]), error_reason(e, paths[i])))
        checks = check_waves(waves, sr) if speech_gate and waves else [None] * len(waves)
        for i, wave, ev in zip(keep, waves, checks):
            if ev is not None and not ev.is_speech:
                rows[i] = {**no_speech_row({"file": str(paths[i])}, ev), "speaker": speaker}
            else:
                talk.add((i, model_input(wave, ev, model.vad_trim), ev))
    talk.flush()
    return talk.answers


def classify_speakers(
    model,
    paths: Sequence[Path],
    speaker_by: str = "folder",
    batch_size: int = 16,
    max_seconds: float = 60.0,
    progress: bool = True,
    speech_gate: bool = False,
) -> tuple[list[dict], list[tuple[str, str]], list[str]]:
    """(one row per good file in input order, each with its ``speaker``; [(file, reason)] skipped; notes for
    stderr). Each speaker's clips with speech are classified together by ``model``
    (a ``SpeakerNormalizedClassifier``)."""
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(paths):
        groups.setdefault(speaker_of(Path(p), speaker_by), []).append(i)
    rows: dict[int, dict] = {}
    bad: list[tuple[str, str]] = []
    notes: list[str] = []
    try:
        for speaker, members in tqdm(groups.items(), desc="speakers", unit="speaker", disable=not progress):
            talk = speaker_vectors(
                model, paths, members, speaker, rows, bad, batch_size, max_seconds, speech_gate
            )
            if len(talk) < MIN_SPEAKER_CLIPS:
                why = (
                    f"speaker '{speaker}' has {len(talk)} clip(s) with speech; a speaker-normalised "
                    f"model needs at least {MIN_SPEAKER_CLIPS} of one voice (put each speaker's files in one "
                    "folder, or --speaker_by all for one speaker)"
                )
                bad += [(str(paths[i]), why) for i, _, _ in talk]
                continue
            if len(talk) < ADVISED_SPEAKER_CLIPS:
                notes.append(
                    f"note: speaker '{speaker}': {len(talk)} clips; {ADVISED_SPEAKER_CLIPS} or more of mixed "
                    "emotions make its statistics steadier"
                )
            probs = model.probabilities(np.stack([v for _, v, _ in talk]), [speaker] * len(talk))
            for (i, _, ev), p in zip(talk, probs):
                row = {"file": str(paths[i]), "speaker": speaker, **model.row(np.asarray(p))}
                rows[i] = row if ev is None else gated_row(row, ev)
    except KeyboardInterrupt:
        # the speakers done keep their rows; a speaker is classified whole or not at all
        told = {f for f, _ in bad}
        bad += [
            (str(p), not_classified()) for i, p in enumerate(paths) if i not in rows and str(p) not in told
        ]
    return [rows[i] for i in sorted(rows)], bad, notes


class LiveVoice:
    """``listen`` with a speaker-normalised model: one voice at the microphone, its statistics built up from
    the vectors of the speech windows heard so far (the last ``capacity``), each new window standardised by
    them. Overlapping windows repeat the same speech, so the first emotion waits until the windows heard span
    ``MIN_SPEAKER_CLIPS`` windows' worth of distinct speech (15 windows for a 3 s window every 1 s)."""

    def __init__(self, model, window_s: float, hop_s: float, capacity: int = 600):
        self.model = model
        self.need = MIN_SPEAKER_CLIPS * max(1, int(np.ceil(window_s / hop_s - 1e-9)))
        self.vectors: deque[np.ndarray] = deque(maxlen=max(capacity, self.need))

    def classify(self, wave: np.ndarray, trimmed: bool) -> Optional[dict]:
        """The window's row (``label``, ``prob``, ``probs``), or None while the voice is being learnt."""
        self.vectors.append(self.model.vectors([wave], trimmed=trimmed)[0])
        if len(self.vectors) < self.need:
            return None
        probs = self.model.probabilities(np.stack(self.vectors), ["live"] * len(self.vectors))
        return self.model.row(probs[-1])

    def learning(self) -> str:
        return f"learning your voice ({len(self.vectors)}/{self.need} speech windows)"
