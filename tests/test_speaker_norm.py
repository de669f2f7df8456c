"""Speaker normalisation (``:spknorm``): each speaker's clip vectors standardised by its own statistics."""

import numpy as np
import pytest

from ser_zoo.errors import ConfigError
from ser_zoo.features.speaker_norm import SpeakerNormalizer, pooled_speaker_variance, speaker_standardize
from ser_zoo.models.classical import DEFAULT_FEATURES, make_baseline, parse_baseline_spec


def shifted_speakers(n_speakers=12, clips=40, seed=0):
    """Two classes a small step apart along feature 0, inside speakers whose offsets and scales (a voice,
    a microphone) dwarf that step: what separates acted corpora more than their emotions do."""
    rng = np.random.default_rng(seed)
    x, y, spk = [], [], []
    for s in range(n_speakers):
        label = np.arange(clips) % 2
        offset, scale = rng.normal(0, 8, 5), rng.uniform(0.5, 3.0, 5)
        x.append((rng.normal(0, 0.5, (clips, 5)) + np.outer(label, [2.0, 0, 0, 0, 0])) * scale + offset)
        y.append(label)
        spk += [f"s{s}"] * clips
    return np.concatenate(x), np.concatenate(y), np.array(spk)


def test_each_speaker_comes_out_with_zero_mean_and_unit_spread():
    x, _, spk = shifted_speakers()
    before = x.copy()
    z = speaker_standardize(x, spk)
    np.testing.assert_array_equal(x, before)  # the input is left alone
    for s in np.unique(spk):
        np.testing.assert_allclose(z[spk == s].mean(0), 0, atol=1e-9)
        np.testing.assert_allclose(z[spk == s].std(0), 1, atol=1e-5)


def test_reference_rows_alone_set_the_statistics():
    """Enrolment: a speaker's first clips set its statistics, and every clip of it is mapped with them."""
    x, _, spk = shifted_speakers(n_speakers=2)
    reference = np.zeros(len(x), bool)
    reference[[0, 1, 2, 40, 41, 42]] = True
    z = speaker_standardize(x, spk, reference=reference)
    ref = x[:3]
    np.testing.assert_allclose(z[:40], (x[:40] - ref.mean(0)) / (ref.std(0) + 1e-6))
    assert not np.allclose(z[:40].mean(0), 0, atol=1e-3)  # the other clips were not used


def test_it_recovers_a_class_step_hidden_by_unseen_speakers():
    """Trained on six speakers, tested on six others: raw vectors leave the test speakers near chance, the
    speaker-normalised ones separate the classes."""
    x, y, spk = shifted_speakers()
    train = np.isin(spk, [f"s{s}" for s in range(6)])
    scores = {}
    for norm in (False, True):
        xs = speaker_standardize(x, spk) if norm else x
        scores[norm] = make_baseline("logreg").fit(xs[train], y[train]).score(xs[~train], y[~train])
    assert scores[False] < 0.75 and scores[True] > 0.95, scores


def test_a_prior_shrinks_a_few_clips_variance_toward_the_training_speakers():
    x, _, spk = shifted_speakers(n_speakers=4)
    train = np.isin(spk, ["s0", "s1"])
    norm = SpeakerNormalizer(prior_clips=5).fit(x[train], spk[train])
    pooled = np.mean([x[spk == s].var(0) for s in ("s0", "s1")], 0)
    np.testing.assert_allclose(norm.prior_variance, pooled)
    np.testing.assert_allclose(pooled_speaker_variance(x[train], spk[train]), pooled)
    reference = np.isin(np.arange(len(x)), [80, 81, 82, 120])  # s2: three clips, s3: one
    z = norm.transform(x[~train], spk[~train], reference=reference[~train])
    ref = x[80:83]
    var = (3 * ref.var(0) + 5 * pooled) / 8
    np.testing.assert_allclose(z[:40], (x[80:120] - ref.mean(0)) / (np.sqrt(var) + 1e-6))
    np.testing.assert_allclose(z[40], 0, atol=1e-9)  # one clip: its own mean, the prior's spread
    with pytest.raises(ConfigError, match="call fit"):
        SpeakerNormalizer().transform(x, spk)
    np.testing.assert_allclose(
        SpeakerNormalizer(prior_clips=0).transform(x, spk), speaker_standardize(x, spk)
    )


