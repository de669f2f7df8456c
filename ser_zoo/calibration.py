"""Calibrated probabilities: one temperature fitted on validation-speaker logits, and the calibration error.

Networks trained with cross-entropy are overconfident; temperature scaling (Guo et al., ICML 2017) divides the
logits by one scalar T > 0 fitted to minimise the negative log-likelihood on held-out clips. The argmax, hence
WA, UA and F1, never changes; only the probabilities become honest. The expected calibration error (ECE) is
torchmetrics' top-label, equal-width-bin one. ``ser-zoo calibrate`` (``ser_zoo.calibrate``) fits T on a
checkpoint's validation speakers; the checkpoint (key ``calibration``) and the zoo card (``calibration``)
carry it, and ``ser_zoo.inference`` divides by it.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics.functional.classification import multiclass_calibration_error

from .errors import SerZooError

#: T is searched in [1/100, 100]: beyond, the validation set is separable or the model uninformative
LOG_T_BOUND = math.log(100.0)


@dataclasses.dataclass(frozen=True)
class TemperatureFit:
    """A fitted temperature, with the validation NLL and ECE (``n_bins`` bins) before (T = 1) and after."""

    temperature: float
    nll_before: float
    nll_after: float
    ece_before: float
    ece_after: float
    clips: int
    n_bins: int = 15


def _checked(scores: Tensor, labels: Tensor, what: str) -> tuple[Tensor, Tensor]:
    """(N, C) float64 scores and (N,) long labels, or one line saying what is wrong."""
    scores, labels = torch.as_tensor(scores), torch.as_tensor(labels)
    if scores.dim() != 2 or labels.dim() != 1 or len(scores) != len(labels):
        raise SerZooError(
            f"{what}: expected (N, C) scores and (N,) labels, "
            f"got {tuple(scores.shape)} and {tuple(labels.shape)}"
        )
    if not len(labels):
        raise SerZooError(f"{what}: no clips to calibrate on")
    if labels.is_floating_point() or labels.min() < 0 or labels.max() >= scores.shape[1]:
        raise SerZooError(f"{what}: labels must be class indices in [0, {scores.shape[1] - 1}]")
    if not torch.isfinite(scores).all():
        raise SerZooError(f"{what}: the scores hold NaN or infinite values")
    return scores.detach().double().cpu(), labels.detach().long().cpu()


def expected_calibration_error(probs: Tensor, labels: Tensor, n_bins: int = 15) -> float:
    """Top-label ECE: the clip-weighted mean |accuracy - confidence| over ``n_bins`` equal-width bins."""
    probs, labels = _checked(probs, labels, "expected_calibration_error")
    if ((probs < 0) | (probs > 1)).any():
        raise SerZooError("expected_calibration_error: probabilities must lie in [0, 1] (softmax the logits)")
    return float(multiclass_calibration_error(probs, labels, probs.shape[1], n_bins=n_bins, norm="l1"))


def scores_at(logits: Tensor, labels: Tensor, temperature: float = 1.0, n_bins: int = 15) -> dict[str, float]:
    """NLL and ECE of ``softmax(logits / temperature)``."""
    logits, labels = _checked(logits, labels, "calibration scores")
    scaled = logits / temperature
    return {
        "nll": float(F.cross_entropy(scaled, labels)),
        "ece": expected_calibration_error(scaled.softmax(-1), labels, n_bins),
    }


def fit_temperature(logits: Tensor, labels: Tensor, n_bins: int = 15) -> TemperatureFit:
    """The T > 0 minimising the NLL of ``softmax(logits / T)`` (L-BFGS on log T, float64: deterministic)."""
    logits, labels = _checked(logits, labels, "fit_temperature")
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS(
        [log_t], lr=1.0, max_iter=200, tolerance_grad=1e-10, line_search_fn="strong_wolfe"
    )

    def nll() -> Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(logits / log_t.clamp(-LOG_T_BOUND, LOG_T_BOUND).exp(), labels)
        loss.backward()
        return loss

    opt.step(nll)
    temperature = float(log_t.detach().clamp(-LOG_T_BOUND, LOG_T_BOUND).exp())
    before, after = scores_at(logits, labels, 1.0, n_bins), scores_at(logits, labels, temperature, n_bins)
    return TemperatureFit(
        temperature, before["nll"], after["nll"], before["ece"], after["ece"], len(labels), n_bins
    )
