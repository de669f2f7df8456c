"""The interface every front-end implements: ``forward(wave, lengths)``, ``kind`` and ``output_shape``."""

from __future__ import annotations

import contextlib
from typing import Optional

import torch
from torch import Tensor, nn


class FrontEnd(nn.Module):
    """Base class of the waveform -> feature front-ends; runs ``features`` in float32 with autocast off.

    dB and log features lose precision in float16, so a front-end computes in float32 even inside a mixed
    precision step. Subclasses set ``kind`` and implement ``features`` and ``output_shape``.

    Attributes:
        kind (str): the layout of the output: ``"image"`` (B, C, F, frames), ``"sequence"`` (B, C, N) or
            ``"vector"`` (B, D). A model registers the kind it takes.

    Shape:
        - wave: (B, T) float waveform, rows zero-padded to the longest clip.
        - lengths: (B,) valid samples per row, or None when every row is whole.
        - output: (B, *output_shape(T)), float32.
    """

    kind = "image"

    def forward(self, wave: Tensor, lengths: Optional[Tensor] = None) -> Tensor:
        """Features of a padded batch; ``lengths`` keeps padding out of per-clip statistics."""
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
        """The shape of one example's output (without the batch axis) for a clip of ``num_samples``."""
        raise NotImplementedError
