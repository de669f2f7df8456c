"""``ge2e_head``: a small MLP on a clip vector, by default the GE2E voice embedding (``voice_embedding``).

A frozen embedding plus a few thousand trained weights is the cheapest transfer baseline: it shows how much of
the emotion a pretrained representation already separates. The input is layer-normalised first (GE2E vectors
are L2-normalised, so their entries are ~0.06), then one hidden layer; any other vector front-end works by
setting ``in_features`` to its size (a mismatch fails at construction, naming both).
"""

from __future__ import annotations

from torch import Tensor, nn

from .registry import register_model
from .sources import GE2E


class VectorMLP(nn.Module):
    """LayerNorm, one hidden ReLU layer with dropout, and a linear output on a clip vector.

    Args:
        num_classes (int): Number of output classes.
        in_features (int, optional): Size of the input vector (256 for GE2E). (Default: ``256``)
        hidden (int, optional): Width of the hidden layer. (Default: ``128``)
        dropout (float, optional): Dropout before the output layer. (Default: ``0.3``)

    Shape:
        - Input: ``(B, in_features)``.
        - Output: ``(B, num_classes)`` logits.

    Example:
        >>> VectorMLP(num_classes=8)(torch.randn(2, 256)).shape
        torch.Size([2, 8])
    """

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
    source=GE2E,
    description="LayerNorm + one-hidden-layer MLP on a clip vector (default: frozen GE2E embedding)",
)
def ge2e_head(num_classes: int, in_features: int = 256, hidden: int = 128, dropout: float = 0.3) -> nn.Module:
    """GE2E head: a :class:`VectorMLP` on the frozen GE2E voice embedding (front-end ``voice_embedding``).

    Args:
        num_classes (int): Number of output classes.
        in_features (int, optional): Size of the input vector; set it for another vector front-end.
            (Default: ``256``)
        hidden (int, optional): Width of the hidden layer. (Default: ``128``)
        dropout (float, optional): Dropout before the output layer. (Default: ``0.3``)

    Returns:
        nn.Module: ``(B, in_features)`` clip vectors -> ``(B, num_classes)`` logits.

    Example:
        >>> ge2e_head(num_classes=8)(torch.randn(2, 256)).shape
        torch.Size([2, 8])
    """
    return VectorMLP(num_classes, in_features, hidden, dropout)
