"""SER-FusionNet: deep features from a Conv1D/Conv2D extractor fused with statistics and gender.

The SER-FusionNet report's model summaries fix the numbers: the Conv1D extractor reads the 162 clip means
(``clip_means``) as a length-162 sequence — Conv1D(256, k5, same) → MaxPool(2, same) → Conv1D(256, k5) →
MaxPool → Dropout → Flatten (10,496) → Dense 32 — and, trained on its own, ends in Dense 12 → Dense 6
(665,850 parameters for 6 classes, ``fusionnet_conv1d_extractor``). The fusion classifier ("sequential_4") is
Dense 12 → Dense 10 → Dense classes over the fused features the report lists: 32 deep + 6 statistics
(``clip_stats``) + gender (male 1, female 0) = 39. The report is inconsistent here: its summary's 504
parameters for Dense 12 imply 41 inputs (12 × 42), not 39. We follow the listed features, so the fusion MLP
has 676 parameters (480 + 130 + 66); ``fusion_mlp(41, 6)`` gives the summary's 700 exactly. The two missing
inputs are not named anywhere in the report.
Choices the report leaves open, stated:
- ``extractor: conv2d`` reads the same 162 means as an 18 × 9 image through two 3 × 3 conv blocks into the
  same 32-d bottleneck (the report names a Conv2D extractor without its table);
- ``head: lstm | bilstm`` reads the fused vector as a sequence of 39 one-feature steps (32 hidden units) and
  classifies the final state(s);
- input BatchNorms standardise the 162 means and the 6 statistics, as the report's StandardScaler did;
- dropout rate 0.2 and ReLU after every hidden Dense/Conv (the summaries give neither);
- the report trains the extractor first (with its own Dense 12 -> 6 head) and the fusion classifier on its
  frozen 32-d output; here one loss on the fused head trains both (``fusionnet_conv1d_extractor`` builds the
  report's first-stage model for anyone who wants the two-stage schedule).
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

from ..errors import ConfigError
from .registry import register_model
from .sources import SER_FUSIONNET

N_MEANS, N_STATS = 162, 6


class Conv1dExtractor(nn.Module):
    """SER-FusionNet's Conv1D deep-feature extractor: clip means -> 32 features.

    Args:
        n_inputs (int, optional): Length of the clip-mean vector. (Default: ``162``)
        dropout (float, optional): Dropout after the convolutions and after the 32-d layer. (Default: ``0.2``)

    Shape:
        - Input: ``(B, n_inputs)``.
        - Output: ``(B, 32)`` deep features.

    Example:
        >>> Conv1dExtractor()(torch.randn(2, 162)).shape
        torch.Size([2, 32])
    """

    def __init__(self, n_inputs: int = N_MEANS, dropout: float = 0.2):
        super().__init__()
        length = -(-(-(-n_inputs // 2)) // 2)  # two 'same' poolings: ceil(ceil(n / 2) / 2)
        self.body = nn.Sequential(
            nn.Conv1d(1, 256, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool1d(2, ceil_mode=True),
            nn.Conv1d(256, 256, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool1d(2, ceil_mode=True),
            nn.Dropout(dropout),
            nn.Flatten(),
            nn.Linear(256 * length, 32),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x.unsqueeze(1))


class Conv2dExtractor(nn.Module):
    """The same 162 means as an 18 x 9 image -> 32 features (a reconstruction, see the module docstring).

    Args:
        dropout (float, optional): Dropout after the convolutions and after the 32-d layer. (Default: ``0.2``)

    Shape:
        - Input: ``(B, 162)``.
        - Output: ``(B, 32)`` deep features.

    Example:
        >>> Conv2dExtractor()(torch.randn(2, 162)).shape
        torch.Size([2, 32])
    """

    def __init__(self, dropout: float = 0.2):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Dropout(dropout),
            nn.Flatten(),
            nn.Linear(64 * 4 * 2, 32),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x.view(-1, 1, 18, 9))


def extractor_head(num_classes: int, dropout: float = 0.2) -> nn.Sequential:
    """The report's Dense 12 -> Dense classes head on the 32 deep features (its first-stage training target).

    Args:
        num_classes (int): Number of output classes.
        dropout (float, optional): Dropout after the Dense 12 layer. (Default: ``0.2``)

    Returns:
        nn.Sequential: ``(B, 32)`` deep features -> ``(B, num_classes)`` logits.
    """
    return nn.Sequential(
        nn.Linear(32, 12), nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(12, num_classes)
    )


def fusionnet_conv1d_extractor(num_classes: int = 6) -> nn.Sequential:
    """The report's standalone extractor model ("sequential", 665,850 parameters for 6 classes).

    Args:
        num_classes (int, optional): Number of output classes. (Default: ``6``)

    Returns:
        nn.Sequential: ``(B, 162)`` clip means -> ``(B, num_classes)`` logits.

    Example:
        >>> fusionnet_conv1d_extractor(num_classes=6)(torch.randn(2, 162)).shape
        torch.Size([2, 6])
    """
    return nn.Sequential(Conv1dExtractor(), extractor_head(num_classes))


def fusion_mlp(n_inputs: int, num_classes: int) -> nn.Sequential:
    """The report's fusion classifier ("sequential_4": n -> 12 -> 10 -> classes).

    It has 700 parameters at ``n_inputs=41`` and 6 classes, the report's summary.

    Args:
        n_inputs (int): Length of the fused vector.
        num_classes (int): Number of output classes.

    Returns:
        nn.Sequential: ``(B, n_inputs)`` -> ``(B, num_classes)`` logits.
    """
    return nn.Sequential(
        nn.Linear(n_inputs, 12),
        nn.ReLU(inplace=True),
        nn.Linear(12, 10),
        nn.ReLU(inplace=True),
        nn.Linear(10, num_classes),
    )


class RecurrentHead(nn.Module):
    """LSTM/BiLSTM over the fused vector read as one-feature steps; the final state(s) -> classes.

    Args:
        num_classes (int): Number of output classes.
        bidirectional (bool): BiLSTM if true, LSTM otherwise.
        hidden (int, optional): LSTM hidden size per direction. (Default: ``32``)

    Shape:
        - Input: ``(B, N)`` fused vector (N = 39 in SER-FusionNet), read as N steps of one feature.
        - Output: ``(B, num_classes)`` logits.

    Example:
        >>> RecurrentHead(num_classes=6, bidirectional=True)(torch.randn(2, 39)).shape
        torch.Size([2, 6])
    """

    def __init__(self, num_classes: int, bidirectional: bool, hidden: int = 32):
        super().__init__()
        self.rnn = nn.LSTM(1, hidden, batch_first=True, bidirectional=bidirectional)
        self.out = nn.Linear(hidden * (2 if bidirectional else 1), num_classes)

    def forward(self, fused: Tensor) -> Tensor:
        _, (h, _) = self.rnn(fused.unsqueeze(-1))  # h: (directions, B, hidden)
        return self.out(h.transpose(0, 1).flatten(1))


class SERFusionNet(nn.Module):
    """162 clip means + 6 statistics (``clip_means`` with ``stats: true``) and gender -> class logits.

    Args:
        num_classes (int): Number of output classes.
        extractor (str, optional): Deep-feature extractor, ``"conv1d"`` or ``"conv2d"``.
            (Default: ``"conv1d"``)
        head (str, optional): Classifier on the fused vector, ``"mlp"``, ``"lstm"`` or ``"bilstm"``.
            (Default: ``"mlp"``)
        use_gender (bool, optional): Fuse the speaker's gender (1 male, 0 female, 0.5 unknown).
            (Default: ``True``)
        dropout (float, optional): Dropout inside the extractor. (Default: ``0.2``)

    Shape:
        - Input: ``(B, 168)`` features and optional ``gender`` ``(B,)`` (0.5 where omitted).
        - Output: ``(B, num_classes)`` logits.

    Example:
        >>> model = SERFusionNet(num_classes=6, head="bilstm")
        >>> model(torch.randn(2, 168), gender=torch.tensor([1.0, 0.0])).shape
        torch.Size([2, 6])
    """

    extra_inputs = ("gender",)

    def __init__(
        self,
        num_classes: int,
        extractor: str = "conv1d",
        head: str = "mlp",
        use_gender: bool = True,
        dropout: float = 0.2,
    ):
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
        self.head = (
            fusion_mlp(n_fused, num_classes)
            if head == "mlp"
            else RecurrentHead(num_classes, head == "bilstm")
        )

    def _check(self, x: Tensor) -> None:
        if x.dim() != 2 or x.shape[1] != N_MEANS + N_STATS:
            raise ValueError(
                f"expects (B, {N_MEANS + N_STATS}) features (clip_means with stats: true), "
                f"got {tuple(x.shape)}"
            )

    def deep_features(self, x: Tensor) -> Tensor:
        """The extractor's 32-d bottleneck for a (B, 168) input."""
        self._check(x)
        return self.extractor(self.norm_means(x[:, :N_MEANS]))

    def forward(self, x: Tensor, gender: Optional[Tensor] = None) -> Tensor:
        deep = self.deep_features(x)
        parts = [deep, self.norm_stats(x[:, N_MEANS:])]
        if self.use_gender:
            g = torch.full((len(x),), 0.5, device=x.device) if gender is None else gender.to(x.dtype)
            parts.append(g[:, None])
        return self.head(torch.cat(parts, 1))


