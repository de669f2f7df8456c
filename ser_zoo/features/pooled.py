"""Clip-level feature vectors: per-frame features averaged over each clip's real frames (seed 001's input).

``clip_means`` is the 162-feature vector of the Kaggle SER notebooks seed 001 built on: the time means of
zero-crossing rate (1), chroma (12), 20 MFCCs (20), RMS energy (1) and a 128-band mel spectrogram (128), at
librosa's default analysis (n_fft 2048, hop 512). One deliberate difference: the mel part is averaged in dB, not
in power (power means span ten orders of magnitude); the models standardise their input as the seed's
StandardScaler did. ``stats: true`` appends the six ``clip_stats`` features (168 in all), SER-FusionNet's input.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from .frontends import MFCC, Chroma, ClipStats, FrontEnd, LogMel, RMSEnergy, ZeroCrossingRate


def masked_time_mean(x: Tensor, lengths: Optional[Tensor], hop_length: int) -> Tensor:
    """(B, ..., frames) -> (B, ...) mean over the 1 + length // hop centred frames of each clip's valid part."""
    if lengths is None:
        return x.mean(-1)
    valid = 1 + lengths.to(device=x.device, dtype=torch.long) // hop_length
    mask = (torch.arange(x.shape[-1], device=x.device)[None, :] < valid[:, None]).to(x.dtype)
    mask = mask.view(mask.shape[0], *([1] * (x.dim() - 2)), mask.shape[1])
    return (x * mask).sum(-1) / mask.sum(-1).clamp(min=1)


class ClipMeans(FrontEnd):
    """(B, 162) clip means of ZCR, chroma, MFCC, RMS and log-mel; (B, 168) with ``stats``."""

    kind = "vector"

    def __init__(self, sample_rate: int = 16000, n_fft: int = 2048, hop_length: int = 512, n_mfcc: int = 20,
                 n_mels: int = 128, stats: bool = False):
        super().__init__()
        self.hop_length = hop_length
        self.parts = torch.nn.ModuleList([
            ZeroCrossingRate(n_fft, hop_length),
            Chroma(sample_rate, n_fft, hop_length),
            MFCC(sample_rate, n_mfcc, n_fft, hop_length, n_mels=n_mels, normalize=None),
            RMSEnergy(n_fft, hop_length),
            LogMel(sample_rate, n_fft, hop_length=hop_length, n_mels=n_mels, normalize=None),
        ])
        self.stats = ClipStats(sample_rate) if stats else None
        self.size = 1 + 12 + n_mfcc + 1 + n_mels + (len(ClipStats.FEATURES) if stats else 0)

    def features(self, wave: Tensor, lengths: Optional[Tensor]) -> Tensor:
        means = [masked_time_mean(p(wave, lengths), lengths, self.hop_length).flatten(1) for p in self.parts]
        if self.stats is not None:
            means.append(self.stats(wave, lengths))
        return torch.cat(means, 1)

    def output_shape(self, num_samples: int) -> tuple[int, ...]:
        return (self.size,)
