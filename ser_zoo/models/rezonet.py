"""RezoNet: the CREMA-D CNN study's lightweight 2-D CNN with rectangular kernels on the 40-band log-mel.

The study (window 512, hop 160) names its inspiration — Deep-Net, "a lightweight CNN-based SER system using
deep frequency features" (Anvarjon, Mustaqeem and Kwon, Sensors 2020) — but gives no layer table, so this is a
reconstruction of that idea, stated plainly: each block pairs a tall kernel (k×1, along frequency) with a wide
one (1×k, along time), shrinking k = 9, 7, 5, with rectangular pooling that first reduces frequency only; a
final 3×3 block, global average pooling (any clip length) and a small dense head. About 0.13 M parameters.
The log-mel keeps the front-end's per-utterance normalisation (the study does not say how it scaled its
input).
"""

from __future__ import annotations

import dataclasses

from torch import Tensor, nn

from .registry import register_model
from .sources import CREMA_D_CNN_STUDY, DEEP_NET


def _conv(c_in: int, c_out: int, kernel: tuple[int, int]) -> list[nn.Module]:
    pad = (kernel[0] // 2, kernel[1] // 2)
    return [
        nn.Conv2d(c_in, c_out, kernel, padding=pad, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    ]


REZONET_SOURCE = dataclasses.replace(
    CREMA_D_CNN_STUDY, note=f"a reconstruction of the Deep-Net idea it names ({DEEP_NET.url})"
)


class RezoNet(nn.Module):
    """Paired tall (k x 1) and wide (1 x k) conv blocks, a 3 x 3 block, global average pooling, dense head.

    Args:
        num_classes (int): Number of output classes.
        widths (tuple of int, optional): Channels of the three rectangular blocks and the 3 x 3 block.
            (Default: ``(16, 32, 64, 128)``)
        dropout (float, optional): Dropout before the dense head. (Default: ``0.3``)

    Shape:
        - Input: ``(B, 1, F, T)``, any ``F >= 8`` and ``T >= 8``.
        - Output: ``(B, num_classes)`` logits.

    Example:
        >>> model = RezoNet(num_classes=6)
        >>> model(torch.randn(2, 1, 40, 301)).shape
        torch.Size([2, 6])
    """

    def __init__(self, num_classes: int, widths: tuple[int, ...] = (16, 32, 64, 128), dropout: float = 0.3):
        super().__init__()
        w1, w2, w3, w4 = widths
        layers, c_in = [], 1
        for c_out, k, pool in ((w1, 9, (2, 1)), (w2, 7, (2, 2)), (w3, 5, (2, 2))):
            layers += _conv(c_in, c_out, (k, 1)) + _conv(c_out, c_out, (1, k)) + [nn.MaxPool2d(pool)]
            c_in = c_out
        layers += _conv(c_in, w4, (3, 3)) + [nn.MaxPool2d((1, 2))]
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(w4, 64),
            nn.ReLU(inplace=True),
            nn.Linear(64, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


@register_model(
    "rezonet",
    frontend={"name": "logmel", "n_mels": 40},
    source=REZONET_SOURCE,
    description="RezoNet: rectangular-kernel lightweight CNN on 40-band log-mel (Deep-Net style)",
)
def rezonet(num_classes: int, widths: tuple[int, ...] = (16, 32, 64, 128), dropout: float = 0.3) -> nn.Module:
    """RezoNet: a :class:`RezoNet` on the 40-band log-mel (front-end ``logmel``, ``n_mels=40``).

    Args:
        num_classes (int): Number of output classes.
        widths (tuple of int, optional): Channels of the three rectangular blocks and the 3 x 3 block.
            (Default: ``(16, 32, 64, 128)``)
        dropout (float, optional): Dropout before the dense head. (Default: ``0.3``)

    Returns:
        nn.Module: ``(B, 1, 40, T)`` log-mel images -> ``(B, num_classes)`` logits, any ``T >= 8``.

    Example:
        >>> model = rezonet(num_classes=6)
        >>> model(torch.randn(2, 1, 40, 301)).shape
        torch.Size([2, 6])
    """
    return RezoNet(num_classes, tuple(widths), dropout)
