"""Ensembles of trained zoo members (the next step seed 000 names): probability averaging and stacking.

Members are SERModules with their own front-ends; all must predict the same class list. The stacker is a
logistic regression over the members' concatenated probabilities, fitted on the VALIDATION speakers of the fold
(never the test speakers), then applied to the test stage.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from torch import Tensor, nn

from ..errors import ConfigError


def load_members(paths: Sequence[str]) -> list[nn.Module]:
    """SERModules from ``ser-zoo fit`` checkpoints (.ckpt) or zoo checkpoints (names / .safetensors)."""
    from ..lit.module import SERModule
    from ..zoo import load_pretrained

    return [SERModule.load_from_checkpoint(p, map_location="cpu").eval() if str(p).endswith(".ckpt")
            else load_pretrained(str(p)) for p in paths]


class AveragingEnsemble(nn.Module):
    """Weighted mean of the members' class probabilities."""

    def __init__(self, members: Sequence[nn.Module], weights: Optional[Sequence[float]] = None):
        super().__init__()
        if not members:
            raise ConfigError("an ensemble needs at least one member")
        names = [list(m.class_names) for m in members]
        if any(n != names[0] for n in names):
            raise ConfigError(f"ensemble members predict different classes: {names}; use members trained on one "
                              "class set")
        self.members, self.class_names = nn.ModuleList(members), names[0]
        w = torch.ones(len(members)) if weights is None else torch.as_tensor(weights, dtype=torch.float32)
        if len(w) != len(members) or (w < 0).any() or w.sum() <= 0:
            raise ConfigError(f"ensemble weights {list(map(float, w))} must be {len(members)} non-negative numbers")
        self.register_buffer("weights", w / w.sum(), persistent=False)

    def member_probs(self, wave: Tensor, lengths: Optional[Tensor] = None, **extra: Tensor) -> Tensor:
        """(members, B, classes) probabilities."""
        return torch.stack([m(wave, lengths, **extra).softmax(-1) for m in self.members])

    def forward(self, wave: Tensor, lengths: Optional[Tensor] = None, **extra: Tensor) -> Tensor:
        return torch.einsum("m,mbc->bc", self.weights, self.member_probs(wave, lengths, **extra))


@torch.no_grad()
def collect_probs(model: nn.Module, dm, stage: str) -> tuple[np.ndarray, np.ndarray, list]:
    """(probabilities or member probabilities, labels, clips) over one stage of a set-up data module."""
    probs, labels = [], []
    loader = getattr(dm, f"{stage}_dataloader")()
    fn = model.member_probs if isinstance(model, AveragingEnsemble) else (lambda *a, **k: model(*a, **k).softmax(-1))
    for batch in loader:
        probs.append(fn(batch["audio"], batch["lengths"], gender=batch["gender"]).cpu())
        labels.append(batch["label"])
    axis = 1 if isinstance(model, AveragingEnsemble) else 0
    return torch.cat(probs, axis).numpy(), torch.cat(labels).numpy(), dm.stage_clips(stage)


class StackedEnsemble:
    """Logistic regression over member probabilities, fitted on validation speakers only."""

    def __init__(self, members: Sequence[nn.Module], C: float = 1.0):
        self.base = AveragingEnsemble(members).eval()
        self.class_names = self.base.class_names
        self.stacker = LogisticRegression(C=C, max_iter=2000)
        self.fitted_on: list = []

    @staticmethod
    def _flat(member_probs: np.ndarray) -> np.ndarray:
        return np.concatenate(list(member_probs), axis=1)  # (B, members * classes)

    def fit(self, dm) -> "StackedEnsemble":
        probs, labels, clips = collect_probs(self.base, dm, "val")
        self.stacker.fit(self._flat(probs), labels)
        self.fitted_on = list(clips)
        return self

    def predict_proba(self, member_probs: np.ndarray) -> np.ndarray:
        out = np.zeros((member_probs.shape[1], len(self.class_names)))
        out[:, self.stacker.classes_] = self.stacker.predict_proba(self._flat(member_probs))
        return out


def evaluate(model, dm, stage: str = "test") -> dict:
    """The baselines' metric dict (WA, UA, F1, recall, confusion) for a module, an average or a stack."""
    from .classical import classification_metrics

    if isinstance(model, StackedEnsemble):
        member_probs, labels, clips = collect_probs(model.base, dm, stage)
        probs = model.predict_proba(member_probs)
    else:
        model.eval()
        probs, labels, clips = collect_probs(model, dm, stage)
        if isinstance(model, AveragingEnsemble):
            probs = np.einsum("m,mbc->bc", model.weights.numpy(), probs)
    out = classification_metrics(probs.argmax(1), labels, list(model.class_names))
    out["n_test"] = len(labels)
    return out
