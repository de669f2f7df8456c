"""DummyNet (seed 000): a plain 1-D CNN over one feature sequence, in the seed's four input variants.

Exactly the seed's layer list: Conv1d(C→512, k5) ReLU, MaxPool1d(k5, s2), Conv1d(512→512, k5) ReLU, MaxPool1d(k5, s2),
Conv1d(512→128, k5) ReLU, MaxPool1d(k5, s2), Flatten, Linear(L·128→256) ReLU, Linear(256→classes). The flattened
length L depends on the clip length, so the builder takes the front-end's ``input_shape`` (filled in by the
LightningModule). Softmax is left to the loss (the seed's final softmax would double it).
"""

from __future__ import annotations

from torch import Tensor, nn

from .registry import register_model

ZCR = {"name": "zcr"}
ENERGY = {"name": "rms"}
ZCR_ENERGY = {"name": "concat", "parts": [{"name": "zcr"}, {"name": "rms"}]}
FLAT_MEL = {"name": "concat", "parts": [{"name": "logmel", "n_mels": 40, "normalize": None}]}


def conv_out_length(n: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    return (n + 2 * padding - kernel) // stride + 1


class DummyNet(nn.Module):
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
    @register_model(
        name,
        frontend=frontend,
        input_kind="sequence",
        source="seed 000",
        description=f"DummyNet 1-D CNN on {what}",
    )
    def build(num_classes: int, input_shape: tuple[int, ...], hidden: int = 256) -> nn.Module:
        return DummyNet(num_classes, input_shape, hidden)

    build.__name__ = name
    return build


dummynet_zcr = _variant("dummynet_zcr", ZCR, "zero-crossing rate")
dummynet_energy = _variant("dummynet_energy", ENERGY, "RMS energy")
dummynet_zcr_energy = _variant(
    "dummynet_zcr_energy", ZCR_ENERGY, "zero-crossing rate then energy, concatenated"
)
dummynet_mel = _variant("dummynet_mel", FLAT_MEL, "the flattened 40-band log-mel spectrogram")
