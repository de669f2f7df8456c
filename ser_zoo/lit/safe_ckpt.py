"""Fit checkpoints (``.ckpt``) read with ``ser_zoo.checkpoint_file``'s checks (CRC-32 of every record, then
``weights_only=True``) wherever Lightning reads them.

``SafeCheckpointIO`` reads ``--ckpt_path`` files this way for the Trainer; ``load_module`` builds a
``SERModule`` from one for calibration and ensembles.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Union

from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from ..checkpoint_file import load_checkpoint_file
from ..models.network import from_fit_checkpoint
from .module import SERModule


class SafeCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint IO with ``checkpoint_file``'s checks on load (``--ckpt_path`` of every
    subcommand)."""

    def load_checkpoint(
        self,
        path: Union[str, Path],
        map_location: Optional[Any] = lambda storage, loc: storage,
        weights_only: Optional[bool] = None,
    ) -> dict[str, Any]:
        if not Path(path).is_file():  # remote paths and Lightning's own not-found message: unchanged
            return super().load_checkpoint(path, map_location=map_location, weights_only=weights_only)
        return load_checkpoint_file(path, map_location, True if weights_only is None else weights_only)


def load_module(path: Union[str, Path], map_location: Any = "cpu") -> SERModule:
    """The ``SERModule`` of a ``ser-zoo fit`` checkpoint, read as ``SafeCheckpointIO`` reads one (for training
    and evaluation jobs; inference builds the Lightning-free ``ser_zoo.models.network.load_network``)."""
    return from_fit_checkpoint(SERModule, path, map_location)
