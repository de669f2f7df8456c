"""ExpoNet (seed 000, its best model): a 1-D CNN on zero-crossing rate ⧺ energy ⧺ flattened 40-band log-mel.

From the seed: five blocks of Conv1d(k5, stride 1, same padding) → ReLU → BatchNorm1d → MaxPool1d(k5, s2, same
padding), the first 1→512; then Flatten, Linear→512, ReLU, BatchNorm1d, Linear(512→classes). The seed leaves the
later widths unstated ("varying number of input and output channels"); this reconstruction halves them:
512, 256, 128, 64, 32. The dense layer is sized from the front-end's ``input_shape``.
"""

from __future__ import annotations

from torch import Tensor, nn

from .dummynet import conv_out_length
from .registry import register_model

EXPONET_INPUT = {"name": "concat"}  # default parts: zcr, rms, logmel(40, unnormalised), each flattened


class ExpoNet(nn.Module):
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
    source="seed 000",
    description="ExpoNet 1-D CNN on ZCR ⧺ energy ⧺ flattened log-mel",
)
def exponet(
    num_classes: int,
    input_shape: tuple[int, ...],
    widths: tuple[int, ...] = (512, 256, 128, 64, 32),
    hidden: int = 512,
) -> nn.Module:
    return ExpoNet(num_classes, input_shape, tuple(widths), hidden)
