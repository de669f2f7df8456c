"""MFCC-CRNN: convolution blocks that pool frequency, a bidirectional GRU over time, a dense head.

The Mel/MFCC CNN and CRNN article describes it only as "a Convolutional Recurrent Neural Network trained on
MFCCs", so this is the usual reconstruction: three Conv-BN-ReLU blocks (pooling frequency by 2 and time by 2
in the first two), the remaining frequency axis folded into channels, a 2-layer bidirectional GRU, and mean +
max pooling over the frames that are real audio (the batch's ``lengths``; the GRU runs on packed sequences),
so clips of any length give the same output shape, and batch padding beyond a clip's end (past the
convolutions' few-frame reach) does not change its prediction. ``hop_length`` must be the front-end's hop
(160 by default on both sides) to map sample counts to frames. The article reports that its CRNN overfits more
than the MFCC-CNN; dropout 0.3 before the head and between the GRU layers is our choice.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..errors import ConfigError
from .cnn import conv_block
from .registry import register_model
from .sources import MEL_MFCC_CNN_ARTICLE


class CRNN(nn.Module):
    """Conv blocks, a bidirectional GRU over the frames, mean + max pooling over the real frames, dense head.

    Args:
        num_classes (int): Number of output classes.
        n_features (int, optional): Feature rows of the input image (MFCCs). (Default: ``40``)
        channels (tuple of int, optional): Output channels of the conv blocks; the first two pool
            frequency and time by 2, later ones frequency only. (Default: ``(32, 64, 128)``)
        hidden (int, optional): GRU hidden size per direction. (Default: ``128``)
        layers (int, optional): Number of stacked GRU layers. (Default: ``2``)
        dropout (float, optional): Dropout between GRU layers and before the output layer. (Default: ``0.3``)
        hop_length (int, optional): The front-end's hop in samples, to map ``lengths`` to frames.
            (Default: ``160``)

    Shape:
        - Input: ``(B, 1, n_features, T)``, any ``T >= 4``; optional ``lengths`` ``(B,)`` in samples.
        - Output: ``(B, num_classes)`` logits.

    Example:
        >>> model = CRNN(num_classes=7)
        >>> model(torch.randn(2, 1, 40, 301), lengths=torch.tensor([48000, 16000])).shape
        torch.Size([2, 7])
    """

    def __init__(
        self,
        num_classes: int,
        n_features: int = 40,
        channels: tuple[int, ...] = (32, 64, 128),
        hidden: int = 128,
        layers: int = 2,
        dropout: float = 0.3,
        hop_length: int = 160,
    ):
        super().__init__()
        if not channels:
            raise ConfigError(
                "mfcc_crnn: model_kwargs.channels is empty; give conv widths, e.g. [32, 64, 128]"
            )
        pools = ([(2, 2), (2, 2)] + [(2, 1)] * len(channels))[: len(channels)]
        widths = (1, *channels)
        self.conv = nn.Sequential(*[conv_block(a, b, p) for a, b, p in zip(widths[:-1], widths[1:], pools)])
        freq = n_features
        for p in pools:
            freq //= p[0]
        self.time_stride, self.hop_length = math.prod(p[1] for p in pools), hop_length
        self.rnn = nn.GRU(
            channels[-1] * freq,
            hidden,
            layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(4 * hidden, num_classes))

    extra_inputs = ("lengths",)  # sample counts from the batch, so padding frames are left out of the pooling

    def forward(self, x: Tensor, lengths: Optional[Tensor] = None) -> Tensor:
        h = self.conv(x)  # (B, C, F', T')
        h = h.flatten(1, 2).transpose(1, 2)  # (B, T', C·F')
        if lengths is None:
            out, _ = self.rnn(h)
            valid = torch.ones(out.shape[:2], dtype=torch.bool, device=out.device)
        else:  # packed, so the backward direction starts at each clip's last real frame, not in its padding
            frames = 1 + lengths // self.hop_length  # the front-end's centred frames
            steps = (frames // self.time_stride).clamp(min=1, max=h.shape[1])
            packed = pack_padded_sequence(h, steps.cpu(), batch_first=True, enforce_sorted=False)
            out, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=h.shape[1])
            valid = torch.arange(out.shape[1], device=out.device)[None] < steps.to(out.device)[:, None]
        w = valid[..., None].to(out.dtype)
        mean = (out * w).sum(1) / w.sum(1)
        peak = out.masked_fill(~valid[..., None], float("-inf")).amax(1)
        return self.head(torch.cat([mean, peak], 1))


@register_model(
    "mfcc_crnn",
    frontend={"name": "mfcc", "n_mfcc": 40},
    source=MEL_MFCC_CNN_ARTICLE,
    description="conv blocks + bidirectional GRU on 40 MFCCs (the article's CRNN)",
)
def mfcc_crnn(
    num_classes: int,
    n_features: int = 40,
    channels: tuple[int, ...] = (32, 64, 128),
    hidden: int = 128,
    layers: int = 2,
    dropout: float = 0.3,
    hop_length: int = 160,
) -> nn.Module:
    """MFCC-CRNN: a :class:`CRNN` on 40 MFCCs (front-end ``mfcc``, ``n_mfcc=40``).

    Args:
        num_classes (int): Number of output classes.
        n_features (int, optional): MFCC rows; must match the front-end's ``n_mfcc``. (Default: ``40``)
        channels (tuple of int, optional): Output channels of the conv blocks. (Default: ``(32, 64, 128)``)
        hidden (int, optional): GRU hidden size per direction. (Default: ``128``)
        layers (int, optional): Number of stacked GRU layers. (Default: ``2``)
        dropout (float, optional): Dropout between GRU layers and before the output layer. (Default: ``0.3``)
        hop_length (int, optional): The front-end's hop in samples. (Default: ``160``)

    Returns:
        nn.Module: ``(B, 1, n_features, T)`` MFCC images (and optional ``lengths`` in samples) ->
        ``(B, num_classes)`` logits.

    Example:
        >>> model = mfcc_crnn(num_classes=7)
        >>> model(torch.randn(2, 1, 40, 301)).shape
        torch.Size([2, 7])
    """
    return CRNN(num_classes, n_features, tuple(channels), hidden, layers, dropout, hop_length)
