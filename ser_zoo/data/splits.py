"""Named, reproducible evaluation protocols.

Every protocol except ``random-split`` is speaker-independent: a speaker's clips sit in exactly
one of train / val / test, and validation speakers are drawn from the training speakers of the
fold, so model selection never sees a test speaker.
"""

from __future__ import annotations

import dataclasses
import random
from collections import defaultdict
from typing import Sequence

from ..errors import ConfigError
from .corpora import Clip


@dataclasses.dataclass(frozen=True)
class Split:
    """Clip indices (into the clip list the protocol was given) per stage."""

    train: list[int]
    val: list[int]
    test: list[int]


@dataclasses.dataclass(frozen=True)
class Protocol:
    """A named way to turn a clip list into folds."""

    name: str
    corpora: tuple[str, ...]
    classes: str  # default class set
    description: str
    speaker_independent: bool = True

    def num_folds(self, clips: Sequence[Clip]) -> int:
        raise NotImplementedError

    def split(self, clips: Sequence[Clip], fold: int) -> Split:
        raise NotImplementedError

    def _check_fold(self, clips: Sequence[Clip], fold: int) -> None:
        n = self.num_folds(clips)
        if not 0 <= fold < n:
            raise ConfigError(f"protocol '{self.name}' has folds 0..{n - 1}; got fold={fold}")


def _speakers(clips: Sequence[Clip]) -> dict[str, Clip]:
    """Speaker id -> one of its clips (for corpus and gender), in sorted speaker order."""
    first: dict[str, Clip] = {}
    for c in clips:
        first.setdefault(c.speaker, c)
    return dict(sorted(first.items()))


