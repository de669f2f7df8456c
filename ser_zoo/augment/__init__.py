"""Batched, on-device augmentation configured from the recipe (``model.augment``)."""

from .pipeline import Augmentation

__all__ = ["Augmentation"]
