"""``waveform``: the batch's samples as they are, for models that read raw audio (the pretrained encoders).

A speech encoder (wav2vec 2.0, HuBERT, WavLM, Whisper) computes its own features from the waveform, so its
front-end only hands the padded batch over; the lengths reach the model through ``extra_inputs``.
"""

from __future__ import annotations

from typing import Optional

from torch import Tensor

from .base import FrontEnd
from .registry import register_frontend


@register_frontend("waveform")
class Waveform(FrontEnd):
    """The identity front-end: ``(B, T)`` samples in, the same float32 ``(B, T)`` out.

    Shape:
        - wave: (B, T) and lengths: (B,) or None.
        - output: (B, T).

    Example:
        >>> Waveform()(torch.randn(2, 16000)).shape
        torch.Size([2, 16000])
    """

    kind = "waveform"

    def __init__(self) -> None:  # no options: a plain signature, so configs and docs list none
        super().__init__()

    def features(self, wave: Tensor, lengths: Optional[Tensor]) -> Tensor:
        return wave

    def output_shape(self, num_samples: int) -> tuple[int, ...]:
        return (num_samples,)
