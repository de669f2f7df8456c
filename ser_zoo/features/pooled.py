"""Clip-level feature vectors: per-frame features averaged over each clip's real frames.

``clip_means`` is the 162-feature vector of the Kaggle SER notebooks that SER-FusionNet (Boopathi et al., SJSU
2023) built on, i.e. the time means of ``zero_crossing_rate(y)`` (1), ``chroma_stft(S=|stft(y)|)`` (12),
``mfcc(y, n_mfcc=20)`` (20), ``rms(y)`` (1) and ``melspectrogram(y)`` power (128), all at librosa's default
analysis (n_fft 2048, hop 512, 128 mels). Chroma uses tuning 0 where librosa estimates the tuning per clip (a
clip-dependent shift of a fraction of a semitone). ``mel_db: true`` averages the mel part in dB instead of
power (power means span many orders of magnitude; SER-FusionNet relied on a StandardScaler). ``stats: true``
appends the six ``clip_stats`` features (168 in all): SER-FusionNet's input.
"""

from __future__ import annotations

from typing import Optional

import torch
import torchaudio.transforms as T
from torch import Tensor, nn

from .base import FrontEnd
from .frontends import MFCC, Chroma, ClipStats, LogMel, RMSEnergy, ZeroCrossingRate
from .functional import LIBROSA_MEL, masked_time_mean, transient_buffers
from .registry import register_frontend


class MagnitudeChroma(Chroma):
    """Chroma of the magnitude STFT, as the notebooks' ``chroma_stft(S=np.abs(librosa.stft(y)))``.

    A part of :class:`ClipMeans`, not registered on its own; :class:`Chroma` uses the power STFT.

    Args:
        sample_rate (int): Sample rate of the waveform in Hz.
        n_fft (int): FFT size.
        hop_length (int): Samples between frames.

    Shape:
        - wave: (B, T) and lengths: (B,) or None (unused).
        - output: (B, 1, 12, 1 + T // hop_length).

    Example:
        >>> MagnitudeChroma(16000, 2048, 512)(torch.randn(2, 16000)).shape
        torch.Size([2, 1, 12, 32])
    """

    def __init__(self, sample_rate: int, n_fft: int, hop_length: int):
        super().__init__(sample_rate, n_fft, hop_length)
        self.spec = T.Spectrogram(
            n_fft=n_fft, hop_length=hop_length, power=1.0, center=True, pad_mode="constant"
        )
        transient_buffers(self)


class MelPower(nn.Module):
    """Mel power spectrogram as ``librosa.feature.melspectrogram`` (slaney mel); a part of :class:`ClipMeans`.

    Args:
        sample_rate (int): Sample rate of the waveform in Hz.
        n_fft (int): FFT size.
        hop_length (int): Samples between frames.
        n_mels (int): Number of mel bands.

    Shape:
        - wave: (B, T) and lengths: (B,) or None (unused).
        - output: (B, n_mels, 1 + T // hop_length), power (not dB).

    Example:
        >>> MelPower(16000, 2048, 512, 128)(torch.randn(2, 16000)).shape
        torch.Size([2, 128, 32])
    """

    def __init__(self, sample_rate: int, n_fft: int, hop_length: int, n_mels: int):
        super().__init__()
        self.mel = T.MelSpectrogram(
            sample_rate=sample_rate,
            n_fft=n_fft,
            hop_length=hop_length,
            n_mels=n_mels,
            **LIBROSA_MEL,
        )
        transient_buffers(self)

    def forward(self, wave: Tensor, lengths: Optional[Tensor] = None) -> Tensor:
        return self.mel(wave)


@register_frontend("clip_means")
class ClipMeans(FrontEnd):
    """Clip means of ZCR, chroma, MFCC, RMS and mel power over each clip's valid frames (162 features).

    The parts, in order: zero-crossing rate (1), magnitude chroma (12), MFCC (``n_mfcc``), RMS (1) and mel
    power or dB (``n_mels``); ``stats`` appends the six :class:`ClipStats` features.

    Args:
        sample_rate (int, optional): Sample rate of the waveform in Hz. (Default: ``16000``)
        n_fft (int, optional): FFT size and frame length of every part. (Default: ``2048``)
        hop_length (int, optional): Samples between frames. (Default: ``512``)
        n_mfcc (int, optional): Number of MFCCs. (Default: ``20``)
        n_mels (int, optional): Number of mel bands of the MFCC and mel parts. (Default: ``128``)
        mel_db (bool, optional): Average the mel part in dB (``top_db`` 80) instead of power.
            (Default: ``False``)
        stats (bool, optional): Append the six ``clip_stats`` features (SER-FusionNet's input).
            (Default: ``False``)

    Shape:
        - wave: (B, T) and lengths: (B,) or None (every row whole).
        - output: (B, 1 + 12 + n_mfcc + 1 + n_mels), plus 6 with ``stats``: (B, 162) or (B, 168) by default.

    Example:
        >>> fe = ClipMeans()
        >>> fe(torch.randn(2, 16000), torch.tensor([16000, 9000])).shape
        torch.Size([2, 162])
        >>> ClipMeans(stats=True).output_shape(16000)
        (168,)
    """

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
