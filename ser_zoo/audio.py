"""Decode any audio file the installed decoders read into 16 kHz mono float32, or fail with one clear line.

libsndfile (soundfile) reads WAV, FLAC, OGG Vorbis/Opus, MP3 and AIFF; PyAV, an optional extra that ships its
own FFmpeg (``pip install 'ser-zoo[av]'``), reads M4A, AAC, MP4, WebM and Matroska audio. Resampling and
down-mixing happen here (with a log note) so everything downstream can assume one rate and one channel.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable, Iterator, NamedTuple, Optional, Sequence

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

from . import av_audio
from .errors import AudioError

log = logging.getLogger("ser_zoo")

#: Below this peak a clip carries no usable signal (int16 quantisation step is 3e-5).
SILENCE_PEAK = 1e-4
#: One analysis window of the default front-ends (512 samples at 16 kHz = 32 ms).
MIN_SAMPLES = 512

#: File types libsndfile decodes, by extension (MP3 from libsndfile 1.1 on).
SOUNDFILE_EXTENSIONS = (".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".aifc")
#: File types only FFmpeg decodes: read through PyAV (``pip install 'ser-zoo[av]'``).
PYAV_EXTENSIONS = (".m4a", ".aac", ".mp4", ".webm", ".mka")
#: Every file type ser-zoo tries to decode; a folder's other files are listed as skipped, never dropped.
AUDIO_EXTENSIONS = SOUNDFILE_EXTENSIONS + PYAV_EXTENSIONS
FORMATS_TEXT = "WAV, FLAC, OGG, Opus, MP3 or AIFF (M4A, AAC, MP4 or WebM with pip install 'ser-zoo[av]')"


class AudioInfo(NamedTuple):
    """A file's header: rate, length in frames (estimated by PyAV), channels, and which decoder reads it."""

    samplerate: int
    frames: int
    channels: int
    decoder: str  # "soundfile" or "pyav"


def audio_info(path: str | Path) -> AudioInfo:
    """The file's header, with missing/empty/non-audio files turned into AudioError."""
    path = Path(path)
    if not path.exists():
        raise AudioError(f"{path}: file not found; check the path")
    if path.is_dir():
        raise AudioError(f"{path}: is a folder, not an audio file; pass the files inside it")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: empty file (0 bytes); re-download or delete it")
    pyav_type = path.suffix.lower() in PYAV_EXTENSIONS
    if not pyav_type:
        try:
            info = sf.info(str(path))
            return AudioInfo(info.samplerate, info.frames, info.channels, "soundfile")
        except Exception as e:  # libsndfile raises several types for non-audio input
            soundfile_error = _short(e)
        if not av_audio.available():
            raise AudioError(
                f"{path}: not a readable audio file ({soundfile_error}); use {FORMATS_TEXT}"
            ) from None
    elif not av_audio.available():
        raise AudioError(
            f"{path}: {path.suffix.lower()[1:].upper()} audio needs PyAV; pip install 'ser-zoo[av]' "
            "(or convert it to WAV or FLAC)"
        )
    try:
        info = av_audio.probe(path)
    except av_audio.error_types() as e:
        reason = _short(e) if pyav_type else soundfile_error
        raise AudioError(f"{path}: not a readable audio file ({reason}); use {FORMATS_TEXT}") from None
    return AudioInfo(info.samplerate, info.frames, info.channels, "pyav")


