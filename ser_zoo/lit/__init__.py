"""Lightning pieces: the module, its callbacks, safe fit-checkpoint loading (the training CLI: ``cli``)."""

from .callbacks import ConfusionMatrixWriter, DataModuleFacts, ReplayableTraining
from .module import SERModule, stage_metrics
from .safe_ckpt import load_module

__all__ = [
    "ConfusionMatrixWriter",
    "DataModuleFacts",
    "ReplayableTraining",
    "SERModule",
    "load_module",
    "stage_metrics",
]