def _draw_validation(
    train_speakers: list[str], info: dict[str, Clip], fraction: float, seed: int
) -> list[str]:
    """A seeded draw of training speakers, spread over (corpus, gender) in proportion to their share,
    so validation mirrors training (a 2-speaker corpus like TESS is not pulled into a small val set)."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for s in sorted(train_speakers):
        groups[(info[s].corpus, info[s].gender)].append(s)
    rng = random.Random(seed)
    ranked = []
    for members in groups.values():
        rng.shuffle(members)
        offset = rng.random()
        ranked += [((j + offset) / len(members), s) for j, s in enumerate(members)]
    k = max(1, round(fraction * len(train_speakers)))
    return [s for _, s in sorted(ranked)[:k]]


def _by_speaker(clips: Sequence[Clip], train: set[str], val: set[str], test: set[str]) -> Split:
    parts: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for i, c in enumerate(clips):
        stage = (
            "test"
            if c.speaker in test
            else "val"
            if c.speaker in val
            else "train"
            if c.speaker in train
            else None
        )
        if stage:
            parts[stage].append(i)
    return Split(**parts)


@dataclasses.dataclass(frozen=True)
class SpeakerKFold(Protocol):
    """Folds of whole speakers. ``blocks`` keeps sorted speakers in consecutive blocks (SER-FusionNet's
    RAVDESS actors 1-4, 5-8, ...); ``stratified`` deals speakers round-robin per (corpus, gender)."""

    folds: int = 5
    assign: str = "stratified"
    val_fraction: float = 0.2
    seed: int = 0

    def num_folds(self, clips: Sequence[Clip]) -> int:
        return self.folds

    def fold_speakers(self, clips: Sequence[Clip]) -> list[list[str]]:
        info = _speakers(clips)
        names = list(info)
        if len(names) < self.folds:
            raise ConfigError(
                f"protocol '{self.name}' needs at least {self.folds} speakers; found {len(names)}"
            )
        if self.assign == "blocks":
            size = len(names) / self.folds
            return [names[round(i * size) : round((i + 1) * size)] for i in range(self.folds)]
        ordered = sorted(names, key=lambda s: (info[s].corpus, info[s].gender, s))
        return [ordered[i :: self.folds] for i in range(self.folds)]

    def split(self, clips: Sequence[Clip], fold: int) -> Split:
        self._check_fold(clips, fold)
        info = _speakers(clips)
        test = set(self.fold_speakers(clips)[fold])
        pool = [s for s in info if s not in test]
        val = set(_draw_validation(pool, info, self.val_fraction, self.seed + fold))
        return _by_speaker(clips, set(pool) - val, val, test)


@dataclasses.dataclass(frozen=True)
class CrossCorpus(Protocol):
    """Train (and validate, on held-out training speakers) on some corpora, test on others."""

    train_corpora: tuple[str, ...] = ()
    val_fraction: float = 0.1
    seed: int = 0

    def num_folds(self, clips: Sequence[Clip]) -> int:
        return 1

    def split(self, clips: Sequence[Clip], fold: int) -> Split:
        self._check_fold(clips, fold)
        info = _speakers(clips)
        pool = [s for s, c in info.items() if c.corpus in self.train_corpora]
        test = {s for s, c in info.items() if c.corpus not in self.train_corpora}
        val = set(_draw_validation(pool, info, self.val_fraction, self.seed))
        return _by_speaker(clips, set(pool) - val, val, test)


@dataclasses.dataclass(frozen=True)
class LeaveOneSpeakerOut(Protocol):
    """Each speaker is the test set once; the next speaker in sorted order validates."""

    def num_folds(self, clips: Sequence[Clip]) -> int:
        return len(_speakers(clips))

    def split(self, clips: Sequence[Clip], fold: int) -> Split:
        self._check_fold(clips, fold)
        names = list(_speakers(clips))
        test, val = names[fold], names[(fold + 1) % len(names)]
        return _by_speaker(clips, set(names) - {test, val}, {val}, {test})


@dataclasses.dataclass(frozen=True)
class LeaveOneSpeakerOutHeldOutWords(Protocol):
    """Two-speaker corpora (TESS): each speaker is the test set once and the other one trains. No third
    speaker is left to validate on, so a seeded ``val_fraction`` of the training speaker's words (every
    emotion of each such word) validates; the test speaker is never seen in training or model selection."""

    val_fraction: float = 0.15
    seed: int = 0
    val_from_training_speakers: bool = True  # validation shares the training speaker (by design, see above)

    def num_folds(self, clips: Sequence[Clip]) -> int:
        return len(_speakers(clips))

    def split(self, clips: Sequence[Clip], fold: int) -> Split:
        self._check_fold(clips, fold)
        test = list(_speakers(clips))[fold]
        words = sorted({c.text for c in clips if c.speaker != test})
        val_words = set(random.Random(self.seed).sample(words, max(1, round(self.val_fraction * len(words)))))
        parts: dict[str, list[int]] = {"train": [], "val": [], "test": []}
        for i, c in enumerate(clips):
            parts["test" if c.speaker == test else "val" if c.text in val_words else "train"].append(i)
        return Split(**parts)


@dataclasses.dataclass(frozen=True)
class RandomClipSplit(Protocol):
    """Clip-level shuffle (speakers leak across stages). Only for comparison with published numbers that were
    measured on such a split."""

    val_fraction: float = 0.1
    test_fraction: float = 0.2
    seed: int = 0

    def num_folds(self, clips: Sequence[Clip]) -> int:
        return 1

    def split(self, clips: Sequence[Clip], fold: int) -> Split:
        self._check_fold(clips, fold)
        order = list(range(len(clips)))
        random.Random(self.seed).shuffle(order)
        n_test, n_val = round(self.test_fraction * len(order)), round(self.val_fraction * len(order))
        return Split(
            train=sorted(order[n_test + n_val :]),
            val=sorted(order[n_test : n_test + n_val]),
            test=sorted(order[:n_test]),
        )


ALL_CORPORA = ("ravdess", "crema_d", "tess", "savee")

PROTOCOLS: dict[str, Protocol] = {
    p.name: p
    for p in [
        SpeakerKFold(
            "ravdess-6fold",
            ("ravdess",),
            "emotions8",
            "RAVDESS, 6 folds of 4 consecutive actors (as SER-FusionNet); 4 of the other 20 actors validate",
            folds=6,
            assign="blocks",
            val_fraction=0.2,
        ),
        SpeakerKFold(
            "crema_d-kfold",
            ("crema_d",),
            "emotions6",
            "CREMA-D, 5 gender-stratified folds of actors; 15% of training actors validate",
            folds=5,
            val_fraction=0.15,
        ),
        SpeakerKFold(
            "union-11fold",
            ALL_CORPORA,
            "emotions6",
            "RAVDESS+CREMA-D+TESS+SAVEE, 11 folds of 11 speakers stratified by corpus and gender "
            "(as SER-FusionNet)",
            folds=11,
            val_fraction=0.1,
        ),
        CrossCorpus(
            "cross-corpus",
            ALL_CORPORA,
            "emotions6",
            "train CREMA-D+RAVDESS (10% of speakers validate), test SAVEE+TESS (as SER-FusionNet)",
            train_corpora=("crema_d", "ravdess"),
        ),
        LeaveOneSpeakerOut(
            "savee-loso", ("savee",), "emotions7", "SAVEE, leave one speaker out; the next speaker validates"
        ),
        LeaveOneSpeakerOutHeldOutWords(
            "tess-loso",
            ("tess",),
            "emotions7",
            "TESS, one speaker trains and the other tests; 15% of the training speaker's words "
            "validate (no third speaker)",
        ),
        RandomClipSplit(
            "random-split",
            ("ravdess",),
            "emotions8",
            "clip-level 70/10/20 shuffle; speakers leak, never a headline number",
            speaker_independent=False,
        ),
    ]
}


def get_protocol(name: str) -> Protocol:
    if name not in PROTOCOLS:
        raise ConfigError(f"unknown protocol '{name}'; use one of {sorted(PROTOCOLS)}")
    return PROTOCOLS[name]
