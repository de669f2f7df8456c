"""The no-speech gate of ``infer`` and ``listen``: Silero VAD decides whether a clip holds speech before any
emotion is named, since an emotion model names one for anything it is given (silence, a tone, music).

Rule: a clip or window holds speech when Silero, with its own defaults (``vad.SETTINGS``: threshold 0.5,
regions of at least 250 ms, 30 ms padding), finds at least ``MIN_SPEECH_S`` (0.25 s) of speech regions in it
and its highest chunk probability reaches the threshold (implied by any region; stated so the evidence reads
plainly). Silero's own minimum region length is the cut-off, so the gate says no more than Silero says: no
region, no speech. Measured on 3 s clips: digital silence max p 0.01, a 440 Hz tone 0.02, white noise 0.04,
a harmonic chord 0.03, all with 0 s of speech; a RAVDESS sentence reaches 1.00 with 1.4 s of speech. So the
default threshold separates them by a wide margin and needs no extra rule.

Every verdict carries its evidence (``SpeechEvidence``: seconds of speech, max and mean chunk probability, the
threshold) so a "no speech" answer can be checked. Silero runs on one thread: its 32 ms steps are too small
for intra-op threads, which only contend (measured: 16 clips of 3.5 s in 0.5 s on one thread, 2.6 s or more
on two of a busy two-core machine).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field, replace
from typing import Iterator, NamedTuple, Optional, Sequence

import numpy as np
import torch

from .data.vad import (
    CHUNK,
    SETTINGS,
    VAD_RATE,
    clip_speech_probs,
    load_vad,
    speech_bounds,
    speech_regions,
    stream_speech_probs,
)
from .errors import ConfigError
from .inference import predict_waveforms

NO_SPEECH = "no speech"
#: Least speech (seconds of Silero regions) for a clip to be classified; Silero's own min_speech_duration_ms.
MIN_SPEECH_S = SETTINGS["min_speech_duration_ms"] / 1000
GATE_MODES = ("auto", "on", "off")
MISSING_NOTE = (
    "note: no-speech check off: silero-vad is not installed (pip install 'ser-zoo[pretrained]'), so an "
    "emotion is named even where nobody speaks"
)


def under(value: float, limit: float, digits: int) -> float:
    """``value`` rounded to ``digits`` decimals, except that a value under ``limit`` is never shown as
    reaching it: then it is cut instead (0.2496 s of speech: 0.249 at 3 decimals, 0.24 at 2, not 0.25)."""
    rounded = round(value, digits)
    if value < limit <= rounded:
        return math.floor(value * 10**digits + 1e-9) / 10**digits  # the 1e-9: 0.57 * 100 is 56.99999...
    return rounded


@dataclass(frozen=True)
class SpeechEvidence:
    """What Silero found in one clip or window: seconds of speech regions, max and mean chunk probability;
    for a whole clip also ``bounds``, its [first speech start, last speech end) in its own samples, where a
    model trained on VAD-trimmed clips is given the clip cut (``answer``)."""

    speech_s: float
    max_prob: float
    mean_prob: float
    threshold: float = SETTINGS["threshold"]
    bounds: Optional[tuple[int, int]] = field(default=None, compare=False)

    @property
    def is_speech(self) -> bool:
        return self.speech_s >= MIN_SPEECH_S and self.max_prob >= self.threshold

    def as_dict(self) -> dict:
        """The JSON ``vad`` field (rounded: evidence for a reader, not a signal to recompute from; a value
        under its limit is cut, so the field compares with the limit as the gate did)."""
        return {
            "speech_s": under(self.speech_s, MIN_SPEECH_S, 3),
            "max_prob": under(self.max_prob, self.threshold, 3),
            "mean_prob": round(self.mean_prob, 3),
            "threshold": self.threshold,
            "min_speech_s": MIN_SPEECH_S,
        }

    @classmethod
    def from_dict(cls, vad: dict) -> SpeechEvidence:
        """The evidence back from a row's ``vad`` field."""
        return cls(vad["speech_s"], vad["max_prob"], vad["mean_prob"], vad["threshold"])

    def describe(self) -> str:
        """One line for tables and ``listen``, the comparisons spelled out:
        ``VAD: 0.00 s speech < 0.25 s, max p 0.04 < 0.5, mean p 0.01``."""

        def shown(value: float, limit: float) -> str:
            return f"{under(value, limit, 2):.2f}"  # never "0.25 < 0.25"

        def vs(value: float, limit: float) -> str:
            return f"{'<' if value < limit else '>='} {limit:g}"

        seconds = f"{shown(self.speech_s, MIN_SPEECH_S)} s speech {vs(self.speech_s, MIN_SPEECH_S)} s"
        peak = f"max p {shown(self.max_prob, self.threshold)} {vs(self.max_prob, self.threshold)}"
        return f"VAD: {seconds}, {peak}, mean p {self.mean_prob:.2f}"


