"""Decode any audio file soundfile reads into 16 kHz mono float32, or fail with one clear line.

Resampling and down-mixing happen here (with a log note) so everything downstream can assume
one rate and one channel.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

from .errors import AudioError

log = logging.getLogger("ser_zoo")

#: Below this peak a clip carries no usable signal (int16 quantisation step is 3e-5).
SILENCE_PEAK = 1e-4
#: One analysis window of the default front-ends (512 samples at 16 kHz = 32 ms).
MIN_SAMPLES = 512


def audio_info(path: str | Path) -> sf._SoundFileInfo:
    """soundfile's header info, with missing/empty/non-audio files turned into AudioError."""
    path = Path(path)
    if not path.exists():
        raise AudioError(f"{path}: file not found; check the path")
    if path.is_dir():
        raise AudioError(f"{path}: is a folder, not an audio file; pass the files inside it")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: empty file (0 bytes); re-download or delete it")
    try:
        return sf.info(str(path))
    except Exception as e:  # libsndfile raises several types for non-audio input
        raise AudioError(
            f"{path}: not a readable audio file ({_short(e)}); use WAV, FLAC, OGG or Opus"
        ) from None


def load_audio(
    path: str | Path,
    sample_rate: int = 16000,
    max_seconds: float | None = 60.0,
    min_samples: int = MIN_SAMPLES,
    allow_silent: bool = False,
) -> np.ndarray:
    """Mono float32 samples at ``sample_rate``; raises AudioError naming the file and the fix."""
    path = Path(path)
    info = audio_info(path)
    seconds = info.frames / info.samplerate if info.samplerate else 0.0
    if max_seconds is not None and seconds > max_seconds:
        raise AudioError(
            f"{path}: {seconds:.0f} s long, over the {max_seconds:g} s limit for one clip; "
            "cut it into clips or classify it with windowed inference (ser-zoo infer)"
        )
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as e:
        raise AudioError(
            f"{path}: truncated or corrupt audio ({_short(e)}); re-download or delete it"
        ) from None
    if data.shape[0] == 0 or _wav_data_missing(path) or data.shape[0] < info.frames - rate // 100:
        raise AudioError(
            f"{path}: truncated (header promises {info.frames} frames, {data.shape[0]} decode); "
            "re-download it"
        )
    if not np.isfinite(data).all():
        raise AudioError(f"{path}: contains NaN or infinite samples; re-export it as PCM audio")
    return prepare_waveform(
        data, rate, sample_rate, name=str(path), min_samples=min_samples, allow_silent=allow_silent
    )


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
