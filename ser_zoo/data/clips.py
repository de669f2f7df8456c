"""Clips as tensors, without Lightning: the waveform caches of a clip list, the dataset that crops them and
the collate function that pads them into named batches.

``SERDataModule`` serves these per protocol stage; evaluation, the feature baselines and ensembles read clips
with them directly, so they start without importing Lightning.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple, Optional, Sequence, TypedDict, Union

import numpy as np
import torch
from torch.utils.data import Dataset

from ..seeding import derived_seed
from .cache import WaveformCache
from .corpora import Clip

#: The waveform cache name (and clip-key family) of every clip from your own folders and manifests: clips are
#: named by their path inside the corpus, so the keys do not depend on where the corpus lives or its name.
OWN_CACHE = "own"


def default_data_root() -> str:
    """$SER_ZOO_DATA, else a ``shared/data`` beside the working directory (the dev layout)."""
    if os.environ.get("SER_ZOO_DATA"):
        return os.environ["SER_ZOO_DATA"]
    for candidate in (Path("../shared/data"), Path("shared/data"), Path("data")):
        if candidate.is_dir():
            return str(candidate)
    return str(Path.home() / "ser-zoo-data")


def clip_key(cache: dict, clip: Clip) -> str:
    """Names a clip (plain or VAD-trimmed) in per-clip feature caches by its audio
    (``WaveformCache.clip_key``), so the key survives a re-mounted corpus and is shared by every protocol's
    clip list holding the clip."""
    return cache[clip.corpus].clip_key(clip.id)


#: SER-FusionNet's gender input (Boopathi et al., SJSU 2023): 1 male, 0 female, 0.5 when unknown
GENDER_CODE = {"male": 1.0, "female": 0.0}


class ClipItem(NamedTuple):
    """One clip as ``ClipDataset`` serves it; ``pad_collate`` turns a list of them into a ``ClipBatch``."""

    wave: torch.Tensor  # float32 samples in [-1, 1], cropped (1-D)
    label: int  # class index into the data module's ``class_names``
    index: int  # position of the clip in its stage's clip list
    gender: float  # ``GENDER_CODE`` of the speaker
    clip_key: str  # the clip's cache key (``clip_key``), for cached pretrained front-ends
    start: int  # where the crop starts in the whole clip, in samples


class ClipBatch(TypedDict):
    """A collated batch. A dict, so Lightning moves its tensors to the device; ``SERModule`` reads it by key.

    Batches built elsewhere (``ser-zoo infer``) carry only ``audio`` and ``lengths``.
    """

    audio: torch.Tensor  # (batch, samples) float32, zero-padded past each clip's length
    lengths: torch.Tensor  # (batch,) int64, valid samples per row
    label: torch.Tensor  # (batch,) int64 class indices
    index: torch.Tensor  # (batch,) int64 positions in the stage's clip list
    gender: torch.Tensor  # (batch,) float32 ``GENDER_CODE`` values
    clip: list[str]  # the clips' cache keys
    start: torch.Tensor  # (batch,) int64 crop starts, in samples


def _cache_groups(clips: Sequence[Clip]) -> dict[str, tuple[str, list[Clip]]]:
    """Corpus name -> (its waveform cache's name, its clips): your own corpora share the OWN_CACHE family."""
    groups: dict[str, list[Clip]] = defaultdict(list)
    for c in clips:
        groups[c.corpus].append(c)
    return {name: (OWN_CACHE if members[0].key else name, members) for name, members in groups.items()}


def build_caches(
    clips: Sequence[Clip], cache_dir: Optional[str], sample_rate: int, max_seconds: float
) -> dict[str, WaveformCache]:
    """One waveform cache per corpus of ``clips`` (decoded on first use), by corpus name."""
    return {
        name: WaveformCache(members, cache_dir, sample_rate, name=cache_name, max_seconds=max_seconds)
        for name, (cache_name, members) in _cache_groups(clips).items()
    }


def caches_ready(
    clips: Sequence[Clip], cache_dir: Optional[str], sample_rate: int, max_seconds: float
) -> bool:
    """Whether ``build_caches`` would find every cache built (and decode nothing)."""
    return all(
        WaveformCache.ready(members, cache_dir, sample_rate, cache_name, max_seconds)
        for cache_name, members in _cache_groups(clips).values()
    )


class ClipDataset(Dataset):
    """Clips of one stage; ``crop`` is 'random' (training), 'center' (fixed-length eval) or 'full'.

    Items are ``i`` or ``(i, epoch)`` (from ``EpochShuffle``); with the epoch, the random crop is drawn from
    (run seed, epoch, i), so it is the same in a resumed run and in any loader worker. Each item also carries
    the clip's key and crop start, so frozen pretrained front-ends can crop their cached whole-clip outputs.
    """

    def __init__(
        self,
        clips: list[Clip],
        labels: list[int],
        cache: dict[str, WaveformCache],
        crop: str,
        num_samples: int,
    ):
        self.clips, self.labels, self.cache, self.crop, self.num_samples = (
            clips,
            labels,
            cache,
            crop,
            num_samples,
        )

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, key: Union[int, tuple[int, int]]) -> ClipItem:
        i, epoch = key if isinstance(key, tuple) else (key, None)
        clip = self.clips[i]
        wave = self.cache[clip.corpus].get(clip.id)
        n, start = len(wave), 0
        if self.crop != "full" and n > self.num_samples:
            extra = n - self.num_samples
            if self.crop != "random":
                start = extra // 2
            elif epoch is None:
                start = int(torch.randint(0, extra + 1, ()).item())
            else:
                start = int(np.random.default_rng(derived_seed(2, epoch, i)).integers(0, extra + 1))
            wave = wave[start : start + self.num_samples]
        wave = torch.from_numpy(wave.astype(np.float32) / 32767.0)
        return ClipItem(
            wave=wave,
            label=self.labels[i],
            index=i,
            gender=GENDER_CODE.get(clip.gender, 0.5),
            clip_key=clip_key(self.cache, clip),
            start=start,
        )


def pad_collate(items: Sequence[ClipItem], min_length: int = 0) -> ClipBatch:
    """Zero-pad to the longest clip (or ``min_length``); ``lengths`` keeps the valid sample counts.

    The batch also carries ``gender`` for models that fuse it (SER-FusionNet), and ``clip`` (keys) and
    ``start`` (crop starts, samples) for cached pretrained front-ends."""
    lengths = torch.tensor([len(item.wave) for item in items])
    audio = torch.zeros(len(items), max(int(lengths.max()), min_length))
    for row, item in enumerate(items):
        audio[row, : len(item.wave)] = item.wave
    return ClipBatch(
        audio=audio,
        lengths=lengths,
        label=torch.tensor([item.label for item in items]),
        index=torch.tensor([item.index for item in items]),
        gender=torch.tensor([item.gender for item in items], dtype=torch.float32),
        clip=[item.clip_key for item in items],
        start=torch.tensor([item.start for item in items]),
    )
