"""The LightningDataModule: protocol fold -> cached waveforms -> cropped, padded batches. The dataset, caches
and collate function it serves are ``data/clips.py``'s, which evaluation and the baselines use without it.

CPU work stops at the waveform: features and augmentation run on the model's device. The corpora are built-in
names or your own folders and manifests (``data/sources.py``); your own clips share one cache family named by
their paths inside the corpus, so a moved or renamed corpus finds its caches again.
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from pathlib import Path
from typing import Literal, Optional, Sequence, Union

import lightning as L
import numpy as np
from torch.utils.data import DataLoader

from ..errors import ConfigError, SerZooError
from .cache import WaveformCache
from .clips import ClipDataset, build_caches, caches_ready, default_data_root, pad_collate
from .corpora import Clip
from .sampling import EpochShuffle, ResumableLoader, check_balance
from .sources import ClipTable, as_list, class_names, is_builtin, keep_classes, read_sources
from .splits import check_protocol, get_protocol, with_folds

log = logging.getLogger("ser_zoo")

#: the stages a ``setup(stage)`` serves: a fit tests right after (the bench), an evaluation needs its own only
STAGES = ("train", "val", "test")
STAGES_OF = {"fit": STAGES, None: STAGES, "validate": ("val",), "test": ("test",), "predict": ("test",)}


class SERDataModule(L.LightningDataModule):
    """Speech-emotion clips of one protocol fold as waveform batches.

    Args:
        root: data root holding ravdess/, crema_d/, tess/, savee/ (default: $SER_ZOO_DATA or ../shared/data).
        protocol: a named protocol (``ser-zoo data protocols`` lists them); ``speaker-kfold``, ``loso``,
            ``given-split`` and ``random-split`` run on any ``corpora``.
        fold: which fold of the protocol is the test set.
        classes: a class-set name (emotions8/7/6) or a list of labels; default: the protocol's, or every label
            of your own data.
        corpora: built-in corpus names and your own folders (``label/*.wav``, ``label/speaker/*.wav``) or
            CSV/TSV/JSONL manifests (``path,label[,speaker,gender,split,corpus]``); default: the protocol's.
        folds: the number of folds of ``speaker-kfold`` (default 5).
        label_map: labels renamed, e.g. ``{joy: happy, anger: angry}`` (or a built-in's ``{calm: neutral}``);
            unmapped labels stay as they are.
        clip_seconds: training clips are randomly cropped to this length; shorter ones are zero-padded.
        eval_crop: 'center' crops/pads evaluation clips to clip_seconds; 'full' keeps whole clips
            padded to the batch's longest, with ``lengths`` for masking.
        limit_clips: keep at most this many clips per stage (a deterministic subset, for smoke tests); only
            those clips are decoded.
        vad_trim: read every clip from its first to its last speech found by Silero VAD, before the crop
            (offsets computed once per clip, stored beside the waveform cache; needs ``ser-zoo[pretrained]``).
        balance_corpora: how evenly training draws from corpora of unequal size: each corpus's share of an
            epoch is proportional to its clip count to the power ``1 - balance_corpora``. 0 keeps the sizes
            (CREMA-D is 70 % of the four), 1 draws each corpus equally often (small ones repeat, large ones
            give a new subset each epoch), 0.5 is in between. The epoch keeps its length.
    """

    #: the settings that decide what a model sees of an evaluation clip: a trained model is scored (re-tested,
    #: put in an ensemble) with the values it was benched with, saved in its .ckpt or its zoo card's ``eval``
    READING = ("sample_rate", "clip_seconds", "eval_crop", "max_clip_seconds", "vad_trim")

    def __init__(
        self,
        root: Optional[str] = None,
        protocol: str = "ravdess-6fold",
        fold: int = 0,
        classes: Optional[Union[str, list[str]]] = None,
        corpora: Optional[Union[str, list[str]]] = None,
        folds: Optional[int] = None,
        label_map: Optional[dict[str, str]] = None,
        batch_size: int = 32,
        num_workers: int = 1,
        sample_rate: int = 16000,
        clip_seconds: float = 3.0,
        eval_crop: Literal["center", "full"] = "center",
        max_clip_seconds: float = 60.0,
        cache_dir: Optional[str] = None,
        limit_clips: Optional[int] = None,
        vad_trim: bool = False,
        balance_corpora: float = 0.0,
    ):
        super().__init__()
        self.save_hyperparameters()
        check_balance(balance_corpora)  # a bad value fails here, in one line, not at the first epoch
        self.protocol = get_protocol(protocol)
        if folds is not None:
            self.protocol = with_folds(self.protocol, folds)
        self.root = root or default_data_root()
        self.corpora = tuple(as_list(corpora) or self.protocol.corpora)
        if not self.corpora:
            raise ConfigError(
                f"protocol '{protocol}' runs on the corpora you name: set data.corpora to built-in names "
                "(ravdess, crema_d, tess, savee) or your own folders and manifests (docs/data.md)"
            )
        self._table: Optional[ClipTable] = None
        custom = any(not is_builtin(c) for c in self.corpora)
        if custom and not self.protocol.generic:
            raise ConfigError(
                f"protocol '{protocol}' is defined on {', '.join(self.protocol.corpora)}; for your own data "
                "use --data.protocol speaker-kfold, loso, given-split or random-split"
            )
        # the labels found decide the class set of your own data, and of a protocol without a set of its own
        from_data = custom or bool(label_map) or (classes is None and not self.protocol.classes)
        self.class_names = list(
            class_names(self.table if from_data else _EMPTY, classes, self.protocol.classes)
        )
        self.num_samples = int(round(clip_seconds * sample_rate))
        self.datasets: dict[str, ClipDataset] = {}
        self._decoded: set[str] = set()  # the stages whose clips setup decoded (see _stages)
        self._sources: dict = {}  # cache family -> waveform caches (or their VAD views), for full_clip

    def fold_count(self) -> int:
        """The folds of the protocol on these corpora (one per speaker for the leave-one-out ones); reads the
        clip table, decodes no audio."""
        return self.protocol.num_folds(self._clips())

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def table(self) -> ClipTable:
        """Every clip the corpora list (read once; your own manifests' missing files and non-audio files
        listed)."""
        if self._table is None:
            if any(is_builtin(c) for c in self.corpora) and not Path(self.root).is_dir():
                raise SerZooError(
                    f"data root not found: {self.root}; set --data.root or SER_ZOO_DATA, "
                    "or fetch a corpus with 'ser-zoo data download NAME --root DIR'"
                )
            self._table = read_sources(self.corpora, self.root, self.hparams.label_map)
        return self._table

    def _clips(self) -> list[Clip]:
        table = self.table
        if table.missing:
            shown = ", ".join(table.missing[:5]) + (
                f" and {len(table.missing) - 5} more" if len(table.missing) > 5 else ""
            )
            raise SerZooError(
                f"{len(table.missing)} files listed in the manifest do not exist: {shown}; fix the paths "
                "(relative ones resolve against the manifest's folder) or drop the rows"
            )
        return keep_classes(table.clips, self.class_names, say=table.custom)

    def _caches(self, clips: list[Clip]) -> dict[str, WaveformCache]:
        h = self.hparams
        return build_caches(clips, h.cache_dir, h.sample_rate, h.max_clip_seconds)

    def prepare_data(self) -> None:
        """Nothing: ``setup`` decodes what its stage needs, and a cache build is locked, so however many
        processes set up, one decodes and the others read its result."""

    def _stages(
        self, clips: list[Clip], needed: Sequence[str]
    ) -> tuple[dict[str, list[Clip]], dict[str, WaveformCache]]:
        """Each stage's clips, and the caches holding them. A fit, any stage once the corpora's caches are
        built, and any stage of a protocol that draws clips (``clip_level``) split the clips the cache build
        could read: every stage. Otherwise (a smoke run with ``limit_clips``, a test or validation on a fresh
        machine) every listed clip is split by speaker, the ``needed`` stages (their ``limit_clips`` subsets)
        are kept and only their clips decoded (an unreadable one then dropped); the other stages stay empty.
        So 24 clips, or one fold's test actors, do not decode whole corpora, and the stages hold the clips a
        full run's would."""
        h = self.hparams
        every = h.limit_clips is None and (set(needed) == set(STAGES) or self.protocol.clip_level)
        # a fit (the common case) skips the check, which stats every file as opening the caches does
        ready = not every and caches_ready(clips, h.cache_dir, h.sample_rate, h.max_clip_seconds)
        if every or (h.limit_clips is None and ready):
            cache = self._caches(clips)
            clips = [c for c in clips if c.id in cache[c.corpus]]  # bad clips were reported and skipped
            split = self.protocol.split(clips, h.fold)
            self._decoded = set(STAGES)
            return {name: [clips[i] for i in getattr(split, name)] for name in STAGES}, cache
        split = self.protocol.split(clips, h.fold)
        stages = {
            name: [clips[i] for i in self._limit(getattr(split, name))] if name in needed else []
            for name in STAGES
        }
        used = {(c.corpus, c.id): c for chosen in stages.values() for c in chosen}  # each clip once
        cache = self._caches(clips if ready else list(used.values()))
        self._decoded = set(needed)
        readable = {name: [c for c in chosen if c.id in cache[c.corpus]] for name, chosen in stages.items()}
        return readable, cache

    def setup(self, stage: Optional[str] = None) -> None:
        needed = STAGES_OF.get(stage, STAGES)
        if self.datasets and set(needed) <= self._decoded:
            return
        needed = tuple(n for n in STAGES if n in needed or n in self._decoded)  # keep what was set up
        self.datasets = {}
        clips = self._clips()
        self._check_protocol(clips)
        if self.hparams.fold >= self.protocol.num_folds(clips) or self.hparams.fold < 0:
            self.protocol.split(clips, self.hparams.fold)  # raises the clear error
        stages, cache = self._stages(clips, needed)
        self._report_unread(cache)
        if stage in ("fit", None) and (not stages["train"] or not stages["val"]):
            raise ConfigError(
                f"{self.protocol.name} fold {self.hparams.fold} leaves {len(stages['train'])} training and "
                f"{len(stages['val'])} validation clips; a fit needs both (more speakers, or other folds)"
            )
        label_of = {name: i for i, name in enumerate(self.class_names)}
        if self.hparams.vad_trim:
            from .vad import TrimmedCache

            used = [c for chosen in stages.values() for c in chosen]
            cache = {
                name: TrimmedCache(c, [u.id for u in used if u.corpus == name]) for name, c in cache.items()
            }
        self._sources = defaultdict(list)
        for c in cache.values():
            self._sources[c.family].append(c)
        for stage_name, chosen in stages.items():
            crop = "random" if stage_name == "train" else self.hparams.eval_crop
            self.datasets[stage_name] = ClipDataset(
                chosen, [label_of[c.emotion] for c in chosen], cache, crop, self.num_samples
            )
        self.datasets["predict"] = self.datasets["test"]

    def full_clip(self, key: str) -> np.ndarray:
        """The whole (VAD-trimmed, if set) clip behind a batch's ``clip`` key, float32 in [-1, 1]."""
        family, named = key.split("/", 1)
        clip_id = named.rsplit("@", 1)[0]
        source = next(s for s in self._sources[family] if clip_id in s and s.clip_key(clip_id) == key)
        return source.get(clip_id).astype(np.float32) / 32767.0

    def _check_protocol(self, clips: list[Clip]) -> None:
        """Stop on what keeps the protocol from splitting the clips; say what weakens its folds."""
        errors, warnings = check_protocol(clips, self.protocol)
        if errors:
            raise ConfigError(
                errors[0] + (f" (and {len(errors) - 1} more: ser-zoo data check)" if errors[1:] else "")
            )
        for w in warnings:
            log.warning(w)
        skipped = self.table.skipped
        if skipped:
            log.warning("%d files of your corpora are not read:", len(skipped))
            for s in skipped:
                log.warning("  %s: %s", s.path, s.reason)

    @staticmethod
    def _report_unread(cache: dict[str, WaveformCache]) -> None:
        """Clips whose audio could not be used, listed on every run (the cache build listed them once)."""
        for c in cache.values():
            if c.skipped and not c.built:
                log.warning("%s: %d clips left out (unreadable):", c.dir.name, len(c.skipped))
                for clip_id, why in c.skipped.items():
                    log.warning("  %s: %s", clip_id, why)

    def _limit(self, idx: list[int]) -> list[int]:
        n = self.hparams.limit_clips
        if n is None or len(idx) <= n:
            return idx
        keep = np.random.default_rng(0).choice(len(idx), n, replace=False)
        return [idx[i] for i in sorted(keep)]

    def _loader(self, stage: str) -> DataLoader:
        if stage not in self.datasets:
            raise SerZooError("the data module is not set up; call setup() first")
        h = self.hparams
        pad_to = self.num_samples if (stage == "train" or h.eval_crop == "center") else 0
        common = dict(
            batch_size=h.batch_size,
            drop_last=False,
            num_workers=h.num_workers,
            persistent_workers=h.num_workers > 0,
            collate_fn=functools.partial(pad_collate, min_length=pad_to),
        )
        if stage == "train":  # seeded per epoch and resumable mid-epoch (see data/sampling.py)
            clips = self.datasets[stage].clips
            order = EpochShuffle(len(clips), groups=[c.corpus for c in clips], balance=h.balance_corpora)
            return ResumableLoader(self.datasets[stage], sampler=order, **common)
        return DataLoader(self.datasets[stage], shuffle=False, **common)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train")

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")

    def predict_dataloader(self) -> DataLoader:
        return self._loader("predict")

    def stage_clips(self, stage: str) -> list[Clip]:
        return self.datasets[stage].clips


_EMPTY = ClipTable([], [], [], False, [])
