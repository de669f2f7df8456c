"""SpecAugment on feature images (B, C, F, T): torchaudio's per-example (iid) frequency and time masks."""

from __future__ import annotations

import torchaudio.functional as AF
from torch import Tensor, nn

from ..errors import ConfigError


class _Masking(nn.Module):
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
    """``count`` bands of up to ``max_bins`` frequency bins, drawn per example."""

    axis = 2

    def __init__(self, max_bins: int = 8, count: int = 2):
        super().__init__(max_bins, count)


class TimeMask(_Masking):
    """``count`` spans of up to ``max_frames`` frames, drawn per example."""

    axis = 3

    def __init__(self, max_frames: int = 30, count: int = 2):
        super().__init__(max_frames, count)
