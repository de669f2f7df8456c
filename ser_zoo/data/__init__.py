"""Corpora, protocols, the waveform cache and the LightningDataModule."""

from .corpora import OFFICIAL_COUNTS, Clip, filter_classes, read_corpora, read_corpus
from .datamodule import SERDataModule
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