def resolve_gate(mode: str) -> tuple[bool, Optional[str]]:
    """(gate on?, a note for stderr): ``auto`` is on when silero-vad is installed (an optional extra, so a
    plain install still classifies, saying so), ``on`` insists on it, ``off`` gives raw model output."""
    if mode not in GATE_MODES:
        raise ConfigError(f"--speech_gate {mode!r}; use auto, on or off")
    if mode == "off":
        return False, None
    try:
        load_vad()
    except ConfigError as e:
        if mode == "on":
            raise ConfigError(f"--speech_gate on: {e} (or pass --speech_gate off)") from None
        return False, MISSING_NOTE
    return True, None


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Torch on one intra-op thread for the block (Silero's recommendation), restored after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def evidence(probs: np.ndarray, regions: Sequence[tuple[int, int]], lo: int, hi: int) -> SpeechEvidence:
    """The evidence for the 16 kHz sample span [lo, hi) of a recording, from its chunk ``probs`` and speech
    ``regions`` (16 kHz samples): a window of a long file is judged by the file's one VAD pass."""
    p = np.asarray(probs)[lo // CHUNK : max(lo // CHUNK + 1, -(-hi // CHUNK))]
    speech = sum(max(0, min(e, hi) - max(s, lo)) for s, e in regions) / VAD_RATE
    return SpeechEvidence(speech, float(p.max()) if len(p) else 0.0, float(p.mean()) if len(p) else 0.0)


def check_waves(waves: Sequence[np.ndarray], sample_rate: int, batch_size: int = 64) -> list[SpeechEvidence]:
    """The evidence for each mono clip at ``sample_rate`` (Silero over batches: ``clip_speech_probs``)."""
    with one_thread():
        probs = clip_speech_probs(waves, sample_rate, batch_size)
    out = []
    for wave, (p, n16) in zip(waves, probs):
        regions = speech_regions(p.tolist(), n16)
        bounds = speech_bounds(regions, len(wave), sample_rate)
        out.append(replace(evidence(p, regions, 0, n16), bounds=bounds))
    return out


def gated_row(row: dict, ev: SpeechEvidence) -> dict:
    """A classified row with its evidence beside the existing keys (``speech: true``, ``vad``)."""
    return {**row, "speech": True, "vad": ev.as_dict()}


def no_speech_row(keys: dict, ev: SpeechEvidence) -> dict:
    """The row of a clip without speech: ``label`` "no speech", no emotion probabilities, the evidence."""
    return {**keys, "label": NO_SPEECH, "prob": None, "probs": None, "speech": False, "vad": ev.as_dict()}


class Track(NamedTuple):
    """One streamed VAD pass over a file: chunk probabilities, speech regions and length (16 kHz samples)."""

    probs: np.ndarray
    regions: list[tuple[int, int]]
    samples: int

    @property
    def seconds(self) -> float:
        return self.samples / VAD_RATE


def file_track(path) -> Track:
    """The VAD pass over a file of any length that the windows and segments of a long recording are judged
    from (one pass, not one per overlapping window)."""
    with one_thread():
        probs, total = stream_speech_probs(path)
    return Track(probs, speech_regions(probs.tolist(), total), total)


def span_evidence(track: Track, start_s: float, end_s: float) -> SpeechEvidence:
    """The evidence for seconds [start_s, end_s) of the file ``track`` was made from."""
    return evidence(track.probs, track.regions, int(round(start_s * VAD_RATE)), int(round(end_s * VAD_RATE)))


def model_input(wave: np.ndarray, ev: Optional[SpeechEvidence], trim: bool) -> np.ndarray:
    """What a model sees of a checked clip: cut to the speech the gate found when the model was trained on
    VAD-trimmed clips (``trim``), else the clip as it is."""
    if trim and ev is not None and ev.bounds is not None:
        return wave[ev.bounds[0] : ev.bounds[1]]
    return wave


def answer(
    model, keyed: Sequence[tuple[dict, np.ndarray]], checks: Sequence[Optional[SpeechEvidence]]
) -> list[dict]:
    """One row per (keys, waveform): the model's prediction for each clip with speech (or for every clip whose
    check is None: ungated), a "no speech" row for the others; the model never sees those. A model trained on
    VAD-trimmed clips (``model.vad_trim``) sees each checked clip cut to its speech, as in training."""
    talk = [i for i, ev in enumerate(checks) if ev is None or ev.is_speech]
    trim = getattr(model, "vad_trim", False)
    inputs = [model_input(keyed[i][1], checks[i], trim) for i in talk]
    preds = iter(predict_waveforms(model, inputs) if talk else [])
    rows = []
    for (keys, _), ev in zip(keyed, checks):
        if ev is not None and not ev.is_speech:
            rows.append(no_speech_row(keys, ev))
        else:
            row = {**keys, **next(preds)}
            rows.append(row if ev is None else gated_row(row, ev))
    return rows
