"""Waveform -> feature front-ends that run on the batch's device: spectrogram images, frame features, clip
statistics.

Features are computed inside the model (not in the data loader) so a GPU does the work and a checkpoint
carries its own front-end. Every front-end takes ``(wave[B, T] float32, lengths[B] | None)``, has a
``kind`` ("image" -> (B, C, F, frames), "sequence" -> (B, C, N), "vector" -> (B, D)) and
``output_shape(num_samples)`` (see :class:`~ser_zoo.features.base.FrontEnd`). Settings follow librosa's
defaults for 16 kHz speech (n_fft 512, hop 160, zero ``pad_mode="constant"`` centring) so features match
librosa-based recipes; the tests check parity. Filterbanks and windows are non-persistent buffers: they follow
``.to(device)`` but stay out of state dicts (they are rebuilt from the constructor arguments, which the
checkpoint's hyper-parameters hold).
"""

from __future__ import annotations

import math
from typing import Any, Optional, Union

import librosa
import torch
import torch.nn.functional as F
import torchaudio.transforms as T
from torch import Tensor, nn

from ..errors import ConfigError
from .base import FrontEnd
from .functional import (
    LIBROSA_MEL,
    STFT_NORMALIZE,
    band_norm,
    check_normalize,
    frame_mask,
    transient_buffers,
    utterance_norm,
)
from .registry import create_frontend, register_frontend


class _StftFrontEnd(FrontEnd):
    """Shared bits of the centred-STFT image front-ends: frame count and optional utterance normalisation."""

    hop_length: int
    normalize: Optional[str]

    def n_frames(self, num_samples: int) -> int:
        return 1 + num_samples // self.hop_length  # torch.stft / librosa with center=True

    def _finish(self, x: Tensor, lengths: Optional[Tensor]) -> Tensor:
        if self.normalize is None:
            return x
        mask = frame_mask(lengths, x.shape[-1], self.hop_length, x.device)
        if self.normalize == "utterance":
            return utterance_norm(x, mask)
        b, c, f, t = x.shape  # "band": each channel's frequency row over the clip's valid frames
        return band_norm(x.reshape(b, c * f, t), mask).reshape(b, c, f, t)


@register_frontend("logmel")
class LogMel(_StftFrontEnd):
    """Log-mel power spectrogram in dB, librosa-compatible (slaney mel, ``top_db`` floor per example).

    Args:
        sample_rate (int, optional): Sample rate of the waveform in Hz. (Default: ``16000``)
        n_fft (int, optional): FFT size. (Default: ``512``)
        win_length (int or None, optional): Hann window length; None uses ``n_fft``. (Default: ``None``)
        hop_length (int, optional): Samples between frames. (Default: ``160``)
        n_mels (int, optional): Number of mel bands. (Default: ``64``)
        f_min (float, optional): Lowest mel frequency in Hz. (Default: ``0.0``)
        f_max (float or None, optional): Highest mel frequency in Hz; None is ``sample_rate / 2``.
            (Default: ``None``)
        top_db (float or None, optional): Each example's floor, ``top_db`` below its own maximum; None keeps
            every value. (Default: ``80.0``)
        normalize (str or None, optional): ``"utterance"`` standardises each example over its valid frames;
            ``"band"`` each frequency row over them (removes a channel's fixed colouring); None leaves
            dB values. (Default: ``"utterance"``)

    Shape:
        - wave: (B, T) and lengths: (B,) or None.
        - output: (B, 1, n_mels, 1 + T // hop_length).

    Example:
        >>> fe = LogMel(n_mels=64)
        >>> fe(torch.randn(2, 16000), torch.tensor([16000, 12000])).shape
        torch.Size([2, 1, 64, 101])
        >>> fe.output_shape(16000)
        (1, 64, 101)
    """

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
        self.normalize = check_normalize("logmel", normalize, STFT_NORMALIZE)
        self.mel = T.MelSpectrogram(
            sample_rate=sample_rate,
            n_fft=n_fft,
            win_length=win_length,
            hop_length=hop_length,
            f_min=f_min,
            f_max=f_max,
            n_mels=n_mels,
            **LIBROSA_MEL,
        )
        # AmplitudeToDB clamps to max - top_db over its last three dims, so it is fed (B, 1, F, frames):
        # a 3-D (B, F, frames) input would clamp over the whole batch.
        self.to_db = T.AmplitudeToDB(stype="power", top_db=top_db)
        transient_buffers(self)

    def features(self, wave: Tensor, lengths: Optional[Tensor]) -> Tensor:
        return self._finish(self.to_db(self.mel(wave).unsqueeze(1)), lengths)

    def output_shape(self, num_samples: int) -> tuple[int, ...]:
        return (1, self.n_mels, self.n_frames(num_samples))


