"""Decode what libsndfile cannot (M4A, AAC, MP4, WebM, Matroska audio) through PyAV, which ships its own
FFmpeg libraries: ``pip install 'ser-zoo[av]'``.

Only ``ser_zoo.audio`` calls these; it checks the file exists first and turns every failure into one
``AudioError`` line. Samples come back as soundfile gives them: float32 ``(frames, channels)`` at the file's
own rate, so down-mixing and resampling stay in one place (``audio.prepare_waveform``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np

from .optional import import_optional


class AVInfo(NamedTuple):
    """What the container says; ``frames`` is estimated from its duration (codecs add a few priming
    samples)."""

    samplerate: int
    frames: int
    channels: int
    codec: str


def available() -> bool:
    """Whether PyAV is installed (checked without importing it)."""
    return importlib.util.find_spec("av") is not None


def _av():
    return import_optional("av", extra="av", feature="reading M4A, AAC, MP4 and WebM audio")


def probe(path: str | Path) -> AVInfo:
    """Rate, estimated length, channels and codec of the first audio stream; raises the decoder's own
    error (or ValueError when the file holds no audio stream)."""
    av = _av()
    with av.open(str(path), metadata_errors="ignore") as container:
        if not container.streams.audio:
            raise ValueError("no audio stream in the file")
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        if stream.duration is not None and stream.time_base is not None:
            seconds = float(stream.duration * stream.time_base)
        else:
            seconds = (container.duration or 0) / 1_000_000
        return AVInfo(
            ctx.sample_rate, int(round(seconds * ctx.sample_rate)), ctx.layout.nb_channels, ctx.name
        )


def chunks(path: str | Path) -> Iterator[np.ndarray]:
    """The first audio stream, decoded frame by frame, as float32 ``(frames, channels)`` arrays."""
    av = _av()
    with av.open(str(path), metadata_errors="ignore") as container:
        if not container.streams.audio:
            raise ValueError("no audio stream in the file")
        stream = container.streams.audio[0]
        planar = av.AudioResampler(format="fltp")  # keeps the rate and channel layout
        for frame in container.decode(stream):
            for out in planar.resample(frame):
                yield np.ascontiguousarray(out.to_ndarray().T, dtype=np.float32)
        for out in planar.resample(None):
            yield np.ascontiguousarray(out.to_ndarray().T, dtype=np.float32)


def read(path: str | Path) -> tuple[np.ndarray, int]:
    """The whole first audio stream as float32 ``(frames, channels)`` and its rate."""
    rate = probe(path).samplerate
    parts = list(chunks(path))
    if not parts:
        return np.zeros((0, 1), np.float32), rate
    return np.concatenate(parts), rate


def error_types() -> tuple[type[BaseException], ...]:
    """The exceptions a damaged or foreign file raises in PyAV."""
    av = _av()
    return (av.FFmpegError, ValueError, OSError, IndexError)
