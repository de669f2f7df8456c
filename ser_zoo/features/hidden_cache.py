"""Per-clip stacks of a frozen speech encoder's hidden layers, computed once and stored on disk in fp16.

A frozen encoder (wav2vec 2.0, HuBERT, WavLM, Whisper) gives the same hidden states every epoch, and its
forward pass is nearly all of a step's cost, so each clip's whole-clip stack (layers, frames, dim) is computed
once and stored with :class:`~ser_zoo.features.pretrained_cache.FeatureCache`, as
``$SER_ZOO_CACHE/features/<model>-<settings hash>/<corpus>-<rate>/<clip id>@<sample digest>.npy``. Settings
hold a digest of the encoder's weights and the clip key a digest of its samples, so other weights or another
clip never read a stale stack. Later epochs take from each stored clip the frames of the batch's own crop (its
start in frames), as the CREPE and GE2E caches do: near a crop's edges a frame has seen the whole clip's
context rather than the crop's, the one difference from running the encoder on the crop.

A base encoder's stack takes 13 x 50 x 768 x 2 bytes = 1 MB per second of audio (a large one 2.5 MB).
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch
from torch import Tensor

from .pretrained_cache import ClipSource, FeatureCache

StackFn = Callable[[Tensor, Tensor], list[np.ndarray]]  # (wave (N, T), lengths (N,)) -> N stacks (L, F_i, D)


class HiddenStateStore:
    """Whole-clip hidden-layer stacks of one encoder and weights, filled on first use.

    Args:
        name (str): The folder's prefix, e.g. the registered model name.
        settings (Callable[[], dict]): What the stacks depend on (architecture, weights digest), called on
            first use: weights are loaded, and may be replaced by a checkpoint's, after the model is built.
        root (str or None, optional): The folder above; None is ``$SER_ZOO_CACHE/features``.
            (Default: ``None``)
        batch_clips (int, optional): Clips per encoder pass when filling the store, shortest first.
            (Default: ``8``)
    """

    def __init__(
        self,
        name: str,
        settings: Callable[[], dict[str, Any]],
        root: Optional[str] = None,
        batch_clips: int = 8,
    ):
        self.name, self.settings, self.root, self.batch_clips = name, settings, root, max(1, int(batch_clips))
        self._cache: Optional[FeatureCache] = None

    @property
    def cache(self) -> FeatureCache:
        if self._cache is None:
            self._cache = FeatureCache(self.name, self.settings(), self.root)
        return self._cache

    def stacks(
        self, keys: Sequence[str], source: Optional[ClipSource], compute: StackFn, device: torch.device
    ) -> Optional[list[np.ndarray]]:
        """Each key's stack (layers, frames, dim), computing and storing the missing ones from the whole clips
        ``source`` gives; None when some are missing and there is no source."""
        found = {k: self.cache.get(k) for k in dict.fromkeys(keys)}
        missing = [k for k, v in found.items() if v is None]
        if missing and source is None:
            return None
        waves = {k: np.asarray(source(k), dtype=np.float32) for k in missing} if missing else {}
        order = sorted(missing, key=lambda k: len(waves[k]))
        for i in range(0, len(order), self.batch_clips):
            group = order[i : i + self.batch_clips]
            lengths = torch.tensor([len(waves[k]) for k in group])
            batch = torch.zeros(len(group), int(lengths.max()))
            for row, k in enumerate(group):
                batch[row, : len(waves[k])] = torch.from_numpy(waves[k])
            with torch.no_grad():
                new = compute(batch.to(device), lengths.to(device))
            for k, stack in zip(group, new):
                stack = stack.astype(np.float16)
                self.cache.put(k, stack)
                found[k] = stack
        return [found[k] for k in keys]


def crop_stacks(
    stored: Sequence[np.ndarray], first: Tensor, frames: Tensor, width: int, device: torch.device
) -> tuple[Tensor, Tensor]:
    """A batch ``(B, layers, width, dim)`` in float32 and its valid frames ``(B,)``: row i holds ``frames[i]``
    frames of ``stored[i]`` from frame ``first[i]`` on (fewer where the stored clip ends), zeros after.

    Example:
        >>> stack = np.arange(2 * 5 * 1, dtype=np.float16).reshape(2, 5, 1)
        >>> states, n = crop_stacks([stack], torch.tensor([3]), torch.tensor([3]), 4, torch.device("cpu"))
        >>> states[0, 0, :, 0], n
        (tensor([3., 4., 0., 0.]), tensor([2]))
    """
    layers, dim = stored[0].shape[0], stored[0].shape[-1]
    out = torch.zeros(len(stored), layers, width, dim, dtype=torch.float16)
    filled = torch.zeros(len(stored), dtype=torch.long)
    for i, stack in enumerate(stored):
        s = max(0, int(first[i]))
        n = max(0, min(int(frames[i]), width, stack.shape[1] - s))
        if n:
            out[i, :, :n] = torch.from_numpy(np.ascontiguousarray(stack[:, s : s + n]))
        filled[i] = n
    return out.to(device).float(), filled
