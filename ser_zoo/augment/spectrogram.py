"""SpecAugment on feature images (B, C, F, T): torchaudio's per-example (iid) frequency and time masks."""

from __future__ import annotations

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