@register_frontend("mfcc")
class MFCC(_StftFrontEnd):
    """MFCCs: the orthonormal DCT-II of the ``top_db=80`` log-mel, as ``librosa.feature.mfcc``.

    Args:
        sample_rate (int, optional): Sample rate of the waveform in Hz. (Default: ``16000``)
        n_mfcc (int, optional): Number of coefficients kept. (Default: ``40``)
        n_fft (int, optional): FFT size. (Default: ``512``)
        hop_length (int, optional): Samples between frames. (Default: ``160``)
        n_mels (int, optional): Number of mel bands under the DCT. (Default: ``64``)
        normalize (str or None, optional): ``"utterance"`` standardises each example over its valid frames;
            ``"band"`` each frequency row over them (removes a channel's fixed colouring); None leaves
            the raw coefficients. (Default: ``"utterance"``)

    Shape:
        - wave: (B, T) and lengths: (B,) or None.
        - output: (B, 1, n_mfcc, 1 + T // hop_length).

    Example:
        >>> fe = MFCC(n_mfcc=13)
        >>> fe(torch.randn(2, 16000)).shape
        torch.Size([2, 1, 13, 101])
    """

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
        self.normalize = check_normalize("mfcc", normalize, STFT_NORMALIZE)
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
                **LIBROSA_MEL,
            ),
        )
        transient_buffers(self)

    def features(self, wave: Tensor, lengths: Optional[Tensor]) -> Tensor:
        # (B, 1, T) input keeps the built-in top_db=80 clamp per example (see LogMel).
        return self._finish(self.mfcc(wave.unsqueeze(1)), lengths)

    def output_shape(self, num_samples: int) -> tuple[int, ...]:
        return (1, self.n_mfcc, self.n_frames(num_samples))


