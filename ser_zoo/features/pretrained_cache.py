"""Frozen pretrained front-ends run once per clip: a disk cache of whole-clip outputs, cropped per batch.

CREPE and GE2E are far slower than a log-mel and, frozen, give the same output every epoch, so each clip's
output is computed once on the *whole* (VAD-trimmed, if set) clip and stored as ``.npy`` under
``$SER_ZOO_CACHE/features/<front-end>-<settings hash>/<corpus>-<rate>/<clip id>@<sample digest>.npy`` (the
``@`` written ``_``). A training batch then takes from each stored clip the frames of its own random crop, so
cached epochs see the same crops as uncached ones. The data module puts each row's clip key and crop start in
the batch; the LightningModule hands them to the front-end (``clip_refs``) only when the waveform reaching it
is the batch's own, i.e. no waveform augmentation or mixup changed it; otherwise, and at inference, the
network runs on the waveform as usual.

Crops taken from a whole-clip output differ from running the network on the crop only at the crop's edges: a
CREPE frame within 32 ms of a crop edge sees the real neighbouring audio instead of zero padding, and GE2E's
1.6 s windows sit on a 0.19 s grid of the whole clip instead of starting exactly at the crop start.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from .base import FrontEnd

ClipSource = Callable[[str], np.ndarray]  # clip key -> whole clip, float32 in [-1, 1]


def _feature_root() -> Path:
    return Path(os.environ.get("SER_ZOO_CACHE", Path.home() / ".cache" / "ser-zoo")) / "features"


class FeatureCache:
    """One folder of per-clip arrays for one front-end and settings; writes are atomic (temp file + rename).

    Args:
        name (str): The front-end's registered name, the folder's prefix.
        settings (dict): Everything the stored outputs depend on (model, hop, package version ...); their
            hash completes the folder name, so changed settings never read stale arrays.
        root (str or Path or None, optional): The folder above; None is ``$SER_ZOO_CACHE/features``
            (``~/.cache/ser-zoo/features`` when unset). (Default: ``None``)

    Example:
        >>> cache = FeatureCache("crepe_pitch", {"model": "tiny", "hop": 160}, root="/tmp/features")
        >>> cache.path("ravdess-16000/Actor_01/03-01-05-01-01-01-01@ab12").name
        '03-01-05-01-01-01-01_ab12.npy'
    """

    def __init__(self, name: str, settings: dict[str, Any], root: Optional[str | Path] = None):
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:12]
        self.dir = Path(root or _feature_root()) / f"{name}-{digest}"

    def path(self, key: str) -> Path:
        parts = [re.sub(r"[^\w.-]", "_", p) for p in key.split("/") if p not in ("", ".", "..")]
        return self.dir.joinpath(*parts).with_suffix(".npy")

    def get(self, key: str) -> Optional[np.ndarray]:
        try:
            return np.load(self.path(key), allow_pickle=False)
        except (OSError, ValueError, EOFError):  # absent, or a damaged file: computed again
            return None

    def put(self, key: str, value: np.ndarray) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".npy")
        with os.fdopen(fd, "wb") as f:
            np.save(f, np.ascontiguousarray(value))
        os.replace(tmp, path)


class ClipKeyed:
    """Mixin of the modules that serve a batch from per-clip stored outputs (frozen front-ends, frozen speech
    encoders): :func:`clip_refs` tells them each row's clip key and crop start, :func:`attach_clip_source`
    gives them the whole clips behind the keys."""

    clip_source: Optional[ClipSource] = None
    _clip_refs: Optional[tuple[list[str], Tensor]] = None


class CachedFrontEnd(FrontEnd, ClipKeyed):
    """A front-end around a pretrained network, frozen by default; whole-clip outputs cached when frozen.

    A frozen network is held outside the module tree: it follows ``.to(device)`` but stays out of state
    dicts (checkpoints do not carry the 2-90 MB of weights the installed wheel already holds) and out of
    ``.train()`` (CREPE has batch norm). Subclasses define ``raw`` (network outputs of a padded batch),
    ``entries`` (what to store per whole clip), ``from_entries`` (a batch of crops from stored clips) and
    ``finish``.

    Attributes:
        clip_source (Callable[[str], ndarray] or None): Whole clips by key, set by :func:`attach_clip_source`;
            without it a cache miss runs the network on the batch instead.
        cache (FeatureCache or None): Where whole-clip outputs are stored; None when caching is off.

    Shape:
        - wave: (B, T) and lengths: (B,) or None.
        - output: (B, *output_shape(T)), from the cache inside a :func:`clip_refs` block when every row's
          clip is stored or can be computed, else from the network.
    """

    cacheable = False  # set by subclasses: frozen and caching requested

    def __init__(self) -> None:
        super().__init__()
        self.clip_source: Optional[ClipSource] = None
        self._clip_refs: Optional[tuple[list[str], Tensor]] = None
        self.cache: Optional[FeatureCache] = None

    # -- the network ------------------------------------------------------------------------------
    def _hold(self, net: nn.Module, trainable: bool) -> None:
        if trainable:
            self.net = net
        else:
            net.eval().requires_grad_(False)
            self.__dict__["_frozen_net"] = net

    @property
    def network(self) -> nn.Module:
        frozen = self.__dict__.get("_frozen_net")
        return self.net if frozen is None else frozen

    @property
    def trainable(self) -> bool:
        return "_frozen_net" not in self.__dict__

    def _apply(self, fn, recurse: bool = True):
        super()._apply(fn, recurse)
        if "_frozen_net" in self.__dict__:
            self.__dict__["_frozen_net"]._apply(fn, recurse)
        return self

    # -- features ---------------------------------------------------------------------------------
    def features(self, wave: Tensor, lengths: Optional[Tensor]) -> Tensor:
        refs = self._clip_refs
        if self.cacheable and refs is not None and len(refs[0]) == len(wave):
            stored = self._stored(refs[0], wave.device)
            if stored is not None:
                n = torch.full((len(wave),), wave.shape[-1]) if lengths is None else lengths
                return self.finish(
                    self.from_entries(stored, refs[1], n, wave.shape[-1], wave.device), lengths
                )
        return self.finish(self.raw(wave, lengths), lengths)

    def _stored(self, keys: Sequence[str], device: torch.device) -> Optional[list[np.ndarray]]:
        """Each key's whole-clip entry, computing (in one padded batch) and storing the missing ones."""
        found = {k: self.cache.get(k) for k in dict.fromkeys(keys)}
        missing = [k for k, v in found.items() if v is None]
        if missing:
            if self.clip_source is None:
                return None
            waves = [np.asarray(self.clip_source(k), dtype=np.float32) for k in missing]
            lengths = torch.tensor([len(w) for w in waves])
            batch = torch.zeros(len(waves), int(lengths.max()))
            for i, w in enumerate(waves):
                batch[i, : len(w)] = torch.from_numpy(w)
            with torch.no_grad():
                new = self.entries(batch.to(device), lengths.to(device))
            for k, v in zip(missing, new):
                self.cache.put(k, v)
                found[k] = v
        return [found[k] for k in keys]

    def raw(self, wave: Tensor, lengths: Optional[Tensor]) -> Tensor:
        raise NotImplementedError

    def entries(self, wave: Tensor, lengths: Tensor) -> list[np.ndarray]:
        raise NotImplementedError

    def from_entries(
        self, stored: list[np.ndarray], starts: Tensor, lengths: Tensor, width: int, device: torch.device
    ) -> Tensor:
        raise NotImplementedError

    def finish(self, raw: Tensor, lengths: Optional[Tensor]) -> Tensor:
        return raw


def _cached_parts(module: nn.Module) -> list[ClipKeyed]:
    return [m for m in module.modules() if isinstance(m, ClipKeyed)]


@contextlib.contextmanager
def clip_refs(module: nn.Module, keys: Sequence[str], starts: Tensor) -> Iterator[None]:
    """Within the block, the cached parts of ``module`` know each batch row's clip key and crop start."""
    parts = _cached_parts(module)
    for p in parts:
        p._clip_refs = (list(keys), torch.as_tensor(starts).cpu())
    try:
        yield
    finally:
        for p in parts:
            p._clip_refs = None


def attach_clip_source(module: nn.Module, source: Optional[ClipSource]) -> int:
    """Give every cached part of ``module`` the whole clips behind the batch keys; returns how many."""
    parts = _cached_parts(module)
    for p in parts:
        p.clip_source = source
    return len(parts)
