"""DummyNet: the CREMA-D CNN study's plain 1-D CNN over one feature sequence, in its four input variants.

Exactly the study's layer list: Conv1d(C→512, k5) ReLU, MaxPool1d(k5, s2), Conv1d(512→512, k5) ReLU,
MaxPool1d(k5, s2), Conv1d(512→128, k5) ReLU, MaxPool1d(k5, s2), Flatten, Linear(L·128→256) ReLU,
Linear(256→classes). The flattened length L depends on the clip length, so the builder takes the front-end's
``input_shape`` (filled in by the LightningModule). Softmax is left to the loss (the study's final softmax
would double it).
"""

from __future__ import annotations

from torch import Tensor, nn

from .registry import register_model
from .sources import CREMA_D_CNN_STUDY

ZCR = {"name": "zcr"}
ENERGY = {"name": "rms"}
ZCR_ENERGY = {"name": "concat", "parts": [{"name": "zcr"}, {"name": "rms"}]}
FLAT_MEL = {"name": "concat", "parts": [{"name": "logmel", "n_mels": 40, "normalize": None}]}


def conv_out_length(n: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Output length of a 1-D convolution or pooling over ``n`` steps."""
    return (n + 2 * padding - kernel) // stride + 1


class DummyNet(nn.Module):
    """Three Conv1d(k5) + ReLU + MaxPool1d(k5, s2) blocks (512, 512, 128 channels), then two dense layers.

    Args:
        num_classes (int): Number of output classes.
        input_shape (tuple of int): ``(C, N)`` of one example (filled from the front-end by SERModule);
            ``N >= 57`` for the three blocks.
        hidden (int, optional): Width of the hidden dense layer. (Default: ``256``)

    Shape:
        - Input: ``(B, C, N)`` with ``(C, N) == input_shape``.
        - Output: ``(B, num_classes)`` logits.

    Example:
        >>> model = DummyNet(num_classes=6, input_shape=(1, 301))
        >>> model(torch.randn(2, 1, 301)).shape
        torch.Size([2, 6])
    """

    def __init__(self, num_classes: int, input_shape: tuple[int, ...], hidden: int = 256):
        super().__init__()
        channels, length = int(input_shape[0]), int(input_shape[-1])
        layers, c_in = [], channels
        for c_out in (512, 512, 128):
            layers += [nn.Conv1d(c_in, c_out, 5), nn.ReLU(inplace=True), nn.MaxPool1d(5, 2)]
            length = conv_out_length(conv_out_length(length, 5), 5, 2)
            c_in = c_out
        if length < 1:
            raise ValueError(f"input of {input_shape[-1]} steps is too short for three conv+pool blocks")
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(128 * length, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


def _variant(name: str, frontend: dict, what: str):
    """Register DummyNet on one input, documented like any builder."""

    def build(num_classes: int, input_shape: tuple[int, ...], hidden: int = 256) -> nn.Module:
        return DummyNet(num_classes, input_shape, hidden)

    build.__name__ = build.__qualname__ = name
    build.__doc__ = f"""DummyNet on {what}: a :class:`DummyNet` on front-end ``{frontend}``.

    Args:
        num_classes (int): Number of output classes.
        input_shape (tuple of int): ``(C, N)`` of one example; SERModule fills it from the front-end.
        hidden (int, optional): Width of the hidden dense layer. (Default: ``256``)

    Returns:
        nn.Module: ``(B, *input_shape)`` sequences -> ``(B, num_classes)`` logits.

    Example:
        >>> model = {name}(num_classes=6, input_shape=(1, 301))
        >>> model(torch.randn(2, 1, 301)).shape
        torch.Size([2, 6])
    """
    description = f"DummyNet 1-D CNN on {what}"
    return register_model(
        name, frontend=frontend, input_kind="sequence", source=CREMA_D_CNN_STUDY, description=description
    )(build)


dummynet_zcr = _variant("dummynet_zcr", ZCR, "zero-crossing rate")
dummynet_energy = _variant("dummynet_energy", ENERGY, "RMS energy")
dummynet_zcr_energy = _variant(
    "dummynet_zcr_energy", ZCR_ENERGY, "zero-crossing rate then energy, concatenated"
)
dummynet_mel = _variant("dummynet_mel", FLAT_MEL, "the flattened 40-band log-mel spectrogram")
