"""Conv2D-MFCC: the Conv2D-MFCC Keras project's 8-filter CNN on 39 MFCCs, layer for layer.

Conv2d(1→8, 13×13) BN ReLU, Conv2d(8→8, 13×13) BN ReLU, MaxPool(2, 1), Conv2d(8→8, 3×3) BN ReLU,
Conv2d(8→8, 1×1) BN ReLU, MaxPool(2, 1), Flatten, Dense 64, BN, ReLU, Dropout 0.2, Dense classes; valid
padding throughout. On the project's (39, 216) input and 7 classes this has its 208,303 parameters: PyTorch
counts 208,111 trainable ones and keeps the 192 BatchNorm running statistics as buffers (Keras lists both).
The flatten order is channels-first here (Keras: channels-last); counts and capacity are the same. The dense
layer is sized from the front-end's ``input_shape``: the project's 216 frames are 2.5 s at 44.1 kHz with
librosa's hop 512; ser-zoo's 16 kHz, hop-160 MFCCs give 251 frames for the same 2.5 s (a wider dense layer,
same net). The project compiles with ``binary_crossentropy`` over a softmax, a Keras slip for one-of-7 labels;
SERModule trains it with categorical cross-entropy, the loss for single-label classes.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .registry import register_model
from .sources import CONV2D_MFCC_KERAS


def _block(c_in: int, c_out: int, k: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, k), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class Conv2dMFCC(nn.Module):
    """The 8-filter Keras CNN on MFCC images, its dense layer sized from the input shape.

    Args:
        num_classes (int): Number of output classes.
        input_shape (tuple of int): ``(C, F, T)`` of one example (filled from the front-end by SERModule);
            ``F >= 32`` and ``T >= 27`` for the valid convolutions and the pooling.
        filters (int, optional): Channels of every conv layer. (Default: ``8``)
        hidden (int, optional): Width of the dense layer. (Default: ``64``)
        dropout (float, optional): Dropout before the output layer. (Default: ``0.2``)

    Shape:
        - Input: ``(B, C, F, T)`` with ``(C, F, T) == input_shape``.
        - Output: ``(B, num_classes)`` logits.

    Example:
        >>> model = Conv2dMFCC(num_classes=7, input_shape=(1, 39, 216))
        >>> model(torch.randn(2, 1, 39, 216)).shape
        torch.Size([2, 7])
    """

    def __init__(
        self,
        num_classes: int,
        input_shape: tuple[int, ...],
        filters: int = 8,
        hidden: int = 64,
        dropout: float = 0.2,
    ):
        super().__init__()
        f = filters
        self.features = nn.Sequential(
            *_block(input_shape[0], f, 13),
            *_block(f, f, 13),
            nn.MaxPool2d((2, 1)),
            *_block(f, f, 3),
            *_block(f, f, 1),
            nn.MaxPool2d((2, 1)),
            nn.Flatten(),
        )
        with torch.no_grad():
            flat = self.features.eval()(torch.zeros(1, *input_shape)).shape[1]
        self.features.train()
        self.classifier = nn.Sequential(
            nn.Linear(flat, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


def keras_param_count(model: nn.Module) -> int:
    """Parameters as Keras' model.summary() counts them: trainable ones plus BatchNorm moving statistics."""
    stats = sum(
        math.prod(b.shape) for n, b in model.named_buffers() if n.endswith(("running_mean", "running_var"))
    )
    return sum(p.numel() for p in model.parameters()) + stats


@register_model(
    "conv2d_mfcc",
    frontend={"name": "mfcc", "n_mfcc": 39},
    source=CONV2D_MFCC_KERAS,
    description="the Keras project's 8-filter 13x13 CNN on 39 MFCCs (208,303 params on its 39 x 216 input)",
)
def conv2d_mfcc(
    num_classes: int, input_shape: tuple[int, ...], filters: int = 8, hidden: int = 64, dropout: float = 0.2
) -> nn.Module:
    """Conv2D-MFCC: a :class:`Conv2dMFCC` on 39 MFCCs (front-end ``mfcc``, ``n_mfcc=39``).

    Args:
        num_classes (int): Number of output classes.
        input_shape (tuple of int): ``(C, F, T)`` of one example; SERModule fills it from the front-end.
        filters (int, optional): Channels of every conv layer. (Default: ``8``)
        hidden (int, optional): Width of the dense layer. (Default: ``64``)
        dropout (float, optional): Dropout before the output layer. (Default: ``0.2``)

    Returns:
        nn.Module: ``(B, *input_shape)`` MFCC images -> ``(B, num_classes)`` logits.

    Example:
        >>> model = conv2d_mfcc(num_classes=7, input_shape=(1, 39, 301))  # 3 s at 16 kHz, hop 160
        >>> model(torch.randn(2, 1, 39, 301)).shape
        torch.Size([2, 7])
    """
    return Conv2dMFCC(num_classes, tuple(input_shape), filters, hidden, dropout)
