"""Waveform -> feature front-ends that run on the batch's device.

Features are computed inside the model (not in the data loader) so a GPU does the work and a checkpoint
carries its own front-end. Every front-end takes ``(wave[B, T] float32, lengths[B] | None)``, has a
``kind`` ("image" -> (B, C, F, frames), "sequence" -> (B, C, N), "vector" -> (B, D)) and
``output_shape(num_samples)``. Settings follow librosa's defaults for 16 kHz speech (n_fft 512, hop 160,
zero ``pad_mode="constant"`` centring) so features match librosa-based recipes; the tests check parity.
Filterbanks and windows are non-persistent buffers: they follow ``.to(device)`` but stay out of state dicts
(they are rebuilt from the constructor arguments, which the checkpoint's hyper-parameters hold).
"""

from __future__ import annotations

import contextlib
import inspect
import math
from collections.abc import Mapping
from typing import Any, Optional, Union

import librosa
import torch
import torch.nn.functional as F
import torchaudio.transforms as T
from torch import Tensor, nn

from ..errors import ConfigError

NORMALIZE = ("utterance", None)


def _transient_buffers(module: nn.Module) -> None:
    """Re-register every buffer (torchaudio's windows/filterbanks included) as non-persistent."""
    for m in module.modules():
        for name, buf in list(m.named_buffers(recurse=False)):
            m.register_buffer(name, buf, persistent=False)


def _check_normalize(name: str, normalize: Optional[str]) -> Optional[str]:
    if normalize not in NORMALIZE:
        raise ConfigError(f"front-end '{name}': normalize={normalize!r}; use one of {list(NORMALIZE)}")
    return normalize


def _frame_mask(
    lengths: Optional[Tensor], n_frames: int, hop_length: int, device: torch.device
) -> Optional[Tensor]:
    """(B, frames) True where a centred frame's centre lies in the valid part (librosa: 1 + len // hop frames)."""
    if lengths is None:
        return None
    valid = 1 + lengths.to(device=device, dtype=torch.long) // hop_length
    return torch.arange(n_frames, device=device) < valid[:, None]


def _utterance_norm(x: Tensor, mask: Optional[Tensor], eps: float = 1e-5) -> Tensor:
    """Per-example mean/std normalisation of (B, C, F, frames) over C, F and the valid frames only."""
    w = torch.ones_like(x) if mask is None else mask[:, None, None, :].to(x.dtype).expand_as(x)
    dims = tuple(range(1, x.dim()))
    n = w.sum(dims, keepdim=True).clamp_min(1.0)
    mean = (x * w).sum(dims, keepdim=True) / n
    std = (((x - mean) ** 2 * w).sum(dims, keepdim=True) / n).sqrt()
    return (x - mean) / (std + eps)


class FrontEnd(nn.Module):
    """Base class: runs ``features`` in float32 with autocast off (dB/log features lose precision in fp16)."""

    kind = "image"

    def forward(self, wave: Tensor, lengths: Optional[Tensor] = None) -> Tensor:
        dev = wave.device.type
        off = (
            torch.autocast(dev, enabled=False)
            if torch.amp.is_autocast_available(dev)
            else contextlib.nullcontext()
        )
        with off:
            return self.features(wave.float(), lengths)

    def features(self, wave: Tensor, lengths: Optional[Tensor]) -> Tensor:
        raise NotImplementedError

    def output_shape(self, num_samples: int) -> tuple[int, ...]:
        raise NotImplementedError


class _StftFrontEnd(FrontEnd):
    """Shared bits of the centred-STFT image front-ends: frame count and optional utterance normalisation."""

    hop_length: int
    normalize: Optional[str]

    def n_frames(self, num_samples: int) -> int:
        return 1 + num_samples // self.hop_length  # torch.stft / librosa with center=True

    def _finish(self, x: Tensor, lengths: Optional[Tensor]) -> Tensor:
        if self.normalize == "utterance":
            x = _utterance_norm(x, _frame_mask(lengths, x.shape[-1], self.hop_length, x.device))
        return x


