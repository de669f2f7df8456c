"""Corpora, protocols, the waveform cache and the LightningDataModule.

``SERDataModule`` is imported on first use (PEP 562): reading a folder of audio (``ser_zoo.data.scan``) or a
corpus's clip list does not load Lightning, so ``ser-zoo infer`` and ``listen`` start without it.
"""

from __future__ import annotations

import importlib
from typing import Any

from .corpora import OFFICIAL_COUNTS, Clip, filter_classes, read_corpora, read_corpus
from .labels import CLASS_SETS, EMOTIONS, resolve_classes
from .splits import PROTOCOLS, get_protocol

__all__ = [
    "Clip",
    "OFFICIAL_COUNTS",
    "read_corpus",
    "read_corpora",
    "filter_classes",
    "SERDataModule",
    "EMOTIONS",
    "CLASS_SETS",
    "resolve_classes",
    "PROTOCOLS",
    "get_protocol",
]


def __getattr__(name: str) -> Any:
    if name == "SERDataModule":
        value = importlib.import_module(".datamodule", __name__).SERDataModule
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