def test_the_prior_rescues_speakers_heard_in_a_few_clips():
    """Two enrolment clips per test speaker: their own variance alone is too noisy to divide by (thirty
    features of pure noise make it show), the shrunk one is not."""
    x, y, spk = shifted_speakers(n_speakers=40, clips=40)
    x = np.concatenate([x, np.random.default_rng(1).normal(0, 1, (len(x), 30))], 1)  # noise dimensions
    train = np.isin(spk, [f"s{s}" for s in range(20)])
    reference = np.arange(len(x)) % 40 < 2  # one clip of each class
    scores = {}
    for prior in (0, 5):
        norm = SpeakerNormalizer(prior_clips=prior).fit(x[train], spk[train])
        clf = make_baseline("logreg").fit(norm.transform(x[train], spk[train]), y[train])
        z = norm.transform(x[~train], spk[~train], reference=reference[~train])
        scores[prior] = clf.score(z, y[~train])
    assert scores[0] < 0.85 and scores[5] > 0.9, scores


def test_a_speaker_without_spread_is_a_one_line_error():
    x = np.ones((3, 4))
    with pytest.raises(ConfigError, match="speaker 'b' has 1 reference clip.*drop ':spknorm'"):
        speaker_standardize(x, ["a", "a", "b"])
    with pytest.raises(ConfigError, match="3 clip vectors but 2 speaker names"):
        speaker_standardize(x, ["a", "a"])


def test_the_baseline_spec_takes_spknorm_after_its_features_in_either_order():
    assert parse_baseline_spec("svm:stats+ge2e:vad:spknorm") == ("svm", "stats+ge2e", True, True)
    assert parse_baseline_spec("mlp:spknorm:vad").speaker_norm
    assert parse_baseline_spec("logreg:spknorm") == ("logreg", DEFAULT_FEATURES, False, True)
    with pytest.raises(ConfigError, match=r"NAME\[:FEATURES\]\[:vad\]\[:spknorm\]"):
        parse_baseline_spec("svm:stats:ge2e")


def test_bench_runs_a_speaker_normalised_baseline_and_says_so(data_root, tmp_path):
    """A real fold (logreg on savee-loso fold 0): the row records the normalisation, and it changes the
    predictions against the same features unnormalised."""
    from ser_zoo.bench.results import read_rows
    from ser_zoo.cli import main

    args = [
        "bench",
        "--protocol",
        "savee-loso",
        "--folds",
        "0",
        "--out",
        str(tmp_path),
        "--root",
        str(data_root),
    ]
    assert main([*args, "--models", "logreg", "logreg:spknorm"]) == 0
    rows = {r["model"]: r for r in read_rows(tmp_path / "savee-loso.csv")}
    assert rows["logreg:spknorm"]["config"] == "baseline logreg features=stats+mfcc_mean speaker_norm"
    assert rows["logreg"]["config"] == "baseline logreg features=stats+mfcc_mean"
    assert rows["logreg:spknorm"]["confusion"] != rows["logreg"]["confusion"]


def test_an_ensemble_baseline_member_normalises_each_stage_by_speaker(data_root):
    """``BaselineMember('logreg:spknorm')``: its classifier is fitted on centred speakers (the scaler sees a
    zero mean) and it scores a stage's clips normalised by their own speakers."""
    from ser_zoo.models.ensemble import BaselineMember

    member = BaselineMember("logreg:spknorm", "savee-loso", 0, root=str(data_root)).fit()
    plain = BaselineMember("logreg", "savee-loso", 0, root=str(data_root)).fit()
    np.testing.assert_allclose(member.pipe[0].mean_, 0, atol=1e-6)
    assert np.abs(plain.pipe[0].mean_).max() > 1
    test = member.dm.stage_clips("test")
    p, q = member.probs("test", test), plain.probs("test", test)
    np.testing.assert_allclose(p.sum(1), 1, atol=1e-6)
    assert not np.allclose(p, q)
