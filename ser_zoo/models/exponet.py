"""ExpoNet, the CREMA-D CNN study's best model: a 1-D CNN on zero-crossing rate ⧺ energy ⧺ flattened log-mel.

From the study: five blocks of Conv1d(k5, stride 1, same padding) → ReLU → BatchNorm1d → MaxPool1d(k5, s2,
same padding), the first 1→512; then Flatten, Linear→512, ReLU, BatchNorm1d, Linear(512→classes). The study
leaves the later widths unstated ("varying number of input and output channels"); this reconstruction halves
them: 512, 256, 128, 64, 32. The dense layer is sized from the front-end's ``input_shape``.
"""

from __future__ import annotations

from torch import Tensor, nn

from .dummynet import conv_out_length
from .registry import register_model
from .sources import CREMA_D_CNN_STUDY

EXPONET_INPUT = {"name": "concat"}  # default parts: zcr, rms, logmel(40, unnormalised), each flattened


class ExpoNet(nn.Module):
    """Five same-padded Conv1d(k5) + ReLU + BatchNorm1d + MaxPool1d(k5, s2) blocks, then two dense layers.

    Args:
        num_classes (int): Number of output classes.
        input_shape (tuple of int): ``(C, N)`` of one example (filled from the front-end by SERModule).
        widths (tuple of int, optional): Output channels of the conv blocks.
            (Default: ``(512, 256, 128, 64, 32)``)
        hidden (int, optional): Width of the hidden dense layer. (Default: ``512``)

    Shape:
        - Input: ``(B, C, N)`` with ``(C, N) == input_shape``.
        - Output: ``(B, num_classes)`` logits.

    Example:
        >>> model = ExpoNet(num_classes=6, input_shape=(1, 1000))
        >>> model(torch.randn(2, 1, 1000)).shape
        torch.Size([2, 6])
    """

    def __init__(
        self,
        num_classes: int,
        input_shape: tuple[int, ...],
        widths: tuple[int, ...] = (512, 256, 128, 64, 32),
        hidden: int = 512,
    ):
        super().__init__()
        c_in, length, layers = int(input_shape[0]), int(input_shape[-1]), []
        for c_out in widths:
            layers += [
                nn.Conv1d(c_in, c_out, 5, padding=2),
                nn.ReLU(inplace=True),
                nn.BatchNorm1d(c_out),
                nn.MaxPool1d(5, 2, padding=2),
            ]
            length = conv_out_length(length, 5, 2, 2)
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c_in * length, hidden),
            nn.ReLU(inplace=True),
            nn.BatchNorm1d(hidden),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


@register_model(
    "exponet",
    frontend=EXPONET_INPUT,
    input_kind="sequence",
    source=CREMA_D_CNN_STUDY,
    description="ExpoNet 1-D CNN on ZCR ⧺ energy ⧺ flattened log-mel",
)
def exponet(
    num_classes: int,
    input_shape: tuple[int, ...],
    widths: tuple[int, ...] = (512, 256, 128, 64, 32),
    hidden: int = 512,
) -> nn.Module:
    """ExpoNet: an :class:`ExpoNet` on the ``concat`` front-end (ZCR, RMS energy, 40-band log-mel, flattened).

    Args:
        num_classes (int): Number of output classes.
        input_shape (tuple of int): ``(C, N)`` of one example; SERModule fills it from the front-end.
        widths (tuple of int, optional): Output channels of the conv blocks.
            (Default: ``(512, 256, 128, 64, 32)``)
        hidden (int, optional): Width of the hidden dense layer. (Default: ``512``)

    Returns:
        nn.Module: ``(B, *input_shape)`` sequences -> ``(B, num_classes)`` logits.

    Example:
        >>> model = exponet(num_classes=6, input_shape=(1, 1000))
        >>> model(torch.randn(2, 1, 1000)).shape
        torch.Size([2, 6])
    """
    return ExpoNet(num_classes, input_shape, tuple(widths), hidden)
