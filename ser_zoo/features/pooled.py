"""Clip-level feature vectors: per-frame features averaged over each clip's real frames (seed 001's input).

``clip_means`` is the 162-feature vector of the Kaggle SER notebooks seed 001 built on, i.e. the time means of
``zero_crossing_rate(y)`` (1), ``chroma_stft(S=|stft(y)|)`` (12), ``mfcc(y, n_mfcc=20)`` (20), ``rms(y)`` (1)
and ``melspectrogram(y)`` power (128), all at librosa's default analysis (n_fft 2048, hop 512, 128 mels).
Chroma uses tuning 0 where librosa estimates the tuning per clip (a clip-dependent shift of a fraction of a
semitone). ``mel_db: true`` averages the mel part in dB instead of power (power means span many orders of
magnitude; the seed relied on a StandardScaler). ``stats: true`` appends the six ``clip_stats`` features
(168 in all): SER-FusionNet's input.
"""

from __future__ import annotations

from typing import Optional

import torch
import torchaudio.transforms as T
from torch import Tensor, nn

from .frontends import (
    MFCC,
    Chroma,
    ClipStats,
    FrontEnd,
    LogMel,
    RMSEnergy,
    ZeroCrossingRate,
    _frame_mask,
    _transient_buffers,
)


def masked_time_mean(x: Tensor, lengths: Optional[Tensor], hop_length: int) -> Tensor:
    """(B, ..., frames) -> (B, ...) mean over the 1 + length // hop centred frames of each clip's valid part."""
    if lengths is None:
        return x.mean(-1)
    mask = _frame_mask(lengths, x.shape[-1], hop_length, x.device).to(x.dtype)
    mask = mask.view(mask.shape[0], *([1] * (x.dim() - 2)), mask.shape[1])
    return (x * mask).sum(-1) / mask.sum(-1).clamp(min=1)


class MagnitudeChroma(Chroma):
    """Chroma of the magnitude STFT, as the notebooks' ``chroma_stft(S=np.abs(librosa.stft(y)))``."""

    def __init__(self, sample_rate: int, n_fft: int, hop_length: int):
        super().__init__(sample_rate, n_fft, hop_length)
        self.spec = T.Spectrogram(
            n_fft=n_fft, hop_length=hop_length, power=1.0, center=True, pad_mode="constant"
        )
        _transient_buffers(self)


class MelPower(nn.Module):
    """Mel power spectrogram (B, n_mels, frames), as ``librosa.feature.melspectrogram`` (slaney mel)."""

    def __init__(self, sample_rate: int, n_fft: int, hop_length: int, n_mels: int):
        super().__init__()
        self.mel = T.MelSpectrogram(
            sample_rate=sample_rate,
            n_fft=n_fft,
            hop_length=hop_length,
            n_mels=n_mels,
            power=2.0,
            norm="slaney",
            mel_scale="slaney",
            center=True,
            pad_mode="constant",
        )
        _transient_buffers(self)

    def forward(self, wave: Tensor, lengths: Optional[Tensor] = None) -> Tensor:
        return self.mel(wave)


class ClipMeans(FrontEnd):
    """(B, 162) clip means of ZCR, chroma, MFCC, RMS and mel power; (B, 168) with ``stats``."""

    kind = "vector"

    def __init__(
        self,
        sample_rate: int = 16000,
        n_fft: int = 2048,
        hop_length: int = 512,
        n_mfcc: int = 20,
        n_mels: int = 128,
        mel_db: bool = False,
        stats: bool = False,
    ):
        super().__init__()
        self.hop_length = hop_length
        mel = (
            LogMel(sample_rate, n_fft, hop_length=hop_length, n_mels=n_mels, normalize=None)
            if mel_db
            else MelPower(sample_rate, n_fft, hop_length, n_mels)
        )
        self.parts = nn.ModuleList(
            [
                ZeroCrossingRate(n_fft, hop_length),
                MagnitudeChroma(sample_rate, n_fft, hop_length),
                MFCC(sample_rate, n_mfcc, n_fft, hop_length, n_mels=n_mels, normalize=None),
                RMSEnergy(n_fft, hop_length),
                mel,
            ]
        )
        self.stats = ClipStats(sample_rate) if stats else None
        self.size = 1 + 12 + n_mfcc + 1 + n_mels + (len(ClipStats.FEATURES) if stats else 0)

    def features(self, wave: Tensor, lengths: Optional[Tensor]) -> Tensor:
        means = [masked_time_mean(p(wave, lengths), lengths, self.hop_length).flatten(1) for p in self.parts]
        if self.stats is not None:
            means.append(self.stats(wave, lengths))
        return torch.cat(means, 1)

    def output_shape(self, num_samples: int) -> tuple[int, ...]:
        return (self.size,)
