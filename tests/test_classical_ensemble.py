"""Classical baselines and ensembles through the same protocols, features and metrics as the zoo models."""

import lightning as L
import numpy as np
import pytest
import torch
from conftest import benchmark_script

from ser_zoo.errors import ConfigError
from ser_zoo.lit.module import SERModule
from ser_zoo.models.classical import (
    VectorFeatures,
    _fold_features,
    list_baselines,
    make_baseline,
    run_baseline,
)
from ser_zoo.models.ensemble import AveragingEnsemble, StackedEnsemble, evaluate, load_members

SMALL = {"channels": [4, 8], "hidden": 16}


def test_baselines_are_the_source_projects_classifiers():
    assert list_baselines() == ["knn", "logreg", "mlp", "random_forest", "svm"]
    assert make_baseline("knn")[-1].n_neighbors == 9  # the Conv2D-MFCC Keras project's k-NN
    with pytest.raises(ConfigError, match="unknown baseline 'xgboost'"):
        make_baseline("xgboost")
    with pytest.raises(ConfigError, match=r"unknown baseline feature\(s\) \['f0'\]"):
        VectorFeatures("stats+f0")


def test_a_baseline_really_learns_a_separable_problem():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (100, 5)), rng.normal(3, 1, (100, 5))])
    y = np.repeat([0, 1], 100)
    for name in ("logreg", "svm", "knn"):
        assert make_baseline(name).fit(x[::2], y[::2]).score(x[1::2], y[1::2]) > 0.95


def test_mfcc_pooling_ignores_padding():
    fx = VectorFeatures("stats+mfcc_mean").eval()
    torch.manual_seed(0)
    wave = 0.1 * torch.randn(1, 24000)
    padded = torch.cat([wave, torch.zeros(1, 16000)], 1)
    a = fx(wave, torch.tensor([24000]))
    b = fx(padded, torch.tensor([24000]))
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["knn", "logreg", "random_forest", "svm", "mlp"])
def test_baseline_runs_a_protocol_fold(name, data_root):
    r = run_baseline(name, "ravdess-6fold", 0, root=str(data_root), limit_clips=64)
    assert all(0.0 <= r[k] <= 1.0 for k in ("wa", "ua", "f1")) and r["n_test"] == 64
    cm = np.asarray(r["confusion"])
    assert cm.sum() == 64 and abs(np.trace(cm) / 64 - r["wa"]) < 1e-6
    assert r["test_speakers"] == "ravdess_01 ravdess_02 ravdess_03 ravdess_04"
    _, (_, _, train_clips), (_, _, test_clips) = _fold_features(
        "ravdess-6fold", 0, str(data_root), None, "stats+mfcc_mean", 64
    )
    assert not {c.speaker for c in train_clips} & {c.speaker for c in test_clips}


def tiny(num_classes=8, seed=0, names=None):
    torch.manual_seed(seed)
    return SERModule(
        model="mel_cnn",
        model_kwargs=SMALL,
        frontend={"name": "logmel", "n_mels": 40},
        num_classes=num_classes,
        class_names=names,
        example_seconds=1.0,
    ).eval()


def test_averaging_is_the_mean_of_member_probabilities():
    a, b = tiny(seed=0), tiny(seed=1)
    ens = AveragingEnsemble([a, b])
    wave = 0.1 * torch.randn(3, 16000)
    with torch.no_grad():
        expected = (a(wave).softmax(-1) + b(wave).softmax(-1)) / 2
        torch.testing.assert_close(ens(wave), expected)
        weighted = AveragingEnsemble([a, b], weights=[3, 1])(wave)
        torch.testing.assert_close(weighted, 0.75 * a(wave).softmax(-1) + 0.25 * b(wave).softmax(-1))
    with pytest.raises(ConfigError, match="different classes"):
        AveragingEnsemble([a, tiny(num_classes=8, names=list("abcdefgh"))])
    b.temperature = 3.0  # a calibrated member votes with its calibrated probabilities
    with torch.no_grad():
        torch.testing.assert_close(ens(wave), (a(wave).softmax(-1) + (b(wave) / 3.0).softmax(-1)) / 2)


@pytest.mark.slow
def test_stacker_sees_validation_speakers_only_and_members_load_from_ckpt(data_root, tmp_path):
    from ser_zoo.data.datamodule import SERDataModule

    dm = SERDataModule(
        root=str(data_root),
        protocol="ravdess-6fold",
        limit_clips=24,
        batch_size=8,
        num_workers=0,
        clip_seconds=1.0,
    )
    dm.setup("fit")
    paths = []
    for seed in (0, 1):
        m = tiny(dm.num_classes, seed, dm.class_names)
        trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False)
        trainer.strategy.connect(m)
        paths.append(str(tmp_path / f"m{seed}.ckpt"))
        trainer.save_checkpoint(paths[-1])
    members = load_members(paths)
    stack = StackedEnsemble(members).fit(dm)
    val_speakers = {c.speaker for c in dm.stage_clips("val")}
    assert {c.speaker for c in stack.fitted_on} == val_speakers
    assert not val_speakers & {c.speaker for c in dm.stage_clips("test")}
    r_stack, r_avg = evaluate(stack, dm), evaluate(AveragingEnsemble(members), dm)
    for r in (r_stack, r_avg):
        assert r["n_test"] == 24 and np.asarray(r["confusion"]).sum() == 24 and 0 <= r["ua"] <= 1


