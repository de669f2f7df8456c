"""``ge2e_head``: a small MLP on a clip vector, by default the GE2E voice embedding (``voice_embedding``).

A frozen embedding plus a few thousand trained weights is the cheapest transfer baseline: it shows how much of
the emotion a pretrained representation already separates. The input is layer-normalised first (GE2E vectors
are L2-normalised, so their entries are ~0.06), then one hidden layer; any other vector front-end works by
setting ``in_features`` to its size (a mismatch fails at construction, naming both).
"""

from __future__ import annotations

from torch import Tensor, nn

from .registry import register_model


class VectorMLP(nn.Module):
    def __init__(self, num_classes: int, in_features: int = 256, hidden: int = 128, dropout: float = 0.3):
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(in_features),
            nn.Linear(in_features, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


@register_model(
    "ge2e_head",
    frontend={"name": "voice_embedding"},
    input_kind="vector",
    source="transfer",
    description="LayerNorm + one-hidden-layer MLP on a clip vector (default: frozen GE2E embedding)",
)
def ge2e_head(num_classes: int, in_features: int = 256, hidden: int = 128, dropout: float = 0.3) -> nn.Module:
    return VectorMLP(num_classes, in_features, hidden, dropout)