class LogMel(_StftFrontEnd):
    """Log-mel power spectrogram in dB, (B, 1, n_mels, frames); librosa-compatible (slaney mel, top_db clamp)."""

    kind = "image"

    def __init__(
        self,
        sample_rate: int = 16000,
        n_fft: int = 512,
        win_length: Optional[int] = None,
        hop_length: int = 160,
        n_mels: int = 64,
        f_min: float = 0.0,
        f_max: Optional[float] = None,
        top_db: Optional[float] = 80.0,
        normalize: Optional[str] = "utterance",
    ):
        super().__init__()
        self.hop_length, self.n_mels = hop_length, n_mels
        self.normalize = _check_normalize("logmel", normalize)
        self.mel = T.MelSpectrogram(
            sample_rate=sample_rate,
            n_fft=n_fft,
            win_length=win_length,
            hop_length=hop_length,
            f_min=f_min,
            f_max=f_max,
            n_mels=n_mels,
            power=2.0,
            norm="slaney",
            mel_scale="slaney",
            center=True,
            pad_mode="constant",
        )
        # AmplitudeToDB clamps to max - top_db over its last three dims, so it is fed (B, 1, F, frames):
        # a 3-D (B, F, frames) input would clamp over the whole batch.
        self.to_db = T.AmplitudeToDB(stype="power", top_db=top_db)
        _transient_buffers(self)

    def features(self, wave: Tensor, lengths: Optional[Tensor]) -> Tensor:
        return self._finish(self.to_db(self.mel(wave).unsqueeze(1)), lengths)

    def output_shape(self, num_samples: int) -> tuple[int, ...]:
        return (1, self.n_mels, self.n_frames(num_samples))


class MFCC(_StftFrontEnd):
    """MFCCs (B, 1, n_mfcc, frames): DCT-II (ortho) of the top_db=80 log-mel, as librosa.feature.mfcc."""

    kind = "image"

    def __init__(
        self,
        sample_rate: int = 16000,
        n_mfcc: int = 40,
        n_fft: int = 512,
        hop_length: int = 160,
        n_mels: int = 64,
        normalize: Optional[str] = "utterance",
    ):
        super().__init__()
        self.hop_length, self.n_mfcc = hop_length, n_mfcc
        self.normalize = _check_normalize("mfcc", normalize)
        self.mfcc = T.MFCC(
            sample_rate=sample_rate,
            n_mfcc=n_mfcc,
            dct_type=2,
            norm="ortho",
            log_mels=False,
            melkwargs=dict(
                n_fft=n_fft,
                hop_length=hop_length,
                n_mels=n_mels,
                power=2.0,
                norm="slaney",
                mel_scale="slaney",
                center=True,
                pad_mode="constant",
            ),
        )
        _transient_buffers(self)

    def features(self, wave: Tensor, lengths: Optional[Tensor]) -> Tensor:
        # (B, 1, T) input keeps the built-in top_db=80 clamp per example (see LogMel).
        return self._finish(self.mfcc(wave.unsqueeze(1)), lengths)

    def output_shape(self, num_samples: int) -> tuple[int, ...]:
        return (1, self.n_mfcc, self.n_frames(num_samples))