@pytest.mark.slow
def test_a_baseline_joins_deep_members_fitted_on_training_speakers(data_root):
    from ser_zoo.data.datamodule import SERDataModule
    from ser_zoo.models.ensemble import BaselineMember, ensemble_table

    dm = SERDataModule(
        root=str(data_root),
        protocol="ravdess-6fold",
        limit_clips=24,
        batch_size=8,
        num_workers=0,
        clip_seconds=1.0,
    )
    dm.setup("fit")
    base = BaselineMember("logreg", "ravdess-6fold", 0, root=str(data_root), limit_clips=24)
    rows = ensemble_table([("deep", tiny(dm.num_classes, 0, dm.class_names)), ("logreg", base)], dm)
    assert [r[0] for r in rows] == [
        "deep",
        "logreg",
        "average of members",
        "stacked (logreg fitted on val speakers)",
        "ensemble selection (weights from val-speaker UA)",
    ]
    assert len(rows[-1][1]["weights"]) == 2 and abs(sum(rows[-1][1]["weights"]) - 1) < 1e-6
    assert all(r["n_test"] == 24 and np.asarray(r["confusion"]).sum() == 24 for _, r in rows)
    train = dm.stage_clips("train")
    assert base.pipe[0].n_samples_seen_ == len(train)  # fitted on the training speakers only
    assert not {c.speaker for c in train} & {
        c.speaker for c in dm.stage_clips("val") + dm.stage_clips("test")
    }
    test = dm.stage_clips("test")
    p = base.probs("test", test)
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-6)
    np.testing.assert_allclose(base.probs("test", test[::-1]), p[::-1])  # rows follow the clips asked for
    with pytest.raises(ConfigError, match="has no test clip"):
        base.probs("test", train[:1])
    with pytest.raises(ConfigError, match="predict"):
        ensemble_table([("wrong classes", tiny(8, 0, list("abcdefgh")))], dm)


def test_ensemble_selection_picks_complementary_members_on_validation_speakers():
    """Two members each right on half the classes are both picked (together they are right everywhere); a
    member of noise that never raises validation UA gets no weight."""
    from ser_zoo.models.ensemble import ensemble_selection

    labels = np.repeat(np.arange(4), 10)
    first_half = np.where(labels[:, None] < 2, np.eye(4)[labels] * 0.9 + 0.025, [0.4, 0.2, 0.2, 0.2])
    second_half = np.where(labels[:, None] >= 2, np.eye(4)[labels] * 0.9 + 0.025, [0.1, 0.1, 0.4, 0.4])
    noise = np.random.default_rng(0).dirichlet(np.ones(4), len(labels))
    weights = ensemble_selection([first_half, second_half, noise], labels, rounds=10)
    assert weights[0] > 0 and weights[1] > 0 and weights[2] == 0 and abs(weights.sum() - 1) < 1e-9
    mixed = np.tensordot(weights, np.stack([first_half, second_half, noise]), 1)
    assert (mixed.argmax(1) == labels).all()
    assert list(ensemble_selection([noise, first_half], labels, rounds=1)) == [
        0.0,
        1.0,
    ]  # the first pick: the better


@pytest.mark.slow
def test_each_deep_member_reads_the_fold_at_its_own_crop(data_root):
    """A member trained on 2 s crops is evaluated on 2 s crops beside a 1 s one (not cut to the first
    member's)."""
    from ser_zoo.data.datamodule import SERDataModule
    from ser_zoo.models.ensemble import ensemble_table

    def fold(seconds, limit=24):
        dm = SERDataModule(
            root=str(data_root),
            protocol="ravdess-6fold",
            limit_clips=limit,
            batch_size=8,
            num_workers=0,
            clip_seconds=seconds,
        )
        dm.setup("fit")
        dm.setup("test")
        return dm

    one, two = fold(1.0), fold(2.0)
    short, long_ = tiny(8, 0, one.class_names), tiny(8, 1, one.class_names)
    widths = {"short": set(), "long": set()}
    short.register_forward_pre_hook(lambda _, args: widths["short"].add(args[0].shape[-1]))
    long_.register_forward_pre_hook(lambda _, args: widths["long"].add(args[0].shape[-1]))
    rows = ensemble_table([("short", short), ("long", long_)], one, [None, two])
    assert widths == {"short": {16000}, "long": {32000}}
    assert all(r["n_test"] == 24 for _, r in rows)
    with pytest.raises(ConfigError, match="other val clips"):
        ensemble_table([("short", short), ("long", long_)], one, [None, fold(2.0, limit=16)])


