"""Adapt a trained model to a new recording set-up without labels: AdaBN (Li et al. 2016).

A corpus's microphones, rooms and speakers shift the features each BatchNorm layer normalises;
re-estimating the layers' running mean and variance on the new audio (one forward pass, no labels, no
gradients) undoes much of that shift. Measured on loco, where each corpus in turn is unheard
(benchmarks/results/loco_adabn.md). The adapted model has then seen the audio it is evaluated on: a figure
after adaptation is transductive and is reported as such, never as the protocol's headline.
"""

from __future__ import annotations

from typing import Any, Iterable

import torch
from torch import nn


def batchnorm_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """Every BatchNorm layer of ``model`` (1-d, 2-d and 3-d alike)."""
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@torch.no_grad()
def adapt_batchnorm(model: nn.Module, batches: Iterable[dict[str, Any]]) -> int:
    """Replace each BatchNorm layer's running statistics with their plain average over ``batches`` (the data
    module's batch dicts: ``audio`` and ``lengths``; labels unused), augmentation off; returns the number of
    clips seen. The model is left in eval mode; a model without BatchNorm is returned unchanged (0 clips)."""
    norms = batchnorm_layers(model)
    if not norms:
        return 0
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: every batch weighs the same
    model.train()
    if getattr(model, "augment", None) is not None:
        model.augment.eval()
    seen = 0
    try:
        for batch in batches:
            model._logits(batch, train=False)
            seen += len(batch["lengths"])
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        model.eval()
    return seen