class LinearSpectrogram(_StftFrontEnd):
    """Log-power linear-frequency spectrogram in dB, (B, 1, n_fft // 2 + 1, frames)."""

    kind = "image"

    def __init__(
        self,
        n_fft: int = 512,
        hop_length: int = 160,
        top_db: Optional[float] = 80.0,
        normalize: Optional[str] = "utterance",
    ):
        super().__init__()
        self.hop_length, self.n_fft = hop_length, n_fft
        self.normalize = _check_normalize("spectrogram", normalize)
        self.spec = T.Spectrogram(
            n_fft=n_fft, hop_length=hop_length, power=2.0, center=True, pad_mode="constant"
        )
        self.to_db = T.AmplitudeToDB(stype="power", top_db=top_db)
        _transient_buffers(self)

    def features(self, wave: Tensor, lengths: Optional[Tensor]) -> Tensor:
        return self._finish(self.to_db(self.spec(wave).unsqueeze(1)), lengths)

    def output_shape(self, num_samples: int) -> tuple[int, ...]:
        return (1, self.n_fft // 2 + 1, self.n_frames(num_samples))


class Chroma(_StftFrontEnd):
    """Chromagram (B, 1, n_chroma, frames): librosa's chroma filterbank on the power STFT, max-normalised per frame."""

    kind = "image"
    normalize = None

    def __init__(self, sample_rate: int = 16000, n_fft: int = 512, hop_length: int = 160, n_chroma: int = 12):
        super().__init__()
        self.hop_length, self.n_chroma = hop_length, n_chroma
        self.spec = T.Spectrogram(
            n_fft=n_fft, hop_length=hop_length, power=2.0, center=True, pad_mode="constant"
        )
        # torchaudio has no chroma filterbank; tuning=0 avoids librosa's per-clip tuning estimate.
        fb = librosa.filters.chroma(sr=sample_rate, n_fft=n_fft, n_chroma=n_chroma, tuning=0.0)
        self.register_buffer("fb", torch.as_tensor(fb, dtype=torch.float32), persistent=False)
        _transient_buffers(self)

    def features(self, wave: Tensor, lengths: Optional[Tensor]) -> Tensor:
        raw = torch.einsum("cf,bft->bct", self.fb, self.spec(wave))
        peak = raw.abs().amax(dim=1, keepdim=True)
        # librosa.util.normalize(norm=inf): frames whose peak is below float32 tiny are left unnormalised.
        peak = torch.where(peak < torch.finfo(raw.dtype).tiny, torch.ones_like(peak), peak)
        return (raw / peak).unsqueeze(1)

    def output_shape(self, num_samples: int) -> tuple[int, ...]:
        return (1, self.n_chroma, self.n_frames(num_samples))


class _FramedFrontEnd(FrontEnd):
    """Time-domain frame features, librosa-style: pad frame_length // 2 each side, frame, reduce."""

    kind = "sequence"
    pad_mode = "constant"

    def __init__(self, frame_length: int = 512, hop_length: int = 160):
        super().__init__()
        self.frame_length, self.hop_length = frame_length, hop_length

    def _padded(self, wave: Tensor) -> Tensor:
        half = self.frame_length // 2
        return F.pad(wave.unsqueeze(1), (half, half), mode=self.pad_mode).squeeze(1)

    def output_shape(self, num_samples: int) -> tuple[int, ...]:
        padded = num_samples + 2 * (self.frame_length // 2)
        return (1, 1 + (padded - self.frame_length) // self.hop_length)


class ZeroCrossingRate(_FramedFrontEnd):
    """Fraction of sign changes per frame, (B, 1, frames), as librosa.feature.zero_crossing_rate(center=True)."""

    pad_mode = "replicate"  # librosa pads with edge values here, not zeros
    threshold = 1e-10  # librosa.zero_crossings: |y| <= threshold counts as 0, and 0 counts as positive

    def features(self, wave: Tensor, lengths: Optional[Tensor]) -> Tensor:
        y = self._padded(wave)
        y = torch.where(y.abs() <= self.threshold, torch.zeros_like(y), y)
        neg = torch.signbit(y)
        cross = (neg[:, 1:] != neg[:, :-1]).to(wave.dtype)  # cross[j]: sign change between j and j + 1
        # A frame starting at s holds the crossings cross[s : s + frame_length - 1]; librosa divides by frame_length.
        counts = cross.unfold(-1, self.frame_length - 1, self.hop_length).sum(-1)
        return (counts / self.frame_length).unsqueeze(1)


class RMSEnergy(_FramedFrontEnd):
    """Root-mean-square energy per frame, (B, 1, frames), as librosa.feature.rms(center=True, pad_mode='constant')."""

    def features(self, wave: Tensor, lengths: Optional[Tensor]) -> Tensor:
        frames = self._padded(wave).unfold(-1, self.frame_length, self.hop_length)
        return frames.pow(2).mean(-1).sqrt().unsqueeze(1)


class ClipStats(FrontEnd):
    """Six per-clip statistics (seed 001), (B, 6), computed over each row's valid samples only.

    Order: [mean, variance, skewness, kurtosis, spectral-centroid mean (Hz), spectral-bandwidth mean (Hz)].
    Moments follow numpy/scipy defaults (biased variance, biased skew, Fisher kurtosis); silent clips give
    skew = kurtosis = 0 where scipy gives nan. Centroid and bandwidth follow librosa (magnitude STFT,
    ``pad_mode="constant"``) averaged over the 1 + length // hop frames of the valid part.
    """

    kind = "vector"
    FEATURES = ("mean", "variance", "skewness", "kurtosis", "centroid_mean", "bandwidth_mean")

    def __init__(self, sample_rate: int = 16000, n_fft: int = 512, hop_length: int = 160):
        super().__init__()
        self.hop_length = hop_length
        self.spec = T.Spectrogram(
            n_fft=n_fft, hop_length=hop_length, power=1.0, center=True, pad_mode="constant"
        )
        freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1)
        self.register_buffer("freqs", freqs[:, None], persistent=False)
        _transient_buffers(self)

    def features(self, wave: Tensor, lengths: Optional[Tensor]) -> Tensor:
        B, n_samples = wave.shape
        if lengths is None:
            lengths = torch.full((B,), n_samples, device=wave.device)
        lengths = lengths.to(device=wave.device, dtype=torch.long).clamp(0, n_samples)
        mask = (torch.arange(n_samples, device=wave.device) < lengths[:, None]).to(wave.dtype)
        x = wave * mask  # zero past the end: the valid part's own centred frames then see the same zeros
        n = lengths.clamp_min(1).to(wave.dtype)

        mean = x.sum(1) / n
        d = (x - mean[:, None]) * mask
        m2, m3, m4 = ((d**k).sum(1) / n for k in (2, 3, 4))
        ok = m2 > torch.finfo(wave.dtype).tiny
        safe = torch.where(ok, m2, torch.ones_like(m2))
        skew = torch.where(ok, m3 / safe**1.5, torch.zeros_like(m2))
        kurt = torch.where(ok, m4 / safe**2 - 3.0, torch.zeros_like(m2))

        S = self.spec(x)  # (B, F, frames) magnitude
        total = S.sum(1, keepdim=True)
        p = S / torch.where(
            total < torch.finfo(S.dtype).tiny, torch.ones_like(total), total
        )  # librosa normalize
        centroid = (self.freqs * p).sum(1)  # (B, frames)
        bandwidth = (p * (self.freqs - centroid[:, None]) ** 2).sum(1).sqrt()
        fmask = _frame_mask(lengths, S.shape[-1], self.hop_length, wave.device).to(wave.dtype)
        nf = fmask.sum(1)
        return torch.stack(
            [mean, m2, skew, kurt, (centroid * fmask).sum(1) / nf, (bandwidth * fmask).sum(1) / nf], 1
        )

    def output_shape(self, num_samples: int) -> tuple[int, ...]:
        return (len(self.FEATURES),)


class Concat(FrontEnd):
    """Flattens each part's features per example and joins them into one (B, 1, N) sequence (seed 000's 1-D nets).

    The default is seed 000's ExpoNet input: zero-crossing rate, RMS energy and a flattened 40-band log-mel.
    A single part (e.g. ``[{"name": "logmel", "n_mels": 40}]``) gives that feature flattened.
    """

    kind = "sequence"
    DEFAULT_PARTS = ({"name": "zcr"}, {"name": "rms"}, {"name": "logmel", "n_mels": 40, "normalize": None})

    def __init__(self, parts: Optional[list[Union[str, dict[str, Any]]]] = None):
        super().__init__()
        parts = list(self.DEFAULT_PARTS if parts is None else parts)
        if not parts:
            raise ConfigError("front-end 'concat' needs at least one part")
        self.parts = nn.ModuleList(create_frontend(p) for p in parts)

    def features(self, wave: Tensor, lengths: Optional[Tensor]) -> Tensor:
        return torch.cat([part(wave, lengths).flatten(1) for part in self.parts], 1).unsqueeze(1)

    def output_shape(self, num_samples: int) -> tuple[int, ...]:
        return (1, sum(math.prod(part.output_shape(num_samples)) for part in self.parts))


FRONTENDS: dict[str, type] = {
    "logmel": LogMel,
    "mfcc": MFCC,
    "spectrogram": LinearSpectrogram,
    "zcr": ZeroCrossingRate,
    "rms": RMSEnergy,
    "chroma": Chroma,
    "clip_stats": ClipStats,
    "concat": Concat,
}


def _register_pooled() -> None:
    from .pooled import ClipMeans  # built from the classes above, so registered after them

    FRONTENDS["clip_means"] = ClipMeans


_register_pooled()


def _register_pretrained() -> None:
    """Pretrained networks (CREPE, GE2E) and ``stack``; their packages are imported only when one is built."""
    from .crepe import CrepePitch
    from .ge2e import VoiceEmbedding
    from .stack import Stack

    FRONTENDS.update({"crepe_pitch": CrepePitch, "voice_embedding": VoiceEmbedding, "stack": Stack})


_register_pretrained()


def list_frontends() -> list[str]:
    return sorted(FRONTENDS)


def create_frontend(spec: Union[str, Mapping[str, Any]]) -> nn.Module:
    """Build a front-end from a name or ``{"name": ..., **kwargs}``; bad names/keys raise ConfigError naming them."""
    if isinstance(spec, str):
        name, kwargs = spec, {}
    elif isinstance(spec, Mapping):
        kwargs = dict(spec)
        name = kwargs.pop("name", None)
    else:
        raise ConfigError(f"front-end spec must be a name or a dict with 'name', got {spec!r}")
    cls = FRONTENDS.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ConfigError(f"unknown front-end {name!r}; use one of {list_frontends()}")
    valid = list(inspect.signature(cls).parameters)
    bad = sorted(set(kwargs) - set(valid))
    if bad:
        raise ConfigError(
            f"front-end {name!r} has no option {', '.join(map(repr, bad))}; valid options: {valid}"
        )
    return cls(**kwargs)
