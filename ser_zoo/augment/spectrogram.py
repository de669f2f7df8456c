"""Augmentation on feature images (B, C, F, T): SpecAugment's per-example masks and Freq-MixStyle."""

from __future__ import annotations

import torch
import torchaudio.functional as AF
from torch import Tensor, nn

from ..errors import ConfigError


class _Masking(nn.Module):
    """``count`` masks of up to ``max_width`` along ``axis``, drawn per example, filled with its mean."""

    axis = 0

    def __init__(self, max_width: int, count: int = 1):
        super().__init__()
        if max_width < 0 or count < 0:
            raise ConfigError(
                f"augment {type(self).__name__}: max width {max_width} and count {count} must be >= 0"
            )
        self.max_width, self.count = int(max_width), int(count)

    def forward(self, feats: Tensor, apply: Tensor) -> Tensor:
        out = feats
        fill = feats.mean(dim=(-2, -1), keepdim=True)  # mask with each example's mean (features may be in dB)
        for _ in range(self.count):
            out = AF.mask_along_axis_iid(out - fill, self.max_width, 0.0, self.axis) + fill
        return out.where(apply[:, None, None, None], feats)


class FrequencyMask(_Masking):
    """SpecAugment frequency masking: ``count`` bands of up to ``max_bins`` bins, drawn per example.

    Args:
        max_bins (int, optional): Widest band, in frequency rows. (Default: ``8``)
        count (int, optional): Bands per example. (Default: ``2``)

    Shape:
        - feats: (B, C, F, frames) features, apply: (B,) bool (examples to mask).
        - output: (B, C, F, frames); masked cells hold the example's mean, other examples are unchanged.

    Example:
        >>> FrequencyMask(8, 2)(torch.randn(2, 1, 64, 101), torch.tensor([True, False])).shape
        torch.Size([2, 1, 64, 101])
    """

    axis = 2

    def __init__(self, max_bins: int = 8, count: int = 2):
        super().__init__(max_bins, count)


class TimeMask(_Masking):
    """SpecAugment time masking: ``count`` spans of up to ``max_frames`` frames, drawn per example.

    Args:
        max_frames (int, optional): Widest span, in frames. (Default: ``30``)
        count (int, optional): Spans per example. (Default: ``2``)

    Shape:
        - feats: (B, C, F, frames) features, apply: (B,) bool (examples to mask).
        - output: (B, C, F, frames); masked cells hold the example's mean, other examples are unchanged.

    Example:
        >>> TimeMask(30, 2)(torch.randn(2, 1, 64, 101), torch.tensor([True, True])).shape
        torch.Size([2, 1, 64, 101])
    """

    axis = 3

    def __init__(self, max_frames: int = 30, count: int = 2):
        super().__init__(max_frames, count)


class FrequencyMixStyle(nn.Module):
    """Freq-MixStyle: each drawn example's per-band mean and spread mixed with another example's.

    A microphone, a room or a corpus's recording chain colours every frequency band of a clip the same way
    over time; that colouring is the band's mean and standard deviation over the clip's channels and frames.
    Swapping part of it between examples (MixStyle, Zhou et al. 2021, taken to frequency bands as Schmid et
    al. did for unseen recording devices in DCASE 2022) teaches the network to ignore it, where
    ``normalize: band`` removes it at inference as well. The statistics are detached: no gradient flows
    through them.

    Args:
        alpha (float, optional): Beta(alpha, alpha) draws the share of its own statistics each example keeps;
            small values keep mostly one side. (Default: ``0.3``)
        eps (float, optional): Added to the variance before its square root. (Default: ``1e-6``)

    Shape:
        - feats: (B, C, F, frames) features, apply: (B,) bool (examples to restyle).
        - output: (B, C, F, frames); examples not drawn are returned unchanged.

    Example:
        >>> FrequencyMixStyle(0.3)(torch.randn(4, 1, 64, 101), torch.tensor([True, False, True, True])).shape
        torch.Size([4, 1, 64, 101])
    """

    def __init__(self, alpha: float = 0.3, eps: float = 1e-6):
        super().__init__()
        if alpha <= 0:
            raise ConfigError(f"augment freq_mixstyle.alpha={alpha}; use a value > 0")
        self.alpha, self.eps = float(alpha), float(eps)

    def forward(self, feats: Tensor, apply: Tensor) -> Tensor:
        B = len(feats)
        mu = feats.mean(dim=(1, 3), keepdim=True).detach()
        sig = (feats.var(dim=(1, 3), keepdim=True) + self.eps).sqrt().detach()
        alpha = torch.full((B,), self.alpha, device=feats.device)
        own = torch.distributions.Beta(alpha, alpha).sample().to(feats.dtype)[:, None, None, None]
        partner = torch.randperm(B, device=feats.device)
        mixed_mu = own * mu + (1 - own) * mu[partner]
        mixed_sig = own * sig + (1 - own) * sig[partner]
        return ((feats - mu) / sig * mixed_sig + mixed_mu).where(apply[:, None, None, None], feats)
