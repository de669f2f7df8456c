"""Fit checkpoints (``.ckpt``) read safely: every zip record's CRC-32 checked, then ``weights_only=True``.

A ``.ckpt`` is a zip of a pickle plus tensor records. ``torch.load`` does not check the records' CRCs, so a
damaged or altered tensor loads silently, and a truncated file fails with an OS error that names nothing.
Checking the zip first turns both into one line naming the file; ``weights_only=True`` (fit checkpoints hold
only tensors and plain values) means a pickle that would run code is refused, not executed. A file re-zipped
with matching CRCs can still carry altered weights: only zoo checkpoints (sha256 in their card) are pinned.

Plain torch, so inference reads a ``.ckpt`` without importing Lightning (``ser_zoo.models.network``);
``ser_zoo.lit.safe_ckpt`` gives the Trainer and ``load_module`` the same checks.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any, Union

import torch

from .errors import SerZooError


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
