"""Fit checkpoints (``.ckpt``) read safely: every zip record's CRC-32 checked, then ``weights_only=True``.

A ``.ckpt`` is a zip of a pickle plus tensor records. ``torch.load`` does not check the records' CRCs, so a
damaged or altered tensor loads silently, and a truncated file fails with an OS error that names nothing.
Checking the zip first turns both into one line naming the file; ``weights_only=True`` (fit checkpoints hold
only tensors and plain values) means a pickle that would run code is refused, not executed. A file re-zipped
with matching CRCs can still carry altered weights: only zoo checkpoints (sha256 in their card) are pinned.

``SafeCheckpointIO`` reads ``--ckpt_path`` files this way for the Trainer; ``load_module`` builds a
``SERModule`` from one for everything else (``ser-zoo infer``, zoo export, ensembles).
"""

from __future__ import annotations

import inspect
import pickle
import zipfile
from pathlib import Path
from typing import Any, Optional, Union

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from ..calibration import KEY as CALIBRATION
from ..calibration import temperature_of
from ..errors import SerZooError
from .module import SERModule


def check_checkpoint(path: Union[str, Path]) -> Path:
    """The path, after checking it is a complete, undamaged torch zip; else a one-line ``SerZooError``."""
    p = Path(path)
    if not p.is_file():
        raise SerZooError(f"{p}: checkpoint not found")
    try:
        with zipfile.ZipFile(p) as z:
            bad = z.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise SerZooError(
            f"{p}: not a complete checkpoint ({str(e).splitlines()[0]}); the file is truncated or "
            "not a .ckpt from ser-zoo fit: copy it again or use an earlier checkpoint"
        ) from None
    if bad is not None:
        raise SerZooError(
            f"{p}: CRC-32 mismatch in record {bad}; the file is damaged or altered: copy it again "
            "or use an earlier checkpoint"
        )
    return p


def unpickle_refused(path: Union[str, Path], error: pickle.UnpicklingError) -> SerZooError:
    """The one-line error for a checkpoint whose pickle ``weights_only`` loading refused."""
    return SerZooError(
        f"{path}: refused to unpickle: it holds objects other than tensors and plain values "
        f"({str(error).splitlines()[0][:120]}...); load only checkpoints you trust"
    )


def load_checkpoint_file(path: Union[str, Path], map_location: Any = None, weights_only: bool = True) -> dict:
    """``torch.load`` of a checked ``.ckpt`` (``weights_only`` by default); errors name the file, one line."""
    p = check_checkpoint(path)
    try:
        return torch.load(p, map_location=map_location, weights_only=weights_only)
    except pickle.UnpicklingError as e:
        raise unpickle_refused(p, e) from None
    except (RuntimeError, OSError, EOFError) as e:
        raise SerZooError(f"{p}: unreadable checkpoint ({str(e).splitlines()[0]})") from None


class SafeCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint IO with the checks above on load (``--ckpt_path`` of every subcommand)."""

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
    """The ``SERModule`` of a ``ser-zoo fit`` checkpoint, read as ``SafeCheckpointIO`` reads one.

    A damaged, truncated or code-carrying file fails with one line naming it. The module is rebuilt from the
    saved hyperparameters without its ``init_from`` and ``model_kwargs.weights``: a checkpoint holds all its
    weights, so its zoo, ImageNet or speech-encoder starting point is neither loaded again nor needed. A
    checkpoint written by ``ser-zoo calibrate`` gives the module its ``calibration`` block and ``temperature``
    (others: None and 1.0); one trained on VAD-trimmed clips sets ``vad_trim``.
    """
    checkpoint = load_checkpoint_file(path, map_location)
    accepted = inspect.signature(SERModule).parameters  # not Lightning's _instantiator / _class_path keys
    saved = {k: v for k, v in (checkpoint.get("hyper_parameters") or {}).items() if k in accepted}
    start = dict(saved.get("model_kwargs") or {})
    start.pop("weights", None)  # an ImageNet or speech-encoder start: the checkpoint holds those weights too
    if "pretrained" in start:
        start["pretrained"] = False
    module = SERModule(**{**saved, "model_kwargs": start, "init_from": None})
    module.load_state_dict(checkpoint["state_dict"])
    module.calibration = checkpoint.get(CALIBRATION)
    module.temperature = temperature_of(module.calibration, str(path))
    module.vad_trim = bool((checkpoint.get("datamodule_hyper_parameters") or {}).get("vad_trim", False))
    return module
