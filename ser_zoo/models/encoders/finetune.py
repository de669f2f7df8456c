"""Optimizer parameter groups for partial fine-tuning: layer-wise learning-rate decay below the head.

Fine-tuning the top N layers of a pretrained encoder with one learning rate destroys what the lower of them
learnt first; layer-wise decay (Howard & Ruder 2018, as in BEiT and SUPERB fine-tuning recipes) gives the
head the base rate and each layer below it ``decay`` times the rate of the one above. A frozen encoder's
parameters join no group, so the optimizer holds state for the trained ones only.
"""

from __future__ import annotations

from typing import Any, Sequence

from torch import nn

from ...errors import ConfigError


class PartialFineTuning(nn.Module):
    """Freezing, train mode and per-depth parameters of an encoder backbone whose top layers may train.

    A subclass sets ``num_layers`` and ``trainable_layers``, names its pretrained body in ``frozen_body``
    (kept in eval mode: no dropout in frozen layers) and lists its unfrozen parts by depth, top first, in
    ``trainable_parts``.
    """

    frozen_body = "model"
    num_layers: int
    trainable_layers: int

    def trainable_parts(self) -> list[list[nn.Module]]:
        raise NotImplementedError

    def set_trainable(self, top_layers: int) -> None:
        """Freeze everything, then unfreeze the top ``top_layers`` transformer layers (with what belongs to
        them); the convolutional feature encoder stays frozen."""
        if not 0 <= top_layers <= self.num_layers:
            raise ConfigError(
                f"finetune_layers={top_layers}, but the encoder has {self.num_layers} transformer layers; "
                f"use 0 (frozen) to {self.num_layers}"
            )
        self.trainable_layers = top_layers
        self.requires_grad_(False)
        for group in self.trainable_parts():
            for part in group:
                part.requires_grad_(True)
        self.train(self.training)

    def train(self, mode: bool = True) -> "PartialFineTuning":
        """Frozen parts stay in eval mode (no dropout); only the unfrozen layers follow ``mode``."""
        super().train(mode)
        getattr(self, self.frozen_body).eval()
        for group in self.trainable_parts():
            for part in group:
                part.train(mode)
        return self

    def layer_groups(self) -> list[list[nn.Parameter]]:
        """The trainable parameters by depth, top layer first (layer-wise learning-rate decay)."""
        return [[p for part in group for p in part.parameters()] for group in self.trainable_parts()]


def layerwise_groups(
    head: Sequence[nn.Parameter], layers: Sequence[Sequence[nn.Parameter]], lr: float, decay: float
) -> list[dict[str, Any]]:
    """``[{"params", "lr"}]``: the head at ``lr``, then ``layers`` (top first) at ``lr * decay ** depth``.

    Example:
        >>> a, b, c = (nn.Parameter(torch.zeros(1)) for _ in range(3))
        >>> [g["lr"] for g in layerwise_groups([a], [[b], [c]], 1e-3, 0.5)]
        [0.001, 0.0005, 0.00025]
    """
    groups = [{"params": list(head), "lr": lr}]
    groups += [{"params": list(p), "lr": lr * decay**depth} for depth, p in enumerate(layers, 1)]
    return [g for g in groups if g["params"]]


def optimizer_groups(module: nn.Module, lr: float) -> list[dict[str, Any]]:
    """The optimizer's parameter groups for ``module``: each submodule with a ``param_groups(lr)`` method (an
    encoder classifier) gives its own, and every other parameter of ``module`` forms one group at ``lr``
    (exactly the single group ``module.parameters()`` gave before, for every other model)."""
    owners = [m for m in module.modules() if m is not module and callable(getattr(m, "param_groups", None))]
    groups: list[dict[str, Any]] = []
    claimed: set[int] = set()
    for owner in owners:
        if any(id(p) in claimed for p in owner.parameters()):
            continue  # nested inside an owner already asked
        groups += owner.param_groups(lr)
        claimed |= {id(p) for p in owner.parameters()}
    rest = [p for p in module.parameters() if id(p) not in claimed]
    return ([{"params": rest, "lr": lr}] if rest or not groups else []) + groups
