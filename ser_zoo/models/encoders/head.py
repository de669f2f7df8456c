"""The SUPERB-style head on a speech encoder: a learnt mix of its hidden layers, pooled over the real frames.

Emotion sits in different layers of different encoders (prosody low, phonetics and semantics higher), so
the head learns softmax weights over every hidden layer (SUPERB, Yang et al. 2021) instead of taking the
last. Each frame is then projected and the clip vector is the mean, or the attentive mean and standard
deviation (Okabe et al. 2018), of the frames that hold audio: padding never enters the pooling, so a clip's
logits do not depend on the batch it is padded into.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...errors import ConfigError

POOLINGS = ("mean", "attentive")


def frame_mask(frames: Optional[Tensor], width: int, device: torch.device) -> Tensor:
    """(B, width, 1) float mask of the valid frames; all ones when ``frames`` is None."""
    if frames is None:
        return torch.ones(1, width, 1, device=device)
    return (torch.arange(width, device=device)[None, :] < frames.to(device)[:, None]).float()[..., None]


class LayerPoolingHead(nn.Module):
    """Softmax-weighted sum of hidden layers, per-frame projection, masked pooling and a linear classifier.

    Args:
        num_classes (int): Number of output classes.
        num_states (int): Hidden states the encoder gives (its input stage and every layer: ``layers + 1``).
        dim (int): Width of each hidden state.
        hidden (int, optional): Width of the per-frame projection. (Default: ``256``)
        pooling (str, optional): ``"mean"`` over the valid frames, or ``"attentive"`` (attention-weighted mean
            and standard deviation). (Default: ``"mean"``)
        dropout (float, optional): Dropout on the pooled vector. (Default: ``0.1``)
        layer (int or None, optional): Use this one hidden state (``-1``: the last, as EmoBox does) instead of
            the learnt mix. (Default: ``None``)
        layer_norm (bool, optional): Normalise each hidden state (no learnt scale) before mixing, so layers of
            different magnitude mix evenly. (Default: ``True``)

    Shape:
        - states: ``(B, num_states, frames, dim)``.
        - frames: ``(B,)`` valid frames per clip, or None when every frame is valid.
        - output: ``(B, num_classes)`` logits.

    Example:
        >>> head = LayerPoolingHead(num_classes=8, num_states=13, dim=32)
        >>> head(torch.randn(2, 13, 50, 32), torch.tensor([50, 20])).shape
        torch.Size([2, 8])
    """

    def __init__(
        self,
        num_classes: int,
        num_states: int,
        dim: int,
        hidden: int = 256,
        pooling: str = "mean",
        dropout: float = 0.1,
        layer: Optional[int] = None,
        layer_norm: bool = True,
    ):
        super().__init__()
        if pooling not in POOLINGS:
            raise ConfigError(f"pooling={pooling!r}; use one of {list(POOLINGS)}")
        if layer is not None and not -num_states <= layer < num_states:
            raise ConfigError(
                f"layer={layer}, but the encoder has {num_states} hidden states (0 = its input stage, "
                f"{num_states - 1} = the last layer); use -{num_states}..{num_states - 1} or null for the mix"
            )
        self.pooling, self.layer, self.layer_norm, self.dim = pooling, layer, layer_norm, dim
        self.layer_weights = nn.Parameter(torch.zeros(num_states)) if layer is None else None
        self.project = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU())
        self.attention = (
            nn.Sequential(nn.Linear(hidden, hidden // 2), nn.Tanh(), nn.Linear(hidden // 2, 1))
            if pooling == "attentive"
            else None
        )
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden * (2 if pooling == "attentive" else 1), num_classes)

    def mix(self, states: Tensor) -> Tensor:
        """(B, frames, dim): the chosen hidden state, or the softmax-weighted sum of all of them."""
        if self.layer is not None:
            states = states[:, self.layer]
            return F.layer_norm(states, (self.dim,)) if self.layer_norm else states
        if self.layer_norm:
            states = F.layer_norm(states, (self.dim,))
        weights = self.layer_weights.softmax(0).to(states.dtype)
        return torch.einsum("l,blfd->bfd", weights, states)

    def pool(self, x: Tensor, mask: Tensor) -> Tensor:
        if self.attention is None:
            return (x * mask).sum(1) / mask.sum(1).clamp_min(1.0)
        scores = self.attention(x).masked_fill(mask == 0, float("-inf"))
        alpha = torch.nan_to_num(scores.softmax(1))  # a clip with no frame: all weights 0
        mean = (alpha * x).sum(1)
        std = ((alpha * x * x).sum(1) - mean * mean).clamp_min(1e-6).sqrt()
        return torch.cat([mean, std], dim=-1)

    def forward(self, states: Tensor, frames: Optional[Tensor] = None) -> Tensor:
        x = self.project(self.mix(states))
        return self.classifier(self.dropout(self.pool(x, frame_mask(frames, x.shape[1], x.device))))