def read_audio(path: str | Path, max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """The whole file as float32 ``(frames, channels)`` at its own rate; AudioError for anything unusable
    (missing, empty, not audio, over ``max_seconds``, truncated, NaN samples)."""
    path = Path(path)
    info = audio_info(path)
    seconds = info.frames / info.samplerate if info.samplerate else 0.0
    if max_seconds is not None and seconds > max_seconds:
        raise AudioError(
            f"{path}: {seconds:.0f} s long, over the {max_seconds:g} s limit for one clip; "
            f"cut it into clips, or classify it as a timeline (ser-zoo infer {path} --window 3) or by its "
            "speech segments (ser-zoo infer --vad)"
        )
    try:
        if info.decoder == "pyav":
            data, rate = av_audio.read(path)
        else:
            data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as e:
        raise AudioError(
            f"{path}: truncated or corrupt audio ({_short(e)}); re-download or delete it"
        ) from None
    soundfile_short = info.decoder == "soundfile" and (
        _wav_data_missing(path) or data.shape[0] < info.frames - rate // 100
    )
    if data.shape[0] == 0 or soundfile_short:
        raise AudioError(
            f"{path}: truncated (header promises {info.frames} frames, {data.shape[0]} decode); "
            "re-download it"
        )
    if not np.isfinite(data).all():
        raise AudioError(f"{path}: contains NaN or infinite samples; re-export it as PCM audio")
    return data, rate


def load_audio(
    path: str | Path,
    sample_rate: int = 16000,
    max_seconds: float | None = 60.0,
    min_samples: int = MIN_SAMPLES,
    allow_silent: bool = False,
) -> np.ndarray:
    """Mono float32 samples at ``sample_rate``; raises AudioError naming the file and the fix."""
    data, rate = read_audio(path, max_seconds)
    return prepare_waveform(
        data, rate, sample_rate, name=str(path), min_samples=min_samples, allow_silent=allow_silent
    )


def read_blocks(path: str | Path, blocksize: int, overlap: int = 0) -> Iterator[np.ndarray]:
    """float32 ``(frames, channels)`` blocks of ``blocksize`` frames at the file's rate, each overlapping the
    previous one by ``overlap``, read without holding the file in memory (the last block may be shorter), as
    ``soundfile.blocks`` gives them for files PyAV reads too."""
    info = audio_info(path)
    try:
        if info.decoder == "soundfile":
            yield from sf.blocks(
                str(path), blocksize=blocksize, overlap=overlap, dtype="float32", always_2d=True
            )
            return
        yield from _rebuffer(av_audio.chunks(path), blocksize, overlap, info.channels)
    except AudioError:
        raise
    except Exception as e:
        raise AudioError(
            f"{path}: truncated or corrupt audio ({_short(e)}); re-download or delete it"
        ) from None


def read_spans(
    path: str | Path, spans: Iterable[tuple[int, int]], blocksize: int = 1 << 20
) -> Iterator[np.ndarray]:
    """The samples of each ``(start, stop)`` frame span (sorted by start) in one pass over the file."""
    spans = list(spans)
    pending: list[np.ndarray] = []  # parts of the span being collected
    pos, k = 0, 0
    for block in read_blocks(path, blocksize):
        end = pos + len(block)
        while k < len(spans):
            start, stop = spans[k]
            if start >= end:
                break
            pending.append(block[max(0, start - pos) : max(0, min(stop, end) - pos)])
            if stop > end:
                break
            yield np.concatenate(pending)
            pending, k = [], k + 1
        pos = end
    if k < len(spans):
        yield np.concatenate(pending) if pending else np.zeros((0, 1), np.float32)


def _rebuffer(
    parts: Iterable[np.ndarray], blocksize: int, overlap: int, channels: int
) -> Iterator[np.ndarray]:
    """Decoder frames of any size regrouped into ``soundfile.blocks``' blocks."""
    buf = np.zeros((0, channels), np.float32)
    for part in parts:
        buf = np.concatenate([buf, part])
        while len(buf) >= blocksize:
            yield buf[:blocksize]
            buf = buf[blocksize - overlap :]
    if len(buf):
        yield buf


def prepare_waveform(
    data: np.ndarray,
    rate: int,
    sample_rate: int = 16000,
    name: str = "<waveform>",
    min_samples: int = MIN_SAMPLES,
    allow_silent: bool = False,
) -> np.ndarray:
    """Down-mix (frames, channels) or (frames,) audio, resample, and check it is usable."""
    data = np.asarray(data, dtype=np.float32)
    if data.ndim == 2:
        if data.shape[1] > 1:
            log.info("%s: %d channels averaged to mono", name, data.shape[1])
        data = data.mean(axis=1)
    if rate != sample_rate:
        log.info("%s: resampled %d Hz -> %d Hz", name, rate, sample_rate)
        data = AF.resample(torch.from_numpy(np.ascontiguousarray(data)), rate, sample_rate).numpy()
    if data.shape[0] < min_samples:
        raise AudioError(
            f"{name}: only {data.shape[0]} samples ({1000 * data.shape[0] / sample_rate:.0f} ms), "
            f"shorter than one {min_samples}-sample analysis window; use a longer clip"
        )
    if not allow_silent and float(np.abs(data).max()) < SILENCE_PEAK:
        raise AudioError(
            f"{name}: silent (peak below {SILENCE_PEAK:g}); nothing to classify, remove the clip"
        )
    return np.ascontiguousarray(data, dtype=np.float32)


def _wav_data_missing(path: Path) -> bool:
    """True when a WAV's data chunk declares more bytes than the file holds (libsndfile reads what is
    there)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return False
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            chunk, n = f.read(4), int.from_bytes(f.read(4), "little")
            if chunk == b"data":
                return pos + 8 + n > size
            pos += 8 + n + (n & 1)
    return False


def _short(e: Exception) -> str:
    return str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__


def centre_crop(wave: np.ndarray, width: int) -> np.ndarray:
    """The centre ``width`` samples of ``wave`` (all of it when shorter): the evaluation crop of the bench,
    so that inference and adaptation see a long clip as the bench tested it."""
    start = max(0, (len(wave) - width) // 2)
    return wave[start : start + width]


def pad_waves(waves: Sequence[np.ndarray], width: Optional[int] = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(``(B, width)`` float32 batch, ``(B,)`` lengths): mono waveforms zero-padded to ``width`` (default: the
    longest), as a model's ``forward(wave, lengths)`` takes them; none may be longer than ``width``."""
    lengths = torch.tensor([len(w) for w in waves])
    batch = torch.zeros(len(waves), width or int(lengths.max()))
    for i, w in enumerate(waves):
        batch[i, : len(w)] = torch.from_numpy(np.asarray(w, dtype=np.float32))
    return batch, lengths
