"""Named, reproducible evaluation protocols.

Every protocol except ``random-split`` is speaker-independent: a speaker's clips sit in exactly
one of train / val / test, and validation speakers are drawn from the training speakers of the
fold, so model selection never sees a test speaker. ``speaker-kfold``, ``loso``, ``given-split`` and
``random-split`` run on any corpora (``data.corpora``: built-in names, your own folders or manifests);
``check_protocol`` says before any training what keeps a clip table from a protocol, or weakens it.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter, defaultdict
from typing import NamedTuple, Optional, Sequence

from ..errors import ConfigError
from ..suggest import hint
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
    corpora: tuple[str, ...]  # () for the generic protocols: the corpora come from data.corpora
    classes: str  # default class set; "" for every label the data carries
    description: str
    speaker_independent: bool = True
    generic: bool = False  # runs on any corpora, your own included
    # the split draws clips, not only speakers: dropping an unreadable clip can move others between stages
    clip_level: bool = False

    def num_folds(self, clips: Sequence[Clip]) -> int:
        raise NotImplementedError

    def known_folds(self) -> Optional[int]:
        """The fold count without the data (a leaderboard's "every fold"); None where only the data knows."""
        return None if self.generic else 1

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


def _by_corpus(clips: Sequence[Clip], tested: set[str], val_fraction: float, seed: int) -> Split:
    """The speakers of the ``tested`` corpora test; the others train, a seeded ``val_fraction`` of them
    validating."""
    info = _speakers(clips)
    pool = [s for s, c in info.items() if c.corpus not in tested]
    test = {s for s, c in info.items() if c.corpus in tested}
    val = set(_draw_validation(pool, info, val_fraction, seed))
    return _by_speaker(clips, set(pool) - val, val, test)


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

    def known_folds(self) -> Optional[int]:
        return None if self.generic else self.folds  # speaker-kfold's --data.folds sets its own

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
        tested = {c.corpus for c in clips} - set(self.train_corpora)
        return _by_corpus(clips, tested, self.val_fraction, self.seed)


@dataclasses.dataclass(frozen=True)
class LeaveOneCorpusOut(Protocol):
    """Each corpus is the test set once (speech from somewhere else: other speakers, rooms, microphones and
    scripts); the others train, and a seeded ``val_fraction`` of their speakers validates."""

    val_fraction: float = 0.1
    seed: int = 0

    def fold_corpora(self, clips: Sequence[Clip]) -> list[str]:
        """The test corpus of each fold: the protocol's corpora in their order, those present in ``clips``."""
        present = {c.corpus for c in clips}
        return [c for c in self.corpora if c in present] + sorted(present - set(self.corpora))

    def num_folds(self, clips: Sequence[Clip]) -> int:
        return len(self.fold_corpora(clips))

    def known_folds(self) -> Optional[int]:
        return len(self.corpora)

    def split(self, clips: Sequence[Clip], fold: int) -> Split:
        self._check_fold(clips, fold)
        held_out = self.fold_corpora(clips)[fold]
        return _by_corpus(clips, {held_out}, self.val_fraction, self.seed + fold)


@dataclasses.dataclass(frozen=True)
class EverySpeakerTrains(Protocol):
    """No test set: every speaker trains but a seeded ``val_fraction`` that selects the checkpoint and fits
    its temperature. For a shipped general checkpoint only; its recipe's test figures come from ``loco``."""

    val_fraction: float = 0.1
    seed: int = 0

    def num_folds(self, clips: Sequence[Clip]) -> int:
        return 1

    def split(self, clips: Sequence[Clip], fold: int) -> Split:
        self._check_fold(clips, fold)
        return _by_corpus(clips, set(), self.val_fraction, self.seed)


@dataclasses.dataclass(frozen=True)
class LeaveOneSpeakerOut(Protocol):
    """Each speaker is the test set once; the next speaker in sorted order validates."""

    speakers: Optional[int] = (
        None  # a built-in corpus's speaker count: its fold count, known without the data
    )

    def num_folds(self, clips: Sequence[Clip]) -> int:
        return len(_speakers(clips))

    def known_folds(self) -> Optional[int]:
        return self.speakers

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
    clip_level: bool = True  # validation words are drawn from the words the clips hold
    val_from_training_speakers: bool = True  # validation shares the training speaker (by design, see above)
    speakers: Optional[int] = None  # the corpus's speaker count: its fold count, known without the data

    def num_folds(self, clips: Sequence[Clip]) -> int:
        return len(_speakers(clips))

    def known_folds(self) -> Optional[int]:
        return self.speakers

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
    clip_level: bool = True

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


@dataclasses.dataclass(frozen=True)
class GivenSplit(Protocol):
    """The manifest's ``split`` column (train, val, test). Without val rows, a seeded ``val_fraction`` of the
    training speakers validates, as in every other protocol."""

    val_fraction: float = 0.2
    seed: int = 0

    def num_folds(self, clips: Sequence[Clip]) -> int:
        return 1

    def split(self, clips: Sequence[Clip], fold: int) -> Split:
        self._check_fold(clips, fold)
        stages: dict[str, list[int]] = {"train": [], "val": [], "test": []}
        for i, c in enumerate(clips):
            if c.split in stages:
                stages[c.split].append(i)
        if stages["val"]:
            return Split(**stages)
        info = _speakers([clips[i] for i in stages["train"]])
        val = set(_draw_validation(list(info), info, self.val_fraction, self.seed))
        return Split(
            train=[i for i in stages["train"] if clips[i].speaker not in val],
            val=[i for i in stages["train"] if clips[i].speaker in val],
            test=stages["test"],
        )


class Findings(NamedTuple):
    """What ``check_protocol`` found: errors stop a fit, warnings are printed."""

    errors: list[str]
    warnings: list[str]


def check_protocol(clips: Sequence[Clip], protocol: Protocol) -> Findings:
    """Whether ``protocol`` can split ``clips`` (errors), and what weakens its folds (warnings)."""
    errors: list[str] = []
    warnings: list[str] = []
    name = protocol.name
    unnamed = Counter(c.corpus for c in clips if not c.speaker)
    if not protocol.speaker_independent:
        warnings.append(
            f"{name}: clips are shuffled regardless of speaker, so test speakers are heard in training: "
            "not speaker-independent, never a headline number"
        )
    elif unnamed:
        where = ", ".join(f"{corpus} ({n} clips)" for corpus, n in sorted(unnamed.items()))
        errors.append(
            f"protocol '{name}' splits by speaker but {where} has no speakers; add them (<label>/<speaker>/ "
            "folders or a speaker column) or use --data.protocol random-split (not speaker-independent)"
        )
        return Findings(errors, warnings)
    per_speaker = Counter(c.speaker for c in clips if c.speaker)
    single = sorted(s for s, n in per_speaker.items() if n == 1)
    if single:
        shown = ", ".join(single[:5]) + (f" and {len(single) - 5} more" if len(single) > 5 else "")
        warnings.append(f"{len(single)} speakers have a single clip ({shown}): a typo in the speaker names?")
    folds = _fold_count(clips, protocol, per_speaker)
    if isinstance(protocol, LeaveOneSpeakerOut) and len(per_speaker) < 3:
        errors.append(
            f"protocol '{name}' needs 3 or more speakers (one tests, the next validates, the rest train); "
            f"found {len(per_speaker)}"
        )
    if isinstance(protocol, SpeakerKFold) and len(per_speaker) < protocol.folds:
        errors.append(
            f"protocol '{name}' needs at least {protocol.folds} speakers for {protocol.folds} folds; found "
            f"{len(per_speaker)}: lower --data.folds"
        )
    if folds:
        clips_of = Counter(c.emotion for c in clips)
        speakers_of: dict[str, set[str]] = defaultdict(set)
        for c in clips:
            speakers_of[c.emotion].add(c.speaker)
        for label in sorted(clips_of):
            if clips_of[label] < folds:
                errors.append(
                    f"label '{label}' has {clips_of[label]} clips, fewer than the {folds} folds; "
                    "drop it from --data.classes or use fewer folds"
                )
            elif len(speakers_of[label]) < folds:
                warnings.append(
                    f"label '{label}' is spoken by {len(speakers_of[label])} speakers, fewer than the "
                    f"{folds} folds: some test folds have none of it"
                )
    if isinstance(protocol, GivenSplit):
        errors += _given_split_errors(clips, name)
        both = sorted(
            {c.speaker for c in clips if c.split == "train"} & {c.speaker for c in clips if c.split == "test"}
        )
        if both and not errors:
            warnings.append(
                f"given-split: {len(both)} speakers are in both train and test ({', '.join(both[:5])}): "
                "not speaker-independent"
            )
    return Findings(errors, warnings)


def _fold_count(clips: Sequence[Clip], protocol: Protocol, per_speaker: Counter) -> int:
    """How many test folds split the speakers (0 where folds are not made of speakers)."""
    if isinstance(protocol, SpeakerKFold):
        return protocol.folds
    if isinstance(protocol, LeaveOneSpeakerOut):
        return len(per_speaker)
    return 0


def _given_split_errors(clips: Sequence[Clip], name: str) -> list[str]:
    unset = Counter(c.corpus for c in clips if not c.split)
    if unset:
        where = ", ".join(f"{corpus} ({n} clips)" for corpus, n in sorted(unset.items()))
        return [f"protocol '{name}' reads the manifest's split column, which {where} lacks; add one"]
    stages = Counter(c.split for c in clips)
    if not stages["train"] or not stages["test"]:
        return [f"protocol '{name}': the split column has {dict(stages)}; it needs train and test rows"]
    if not stages["val"] and len({c.speaker for c in clips if c.split == "train"}) < 2:
        return [
            f"protocol '{name}': no val rows, and a single training speaker to draw validation speakers "
            "from; mark some rows val"
        ]
    return []


def with_folds(protocol: Protocol, folds: int) -> Protocol:
    """``speaker-kfold`` with ``folds`` folds (``--data.folds``)."""
    if protocol.name != "speaker-kfold":
        raise ConfigError(
            f"data.folds sets the folds of speaker-kfold; protocol '{protocol.name}' has folds of its own"
        )
    if folds < 2:
        raise ConfigError(f"data.folds={folds}: use 2 or more folds")
    return dataclasses.replace(protocol, folds=folds)


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
        LeaveOneCorpusOut(
            "loco",
            ALL_CORPORA,
            "emotions6",
            "leave one corpus out: train on three of RAVDESS, CREMA-D, TESS, SAVEE (10% of their speakers "
            "validate), test on the fourth; 4 folds",
        ),
        EverySpeakerTrains(
            "union-all",
            ALL_CORPORA,
            "emotions6",
            "every speaker of the four corpora trains, 10% of them validate; no test set (the general "
            "checkpoint; its recipe is measured on loco)",
        ),
        LeaveOneSpeakerOut(
            "savee-loso",
            ("savee",),
            "emotions7",
            "SAVEE, leave one speaker out; the next speaker validates",
            speakers=4,
        ),
        LeaveOneSpeakerOutHeldOutWords(
            "tess-loso",
            ("tess",),
            "emotions7",
            "TESS, one speaker trains and the other tests; 15% of the training speaker's words "
            "validate (no third speaker)",
            speakers=2,
        ),
        RandomClipSplit(
            "random-split",
            ("ravdess",),
            "emotions8",
            "clip-level 70/10/20 shuffle of any corpora; speakers leak, never a headline number",
            speaker_independent=False,
            generic=True,
        ),
        SpeakerKFold(
            "speaker-kfold",
            (),
            "",
            "any corpora: --data.folds folds of speakers (default 5), dealt per corpus and gender; 20% of "
            "training speakers validate",
            generic=True,
            folds=5,
            val_fraction=0.2,
        ),
        LeaveOneSpeakerOut(
            "loso",
            (),
            "",
            "any corpora: leave one speaker out; the next speaker validates",
            generic=True,
        ),
        GivenSplit(
            "given-split",
            (),
            "",
            "your manifest's split column (train/val/test); without val rows, 20% of training speakers "
            "validate",
            generic=True,
        ),
    ]
}


def get_protocol(name: str) -> Protocol:
    if name not in PROTOCOLS:
        raise ConfigError(f"unknown protocol '{name}'; {hint(name, PROTOCOLS)}use one of {sorted(PROTOCOLS)}")
    return PROTOCOLS[name]