@register_frontend("spectrogram")
class LinearSpectrogram(_StftFrontEnd):
    """Log-power linear-frequency spectrogram in dB (Hann window, ``top_db`` floor per example).

    Args:
        n_fft (int, optional): FFT size; gives ``n_fft // 2 + 1`` frequency rows. (Default: ``512``)
        hop_length (int, optional): Samples between frames. (Default: ``160``)
        top_db (float or None, optional): Each example's floor, ``top_db`` below its own maximum; None keeps
            every value. (Default: ``80.0``)
        normalize (str or None, optional): ``"utterance"`` standardises each example over its valid frames;
            ``"band"`` each frequency row over them (removes a channel's fixed colouring); None leaves
            dB values. (Default: ``"utterance"``)

    Shape:
        - wave: (B, T) and lengths: (B,) or None.
        - output: (B, 1, n_fft // 2 + 1, 1 + T // hop_length).

    Example:
        >>> fe = LinearSpectrogram()
        >>> fe(torch.randn(2, 16000)).shape
        torch.Size([2, 1, 257, 101])
    """

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
        self.normalize = check_normalize("spectrogram", normalize, STFT_NORMALIZE)
        self.spec = T.Spectrogram(
            n_fft=n_fft, hop_length=hop_length, power=2.0, center=True, pad_mode="constant"
        )
        self.to_db = T.AmplitudeToDB(stype="power", top_db=top_db)
        transient_buffers(self)

    def features(self, wave: Tensor, lengths: Optional[Tensor]) -> Tensor:
        return self._finish(self.to_db(self.spec(wave).unsqueeze(1)), lengths)

    def output_shape(self, num_samples: int) -> tuple[int, ...]:
        return (1, self.n_fft // 2 + 1, self.n_frames(num_samples))


@register_frontend("chroma")
class Chroma(_StftFrontEnd):
    """Chromagram: librosa's chroma filterbank on the power STFT, max-normalised per frame.

    ``tuning`` is fixed at 0 where ``librosa.feature.chroma_stft`` would estimate it per clip. Values lie in
    [0, 1]; there is no ``normalize`` option.

    Args:
        sample_rate (int, optional): Sample rate of the waveform in Hz. (Default: ``16000``)
        n_fft (int, optional): FFT size. (Default: ``512``)
        hop_length (int, optional): Samples between frames. (Default: ``160``)
        n_chroma (int, optional): Number of pitch classes. (Default: ``12``)

    Shape:
        - wave: (B, T) and lengths: (B,) or None (unused: each frame is normalised on its own).
        - output: (B, 1, n_chroma, 1 + T // hop_length).

    Example:
        >>> fe = Chroma()
        >>> fe(torch.randn(2, 16000)).shape
        torch.Size([2, 1, 12, 101])
    """

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
        transient_buffers(self)

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


@register_frontend("zcr")
class ZeroCrossingRate(_FramedFrontEnd):
    """Fraction of sign changes per frame, as ``librosa.feature.zero_crossing_rate(center=True)``.

    Frames are centred with edge padding (librosa's choice here); ``|y| <= 1e-10`` counts as zero and zero as
    positive, as ``librosa.zero_crossings``.

    Args:
        frame_length (int, optional): Samples per frame. (Default: ``512``)
        hop_length (int, optional): Samples between frames. (Default: ``160``)

    Shape:
        - wave: (B, T) and lengths: (B,) or None (unused).
        - output: (B, 1, 1 + T // hop_length) for an even ``frame_length``.

    Example:
        >>> fe = ZeroCrossingRate()
        >>> fe(torch.randn(2, 16000)).shape
        torch.Size([2, 1, 101])
    """

    pad_mode = "replicate"  # librosa pads with edge values here, not zeros
    threshold = 1e-10  # librosa.zero_crossings: |y| <= threshold counts as 0, and 0 counts as positive

    def features(self, wave: Tensor, lengths: Optional[Tensor]) -> Tensor:
        y = self._padded(wave)
        y = torch.where(y.abs() <= self.threshold, torch.zeros_like(y), y)
        neg = torch.signbit(y)
        cross = (neg[:, 1:] != neg[:, :-1]).to(wave.dtype)  # cross[j]: sign change between j and j + 1
        # A frame starting at s holds the crossings cross[s : s + frame_length - 1]; librosa divides by
        # frame_length.
        counts = cross.unfold(-1, self.frame_length - 1, self.hop_length).sum(-1)
        return (counts / self.frame_length).unsqueeze(1)


@register_frontend("rms")
class RMSEnergy(_FramedFrontEnd):
    """Root-mean-square energy per frame, as ``librosa.feature.rms(center=True, pad_mode="constant")``.

    Args:
        frame_length (int, optional): Samples per frame. (Default: ``512``)
        hop_length (int, optional): Samples between frames. (Default: ``160``)

    Shape:
        - wave: (B, T) and lengths: (B,) or None (unused).
        - output: (B, 1, 1 + T // hop_length) for an even ``frame_length``.

    Example:
        >>> fe = RMSEnergy()
        >>> fe(torch.randn(2, 16000)).shape
        torch.Size([2, 1, 101])
    """

    def features(self, wave: Tensor, lengths: Optional[Tensor]) -> Tensor:
        frames = self._padded(wave).unfold(-1, self.frame_length, self.hop_length)
        return frames.pow(2).mean(-1).sqrt().unsqueeze(1)


@register_frontend("clip_stats")
class ClipStats(FrontEnd):
    """Six statistics per clip (SER-FusionNet's statistical features), over each row's valid samples only.

    Order: [mean, variance, skewness, kurtosis, spectral-centroid mean (Hz), spectral-bandwidth mean (Hz)].
    Moments follow numpy/scipy defaults (biased variance, biased skew, Fisher kurtosis); silent clips give
    skew = kurtosis = 0 where scipy gives nan. Centroid and bandwidth follow librosa (magnitude STFT,
    ``pad_mode="constant"``) averaged over the 1 + length // hop frames of the valid part.

    Args:
        sample_rate (int, optional): Sample rate of the waveform in Hz (sets the centroid's Hz scale).
            (Default: ``16000``)
        n_fft (int, optional): FFT size of the spectral statistics. (Default: ``512``)
        hop_length (int, optional): Samples between STFT frames. (Default: ``160``)

    Shape:
        - wave: (B, T) and lengths: (B,) or None (every row whole).
        - output: (B, 6).

    Example:
        >>> fe = ClipStats()
        >>> fe(torch.randn(2, 16000), torch.tensor([16000, 8000])).shape
        torch.Size([2, 6])
        >>> fe.FEATURES[4]
        'centroid_mean'
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
        transient_buffers(self)

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
        fmask = frame_mask(lengths, S.shape[-1], self.hop_length, wave.device).to(wave.dtype)
        nf = fmask.sum(1)
        return torch.stack(
            [mean, m2, skew, kurt, (centroid * fmask).sum(1) / nf, (bandwidth * fmask).sum(1) / nf], 1
        )

    def output_shape(self, num_samples: int) -> tuple[int, ...]:
        return (len(self.FEATURES),)


@register_frontend("concat")
class Concat(FrontEnd):
    """Each part's features flattened per example and joined into one sequence (the 1-D nets' input).

    The default is ExpoNet's input (the CREMA-D CNN study): zero-crossing rate, RMS energy and a flattened
    40-band log-mel, in that order. A single part (e.g. ``[{"name": "logmel", "n_mels": 40}]``) gives that
    feature flattened.

    Args:
        parts (list of str or dict, optional): Front-end specs, as ``create_frontend`` takes them, joined in
            order; None is ExpoNet's ``[zcr, rms, logmel(n_mels=40, normalize=None)]``. (Default: ``None``)

    Shape:
        - wave: (B, T) and lengths: (B,) or None, passed to every part.
        - output: (B, 1, N), N the sum over parts of ``prod(part.output_shape(T))``.

    Example:
        >>> fe = Concat()  # 1 + 1 + 40 rows of 101 frames for 1 s at 16 kHz
        >>> fe(torch.randn(2, 16000)).shape
        torch.Size([2, 1, 4242])
        >>> Concat([{"name": "logmel", "n_mels": 40}]).output_shape(16000)
        (1, 4040)
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
