"""Protocols: no speaker on two sides of any fold, SER-FusionNet's RAVDESS actor blocks, reproducibility."""

import dataclasses

import pytest

from ser_zoo.data import PROTOCOLS, filter_classes, get_protocol, read_corpora, resolve_classes
from ser_zoo.errors import ConfigError


@pytest.fixture(scope="module")
def clips_by_protocol(data_root):
    cache = {}
    for name, p in PROTOCOLS.items():
        key = p.corpora or ("savee", "tess")  # the protocols for any corpus run here on SAVEE + TESS
        if key not in cache:
            cache[key] = read_corpora(key, data_root)
        cache[name] = filter_classes(cache[key], resolve_classes(p.classes or "emotions7"))
    # given-split reads a split column: SAVEE's DC tests, the others train (validation is drawn from them)
    cache["given-split"] = [
        dataclasses.replace(c, split="test" if c.speaker == "savee_DC" else "train")
        for c in cache["given-split"]
    ]
    return cache


@pytest.mark.parametrize(
    "name", [n for n, p in PROTOCOLS.items() if p.speaker_independent and n != "union-all"]
)
def test_no_speaker_on_two_sides(clips_by_protocol, name):
    protocol, clips = PROTOCOLS[name], clips_by_protocol[name]
    tested = set()
    for fold in range(protocol.num_folds(clips)):
        split = protocol.split(clips, fold)
        train, val, test = ({clips[i].speaker for i in part} for part in (split.train, split.val, split.test))
        assert train and val and test
        assert not (train & test) and not (val & test)
        if getattr(
            protocol, "val_from_training_speakers", False
        ):  # tess-loso: 2 speakers, validation by word
            texts = ({clips[i].text for i in part} for part in (split.train, split.val))
            assert not set.intersection(*texts)
        else:
            assert not (train & val)
        assert len(split.train) + len(split.val) + len(split.test) == len(clips)
        tested |= test
    if name not in ("cross-corpus", "given-split"):  # every speaker is tested exactly once over the folds
        assert tested == {c.speaker for c in clips}


def test_ravdess_folds_are_fusionnet_actor_blocks(clips_by_protocol):
    protocol, clips = PROTOCOLS["ravdess-6fold"], clips_by_protocol["ravdess-6fold"]
    for fold in range(6):
        split = protocol.split(clips, fold)
        assert {clips[i].speaker for i in split.test} == {
            f"ravdess_{a:02d}" for a in range(4 * fold + 1, 4 * fold + 5)
        }
        val = [clips[i] for i in split.val]
        assert len({c.speaker for c in val}) == 4 and {c.gender for c in val} == {"male", "female"}


def test_cross_corpus_sides(clips_by_protocol):
    clips = clips_by_protocol["cross-corpus"]
    split = PROTOCOLS["cross-corpus"].split(clips, 0)
    assert {clips[i].corpus for i in split.test} == {"savee", "tess"}
    assert {clips[i].corpus for i in split.train + split.val} == {"crema_d", "ravdess"}


def test_loco_holds_out_each_corpus_once(clips_by_protocol):
    protocol, clips = PROTOCOLS["loco"], clips_by_protocol["loco"]
    assert protocol.num_folds(clips) == 4
    for fold, held_out in enumerate(("ravdess", "crema_d", "tess", "savee")):
        split = protocol.split(clips, fold)
        assert {clips[i].corpus for i in split.test} == {held_out}
        assert {clips[i].corpus for i in split.train} == {"ravdess", "crema_d", "tess", "savee"} - {held_out}
        assert held_out not in {clips[i].corpus for i in split.val}


def test_union_all_trains_every_speaker_and_tests_none(clips_by_protocol):
    clips = clips_by_protocol["union-all"]
    split = PROTOCOLS["union-all"].split(clips, 0)
    train, val = ({clips[i].speaker for i in part} for part in (split.train, split.val))
    assert not split.test and not (train & val) and train | val == {c.speaker for c in clips}
    assert {"ravdess", "crema_d"} <= {clips[i].corpus for i in split.val}  # the big corpora, in proportion
    assert 0.08 < len(val) / len(train | val) < 0.12


@pytest.mark.parametrize("name", [n for n, p in PROTOCOLS.items() if not p.generic])
def test_known_fold_counts_match_the_data(clips_by_protocol, name):
    """Leaderboards count a model as having run every fold from ``known_folds``, without the data."""
    assert PROTOCOLS[name].known_folds() == PROTOCOLS[name].num_folds(clips_by_protocol[name])


def test_splits_are_reproducible(clips_by_protocol):
    clips = clips_by_protocol["union-11fold"]
    assert PROTOCOLS["union-11fold"].split(clips, 3) == PROTOCOLS["union-11fold"].split(list(clips), 3)


def test_random_split_is_labelled_and_leaks(clips_by_protocol):
    p = get_protocol("random-split")
    assert not p.speaker_independent
    clips = clips_by_protocol["random-split"]
    split = p.split(clips, 0)
    assert {clips[i].speaker for i in split.train} & {clips[i].speaker for i in split.test}


def test_unknown_protocol_and_fold(clips_by_protocol):
    with pytest.raises(ConfigError, match="unknown protocol 'ravdess-10fold'"):
        get_protocol("ravdess-10fold")
    with pytest.raises(ConfigError, match="folds 0..5; got fold=6"):
        PROTOCOLS["ravdess-6fold"].split(clips_by_protocol["ravdess-6fold"], 6)
