"""SER-FusionNet (seed 001): deep features from a Conv1D/Conv2D extractor fused with statistics and gender.

Seed 001's model summaries fix the numbers: the Conv1D extractor reads the 162 clip means (``clip_means``) as a
length-162 sequence — Conv1D(256, k5, same) → MaxPool(2, same) → Conv1D(256, k5) → MaxPool → Dropout → Flatten
(10,496) → Dense 32 — and, trained on its own, ends in Dense 12 → Dense 6 (665,850 parameters for 6 classes,
``seed001_conv1d_extractor``). The fusion classifier reads 39 inputs = the 32 deep features, the 6 ``clip_stats``
and the gender feature (male 1, female 0): Dense 12 → Dense 10 → Dense classes (700 parameters for 6).
Here the two are trained end to end with one loss. Choices the seed leaves open, stated:
- ``extractor: conv2d`` reads the same 162 means as an 18 × 9 image through two 3 × 3 conv blocks into the same
  32-d bottleneck (the seed names a Conv2D extractor without its table);
- ``head: lstm | bilstm`` reads the fused vector as a sequence of 39 one-feature steps (32 hidden units) and
  classifies the final state(s);
- input BatchNorms standardise the 162 means and the 6 statistics, as the seed's StandardScaler did.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

from ..errors import ConfigError
from .registry import register_model

N_MEANS, N_STATS = 162, 6


class Conv1dExtractor(nn.Module):
    """Seed 001's Conv1D deep-feature extractor: 162 clip means -> 32 features."""

    def __init__(self, n_inputs: int = N_MEANS, dropout: float = 0.2):
        super().__init__()
        length = -(-(-(-n_inputs // 2)) // 2)  # two 'same' poolings: ceil(ceil(n / 2) / 2)
        self.body = nn.Sequential(
            nn.Conv1d(1, 256, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool1d(2, ceil_mode=True),
            nn.Conv1d(256, 256, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool1d(2, ceil_mode=True),
            nn.Dropout(dropout), nn.Flatten(), nn.Linear(256 * length, 32), nn.ReLU(inplace=True), nn.Dropout(dropout))

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x.unsqueeze(1))


class Conv2dExtractor(nn.Module):
    """The same 162 means as an 18 x 9 image -> 32 features (reconstruction, see the module docstring)."""

    def __init__(self, dropout: float = 0.2):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Dropout(dropout), nn.Flatten(), nn.Linear(64 * 4 * 2, 32), nn.ReLU(inplace=True), nn.Dropout(dropout))

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x.view(-1, 1, 18, 9))


def seed001_conv1d_extractor(num_classes: int = 6) -> nn.Sequential:
    """The seed's standalone extractor model ("sequential", 665,850 parameters for 6 classes)."""
    return nn.Sequential(Conv1dExtractor(), nn.Linear(32, 12), nn.ReLU(inplace=True), nn.Dropout(0.2),
                         nn.Linear(12, num_classes))


def fusion_mlp(n_inputs: int, num_classes: int) -> nn.Sequential:
    """The seed's fusion classifier ("sequential_4": 39 -> 12 -> 10 -> classes, 700 parameters for 6)."""
    return nn.Sequential(nn.Linear(n_inputs, 12), nn.ReLU(inplace=True), nn.Linear(12, 10), nn.ReLU(inplace=True),
                         nn.Linear(10, num_classes))


class RecurrentHead(nn.Module):
    def __init__(self, num_classes: int, bidirectional: bool, hidden: int = 32):
        super().__init__()
        self.rnn = nn.LSTM(1, hidden, batch_first=True, bidirectional=bidirectional)
        self.out = nn.Linear(hidden * (2 if bidirectional else 1), num_classes)

    def forward(self, fused: Tensor) -> Tensor:
        _, (h, _) = self.rnn(fused.unsqueeze(-1))  # h: (directions, B, hidden)
        return self.out(h.transpose(0, 1).flatten(1))


class SERFusionNet(nn.Module):
    extra_inputs = ("gender",)

    def __init__(self, num_classes: int, extractor: str = "conv1d", head: str = "mlp", use_gender: bool = True,
                 dropout: float = 0.2):
        super().__init__()
        extractors = {"conv1d": Conv1dExtractor, "conv2d": Conv2dExtractor}
        if extractor not in extractors:
            raise ConfigError(f"fusionnet extractor={extractor!r}; use one of {list(extractors)}")
        if head not in ("mlp", "lstm", "bilstm"):
            raise ConfigError(f"fusionnet head={head!r}; use 'mlp', 'lstm' or 'bilstm'")
        self.use_gender = use_gender
        self.norm_means, self.norm_stats = nn.BatchNorm1d(N_MEANS), nn.BatchNorm1d(N_STATS)
        self.extractor = extractors[extractor](dropout=dropout)
        n_fused = 32 + N_STATS + int(use_gender)
        self.head = fusion_mlp(n_fused, num_classes) if head == "mlp" else RecurrentHead(num_classes, head == "bilstm")

    def forward(self, x: Tensor, gender: Optional[Tensor] = None) -> Tensor:
        if x.shape[1] != N_MEANS + N_STATS:
            raise ValueError(f"expects {N_MEANS + N_STATS} features (clip_means with stats: true), got {x.shape[1]}")
        deep = self.extractor(self.norm_means(x[:, :N_MEANS]))
        parts = [deep, self.norm_stats(x[:, N_MEANS:])]
        if self.use_gender:
            g = torch.full((len(x),), 0.5, device=x.device) if gender is None else gender.to(x.dtype)
            parts.append(g[:, None])
        return self.head(torch.cat(parts, 1))


@register_model("fusionnet", frontend={"name": "clip_means", "stats": True}, input_kind="vector", source="seed 001",
                description="SER-FusionNet: Conv1D/Conv2D deep features + 6 statistics + gender -> MLP/LSTM/BiLSTM")
def fusionnet(num_classes: int, extractor: str = "conv1d", head: str = "mlp", use_gender: bool = True,
              dropout: float = 0.2) -> nn.Module:
    return SERFusionNet(num_classes, extractor, head, use_gender, dropout)