@register_model(
    "fusionnet",
    frontend={"name": "clip_means", "stats": True},
    input_kind="vector",
    source=SER_FUSIONNET,
    description="SER-FusionNet: Conv1D/Conv2D deep features + 6 statistics + gender -> MLP/LSTM/BiLSTM",
)
def fusionnet(
    num_classes: int,
    extractor: str = "conv1d",
    head: str = "mlp",
    use_gender: bool = True,
    dropout: float = 0.2,
) -> nn.Module:
    """SER-FusionNet: a :class:`SERFusionNet` on ``clip_means`` with ``stats: true`` (168 values per clip).

    Args:
        num_classes (int): Number of output classes.
        extractor (str, optional): Deep-feature extractor, ``"conv1d"`` or ``"conv2d"``.
            (Default: ``"conv1d"``)
        head (str, optional): Classifier on the fused vector, ``"mlp"``, ``"lstm"`` or ``"bilstm"``.
            (Default: ``"mlp"``)
        use_gender (bool, optional): Fuse the speaker's gender (the batch's ``gender``). (Default: ``True``)
        dropout (float, optional): Dropout inside the extractor. (Default: ``0.2``)

    Returns:
        nn.Module: ``(B, 168)`` features (and optional ``gender`` ``(B,)``) -> ``(B, num_classes)`` logits.

    Example:
        >>> model = fusionnet(num_classes=6)
        >>> model(torch.randn(2, 168)).shape
        torch.Size([2, 6])
    """
    return SERFusionNet(num_classes, extractor, head, use_gender, dropout)