def test_an_ensemble_member_reads_the_fold_as_it_was_benched():
    """Crop, whole clips and VAD trimming come from the member's saved data settings or zoo card, not the
    defaults."""
    from types import SimpleNamespace

    from ser_zoo.bench import ensemble_fold as ens

    trained_on_2s = SimpleNamespace(hparams=SimpleNamespace(example_seconds=2.0))
    saved = {
        "datamodule_hyper_parameters": {
            "protocol": "ravdess-6fold",
            "fold": 0,
            "batch_size": 8,
            "limit_clips": 24,
            "sample_rate": 16000,
            "clip_seconds": 1.0,
            "eval_crop": "full",
            "max_clip_seconds": 60.0,
            "vad_trim": True,
        }
    }
    whole = ens.member_reading(trained_on_2s, saved)
    assert whole == {
        "sample_rate": 16000,
        "clip_seconds": 1.0,
        "eval_crop": "full",
        "max_clip_seconds": 60.0,
        "vad_trim": True,
    }
    assert ens.reading_text(whole) == "whole clips, VAD-trimmed"
    zoo = SimpleNamespace(
        hparams=trained_on_2s.hparams,
        card={"eval": {"clip_seconds": 2.5, "eval_crop": "center", "limit_clips": None}},
    )
    defaults = {"sample_rate": 16000, "eval_crop": "center", "max_clip_seconds": 60.0, "vad_trim": False}
    assert ens.member_reading(zoo, None) == {
        **defaults,
        "clip_seconds": 2.5,
    }  # unsaved settings: the defaults
    assert ens.reading_text(ens.member_reading(zoo, None)) == "2.5 s crops"
    assert ens.member_reading(trained_on_2s, {}) == {
        **defaults,
        "clip_seconds": 2.0,
    }  # nothing saved: its training crop


@pytest.mark.slow
def test_ensemble_fold_refuses_a_member_from_another_fold_and_writes_a_leaderboard_row(data_root, tmp_path):
    """benchmarks/ensemble_fold.py: a .ckpt trained on fold 0 heard fold 1's test actors (refused); on its own
    fold the stack lands in the protocol CSV as a bench row."""
    import csv

    from ser_zoo.data.datamodule import SERDataModule

    dm = SERDataModule(
        root=str(data_root),
        protocol="ravdess-6fold",
        fold=0,
        limit_clips=24,
        batch_size=8,
        num_workers=0,
        clip_seconds=1.0,
    )
    m = SERModule(
        model="mel_cnn",
        model_kwargs=SMALL,
        frontend={"name": "logmel", "n_mels": 40},
        num_classes=8,
        class_names=dm.class_names,
        example_seconds=1.0,
    )
    trainer = L.Trainer(
        max_epochs=1,
        limit_train_batches=1,
        limit_val_batches=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(m, datamodule=dm)
    ckpt = tmp_path / "runs" / "tiny-fold0" / "version_0" / "checkpoints" / "best.ckpt"
    ckpt.parent.mkdir(parents=True)
    trainer.save_checkpoint(ckpt)
    ens = benchmark_script("ensemble_fold")
    common = [
        "--protocol",
        "ravdess-6fold",
        "--members",
        str(ckpt),
        "--baselines",
        "logreg",
        "--root",
        str(data_root),
        "--limit_clips",
        "24",
        "--out",
        str(tmp_path / "ensemble.md"),
        "--results",
        str(tmp_path),
    ]
    with pytest.raises(
        ConfigError, match=r"heard 4 of the test speakers of ravdess-6fold fold 1 \(ravdess_05"
    ):
        ens.main([*common, "--fold", "1"])
    ens.main([*common, "--fold", "0", "--leaderboard", "tiny"])
    avg, stack, select = list(csv.DictReader((tmp_path / "ravdess-6fold.csv").open()))
    assert (avg["model"], stack["model"], select["model"]) == ("tiny-average", "tiny-stack", "tiny-select")
    assert select["config"].startswith(
        "ensemble selection (weights from val-speaker UA) of tiny + logreg (weights "
    )
    assert "| tiny (1 s crops) |" in (tmp_path / "ensemble.md").read_text()  # read at its saved 1 s crop
    assert avg["config"] == "mean of the probabilities of tiny + logreg"
    assert stack["config"] == "stack (logreg on val speakers) of tiny + logreg"
    for row in (avg, stack, select):
        assert row["fold"] == "0" and row["n_test"] == "24" and 0 <= float(row["ua"]) <= 1
        assert row["test_speakers"] == "ravdess_01 ravdess_02 ravdess_03 ravdess_04"
        assert f"| {row['model']} |" in (tmp_path / "LEADERBOARD.md").read_text()
