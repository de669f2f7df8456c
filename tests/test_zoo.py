"""Zoo checkpoints: export to safetensors + card, sha256-checked loading without pickle, fine-tuning."""

import json
import os
import pickle

import lightning as L
import numpy as np
import pytest
import soundfile as sf
import torch

import ser_zoo.weights
from ser_zoo.errors import AudioError, ConfigError, SerZooError
from ser_zoo.lit import SERModule, load_module
from ser_zoo.zoo import export_checkpoint, init_from_pretrained, list_zoo, load_pretrained

CLASSES8 = ["neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"]
SMALL = {"channels": [4, 8], "hidden": 16}


def fit_ckpt(tmp_path, num_classes=8) -> tuple[SERModule, str]:
    torch.manual_seed(0)
    module = SERModule(
        model="mel_cnn",
        model_kwargs=SMALL,
        frontend={"name": "logmel", "n_mels": 40},
        num_classes=num_classes,
        class_names=CLASSES8[:num_classes],
        example_seconds=1.0,
    )
    with torch.no_grad():  # move the weights away from their init so a failed load would show
        for p in module.parameters():
            p.add_(0.05 * torch.randn_like(p))
    trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False)
    trainer.strategy.connect(module)
    path = str(tmp_path / "fit.ckpt")
    trainer.save_checkpoint(path)
    return module, path


@pytest.fixture
def exported(tmp_path):
    module, ckpt = fit_ckpt(tmp_path)
    card = {"protocol": "ravdess-6fold", "metrics": {"ua": "50.00 ± 1.00"}, "command": "ser-zoo fit ..."}
    weights = export_checkpoint(ckpt, "tiny_ravdess", tmp_path / "zoo", card_extra=card)
    return module, weights


def test_export_is_byte_reproducible(exported, tmp_path):
    """Exporting the same .ckpt again gives the same file: a card's sha256 can be re-derived from its run."""
    ckpt = tmp_path / "fit.ckpt"
    shas = {
        json.loads(
            export_checkpoint(ckpt, "tiny_ravdess", tmp_path / f"again{i}").with_suffix(".json").read_text()
        )["sha256"]
        for i in range(4)
    }
    assert shas == {json.loads(exported[1].with_suffix(".json").read_text())["sha256"]}


def test_export_writes_weights_card_and_markdown(exported):
    module, weights = exported
    card = json.loads(weights.with_suffix(".json").read_text())
    assert card["model"] == "mel_cnn" and card["class_names"] == CLASSES8 and card["dtype"] == "float16"
    assert card["frontend"] == {"name": "logmel", "n_mels": 40} and card["protocol"] == "ravdess-6fold"
    assert "non-commercial" in card["licence"] and len(card["sha256"]) == 64
    md = weights.with_suffix(".md").read_text()
    assert "non-commercial research" in md and card["sha256"] in md and "50.00 ± 1.00" in md
    assert [c["name"] for c in list_zoo(weights.parent)] == ["tiny_ravdess"]


def test_load_pretrained_reproduces_the_trained_logits(exported):
    module, weights = exported
    loaded = load_pretrained("tiny_ravdess", zoo_dir=weights.parent)
    module.eval()
    wave = torch.randn(3, 16000)
    torch.testing.assert_close(loaded(wave), module(wave), atol=2e-2, rtol=2e-2)  # fp16 storage
    assert loaded.training is False and loaded.card["name"] == "tiny_ravdess"


def test_tampered_or_truncated_weights_fail_naming_file_and_sha(exported):
    _, weights = exported
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(SerZooError, match=r"tiny_ravdess.safetensors: sha256 .* does not match its card"):
        load_pretrained(str(weights))
    weights.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(SerZooError, match="does not match its card"):
        load_pretrained(str(weights))


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned-by-pickle",))


def test_a_pickle_posing_as_weights_is_never_executed(exported, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, weights = exported
    weights.write_bytes(pickle.dumps({"net.x": _Evil()}))
    card_path = weights.with_suffix(".json")
    card = json.loads(card_path.read_text())
    card["sha256"] = ser_zoo.weights.sha256_file(weights)  # even with a matching checksum
    card_path.write_text(json.dumps(card))
    with pytest.raises(SerZooError, match="not a readable safetensors file"):
        load_pretrained(str(weights))
    assert not (tmp_path / "pwned-by-pickle").exists()


def test_unknown_zoo_name_lists_what_exists(exported):
    _, weights = exported
    with pytest.raises(ConfigError, match=r"no zoo checkpoint 'resnet99'.*\['tiny_ravdess'\]"):
        load_pretrained("resnet99", zoo_dir=weights.parent)


def test_fine_tune_start_keeps_backbone_and_replaces_head(exported, monkeypatch):
    module, weights = exported
    monkeypatch.setattr(ser_zoo.weights, "ZOO_DIR", weights.parent)
    new = SERModule(
        model="mel_cnn",
        model_kwargs=SMALL,
        frontend={"name": "logmel", "n_mels": 40},
        num_classes=6,
        class_names=CLASSES8[:6],
        example_seconds=1.0,
    )
    start = init_from_pretrained(new, "tiny_ravdess", zoo_dir=weights.parent)
    assert sorted(start.fresh) == ["net.head.5.bias", "net.head.5.weight"]
    assert start.card["name"] == "tiny_ravdess" and start.card["class_names"] == CLASSES8
    torch.testing.assert_close(new.net.features[0][0].weight, module.net.features[0][0].weight.half().float())
    assert new.net.head[5].weight.shape == (6, 16)
    with pytest.raises(ConfigError, match="is a mel_cnn but the recipe builds resnet18"):
        init_from_pretrained(
            SERModule(model="resnet18", num_classes=6, example_seconds=1.0),
            "tiny_ravdess",
            zoo_dir=weights.parent,
        )
    with pytest.raises(ConfigError, match="front-end or model options differ"):
        init_from_pretrained(
            SERModule(
                model="mel_cnn",
                model_kwargs={"channels": [4, 16], "hidden": 16},
                frontend={"name": "logmel", "n_mels": 40},
                num_classes=8,
                example_seconds=1.0,
            ),
            "tiny_ravdess",
            zoo_dir=weights.parent,
        )


def test_a_fine_tuned_checkpoint_loads_without_its_zoo_start(exported, tmp_path, monkeypatch):
    """A .ckpt fine-tuned with init_from carries every weight: loading it never reads the zoo start again."""
    _, weights = exported
    monkeypatch.setattr(ser_zoo.weights, "ZOO_DIR", weights.parent)
    tuned = SERModule(
        model="mel_cnn",
        model_kwargs=SMALL,
        frontend={"name": "logmel", "n_mels": 40},
        num_classes=6,
        class_names=CLASSES8[:6],
        example_seconds=1.0,
        init_from="tiny_ravdess",
    )
    trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False)
    trainer.strategy.connect(tuned)
    trainer.save_checkpoint(tmp_path / "tuned.ckpt")
    weights.unlink()  # the start point is gone (a user who received only the fine-tuned checkpoint)
    loaded = load_module(tmp_path / "tuned.ckpt")
    torch.testing.assert_close(loaded.net.head[5].weight, tuned.net.head[5].weight)


def test_predict_takes_paths_and_any_rate_or_channel_count(exported, tmp_path):
    _, weights = exported
    model = load_pretrained(str(weights))
    t = np.linspace(0, 2, 32000, endpoint=False)
    tone = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    sf.write(tmp_path / "a.wav", tone, 16000)
    r = model.predict(tmp_path / "a.wav")
    assert (
        r["label"] in CLASSES8
        and abs(sum(r["probs"].values()) - 1) < 1e-4
        and r["prob"] == max(r["probs"].values())
    )
    stereo_44k = np.stack([np.interp(np.linspace(0, 2, 88200), t, tone)] * 2, 1).astype(np.float32)
    batch = model.predict(np.stack([stereo_44k.mean(1), stereo_44k[:, 0]]), sample_rate=44100)
    assert len(batch) == 2 and batch[0]["label"] == batch[1]["label"]
    assert abs(batch[0]["probs"][r["label"]] - r["prob"]) < 0.05  # same tone at 44.1 kHz: same answer


def test_predict_takes_a_list_of_files_and_waveforms_of_any_lengths(exported, tmp_path):
    """A list answers item by item, in order, as each alone would, also across batch_size chunks."""
    _, weights = exported
    model = load_pretrained(str(weights))
    rng = np.random.default_rng(0)
    waves = [(0.1 * rng.standard_normal(n)).astype(np.float32) for n in (8000, 48000, 20000)]
    sf.write(tmp_path / "b.wav", waves[1], 16000)
    items = [waves[0], tmp_path / "b.wav", torch.from_numpy(waves[2])]
    together = model.predict(items, batch_size=2)
    alone = [model.predict(w) for w in waves]
    assert [r["label"] for r in together] == [r["label"] for r in alone]
    for a, b in zip(together, alone):
        assert max(abs(a["probs"][c] - b["probs"][c]) for c in CLASSES8) < 1e-5
    assert model.predict([]) == []
    with pytest.raises(AudioError, match="missing.wav"):
        model.predict([waves[0], tmp_path / "missing.wav"])


def test_zoo_cli_exports_and_lists(tmp_path, monkeypatch, capsys):
    from ser_zoo.cli import main

    monkeypatch.setattr(ser_zoo.weights, "ZOO_DIR", tmp_path / "zoo")
    _, ckpt = fit_ckpt(tmp_path)
    card = tmp_path / "card.json"
    card.write_text(
        json.dumps({"protocol": "ravdess-6fold", "metrics": {"ua": "51.56", "wa": "53.33", "f1": "52.52"}})
    )
    assert main(["zoo", "export", ckpt, "--name", "tiny", "--card", str(card)]) == 0
    card.write_text(
        json.dumps(
            {
                "protocol": "ravdess-6fold",
                "fold": 1,
                "test_fold_ua": 0.6016,
                "recipe_ua": {"folds": [0, 1, 2, 3, 4, 5], "mean": 0.5137, "std": 0.0455},
            }
        )
    )
    assert main(["zoo", "export", ckpt, "--name", "tiny_published", "--card", str(card)]) == 0
    assert main(["zoo", "list"]) == 0
    out = capsys.readouterr().out
    header, row, published, legend = out.splitlines()[-4:]
    assert header.split()[:6] == ["name", "model", "classes", "protocol", "fold", "test"]
    assert header.split()[-1] == "weights" and legend.startswith("* the default --model")
    assert row.split() == ["tiny", "mel_cnn", "8", "ravdess-6fold", "-", "51.56", "-", "0.0", "here"]
    assert published.split() == [
        "tiny_published",
        "mel_cnn",
        "8",
        "ravdess-6fold",
        "1",
        "60.16",
        "51.37",
        "±",
        "4.55",
        "(6",
        "of",
        "6)",
        "0.0",
        "here",
    ]
    assert load_pretrained("tiny").card["metrics"]["f1"] == "52.52"
    card.write_text(json.dumps({"protocol": "ravdess-6fold", "superseded_by": "tiny_published"}))
    assert main(["zoo", "export", ckpt, "--name", "tiny", "--card", str(card)]) == 0
    assert main(["zoo", "list"]) == 0
    assert "superseded (kept as fine-tuning starts and for reproduction): tiny -> tiny_published" in (
        capsys.readouterr().out
    )
    assert "**Superseded by:** `tiny_published`" in (tmp_path / "zoo" / "tiny.md").read_text()


PUBLISHED = [c["name"] for c in list_zoo() if "test_fold_ua" in c]  # a union-all card has no test fold


@pytest.mark.parametrize(
    "name", PUBLISHED or [pytest.param("none", marks=pytest.mark.skip("no zoo checkpoints"))]
)
def test_published_checkpoint_reproduces_its_card(name, data_root):
    """Each shipped checkpoint's recorded test predictions give its card's UA on its fold's labels (within
    0.5 points: the card holds the fp32 bench row, the record the fp16 export), and the weights, run now,
    still predict 64 fixed test clips as recorded."""
    from ser_zoo.zoo.reproduce import check_card

    model = load_pretrained(name)
    card = model.card
    assert card["size_bytes"] <= 25 * 2**20 and "non-commercial" in card["licence"].lower()
    assert card["command"] and card["config"] and card["metrics"]
    r = check_card(model, root=str(data_root), sample=64)
    assert r["sampled"] == 64 and r["agree"] >= 63, r["agree"]  # one flip allowed for another CPU's rounding
    assert abs(r["ua"] - card["test_fold_ua"]) <= 0.005, (r["ua"], card["test_fold_ua"])


def test_a_cards_recorded_test_splits_by_corpus(monkeypatch):
    """benchmarks/zoo_by_corpus.py: one row per corpus of the recorded test (recorded_test, checked against
    the weights in the card tests above), whose clips and correct answers add up to the whole."""
    from types import SimpleNamespace

    from conftest import benchmark_script

    from ser_zoo.zoo.reproduce import RecordedTest

    script = benchmark_script("zoo_by_corpus")
    corpora = ["tess"] * 6 + ["savee"] * 4
    labels = [0, 1, 2, 0, 1, 2, 0, 1, 2, 2]
    predicted = [0, 1, 2, 0, 0, 0, 0, 2, 1, 2]  # tess: 4 of 6 right; savee: 2 of 4
    test = RecordedTest([SimpleNamespace(corpus=c) for c in corpora], labels, predicted, ["a", "b", "c"])
    monkeypatch.setattr(script, "recorded_test", lambda card, root: test)
    rows = script.by_corpus({}, None)
    assert {k: v["clips"] for k, v in rows.items()} == {"all": 10, "tess": 6, "savee": 4}
    assert [round(rows[k]["wa"], 4) for k in ("all", "tess", "savee")] == [0.6, round(4 / 6, 4), 0.5]
    assert abs(rows["savee"]["ua"] - (1 / 1 + 0 / 1 + 1 / 2) / 3) < 1e-6  # per-class recall, averaged


def test_a_card_check_notices_predictions_that_are_not_the_weights(data_root):
    """The recorded predictions are checked against the fold's labels and against the weights: a record
    whose predictions were shifted by one class fails both."""
    from ser_zoo.zoo.reproduce import _DIGITS, check_card

    if "resnet18_ravdess" not in PUBLISHED:
        pytest.skip("the RAVDESS zoo checkpoint is not shipped")
    model = load_pretrained("resnet18_ravdess")
    record = model.card["test_predictions"]
    k = len(model.class_names)
    shifted = "".join(_DIGITS[(_DIGITS.index(ch) + 1) % k] for ch in record["predicted"])
    model.card = {**model.card, "test_predictions": {**record, "predicted": shifted}}
    r = check_card(model, root=str(data_root), sample=16)
    assert r["agree"] == 0 and abs(r["ua"] - model.card["test_fold_ua"]) > 0.05
    model.card["test_predictions"] = {**record, "clips_sha256": "0" * 64}
    with pytest.raises(ConfigError, match="not the ones its card recorded"):
        check_card(model, root=str(data_root))


def test_fine_tuning_refuses_a_fold_whose_test_speakers_the_start_heard(data_root, tmp_path):
    """The card lists the speakers behind the weights; a fit from them that tests on one of those stops
    before training."""
    from conftest import smoke_fit

    from ser_zoo.zoo.heard import fold_heard_speakers

    _, ckpt = fit_ckpt(tmp_path)
    heard = fold_heard_speakers(
        "ravdess-6fold", 1, None, data_root
    )  # trained on fold 1: actors 5-8 never heard
    assert len(heard) == 20 and not {"ravdess_05", "ravdess_06", "ravdess_07", "ravdess_08"} & set(heard)
    weights = export_checkpoint(ckpt, "tiny_fold1", tmp_path / "zoo", card_extra={"heard_speakers": heard})
    assert "**Speakers heard:** 20" in weights.with_suffix(".md").read_text()
    start = {"model_kwargs": SMALL, "frontend": {"name": "logmel", "n_mels": 40}, "init_from": str(weights)}
    with pytest.raises(
        ConfigError,
        match=r"init_from 'tiny_fold1' heard 4 of the test speakers of ravdess-6fold "
        r"fold 0 \(ravdess_01, ravdess_02, ravdess_03, ravdess_04\)",
    ):
        smoke_fit(data_root, tmp_path, "mel_cnn", clip_seconds=1.0, **start)
    tuned, metrics = smoke_fit(
        data_root, tmp_path, "mel_cnn", clip_seconds=1.0, fold=1, **start
    )  # unheard: trains
    assert 0.0 <= metrics["test/ua"] <= 1.0 and tuned.trainer.current_epoch == 1
    chain = fold_heard_speakers("crema_d-kfold", 0, None, data_root, init_from=str(weights))
    assert set(heard) < set(chain) and any(
        s.startswith("crema_d_") for s in chain
    )  # a start's speakers are inherited


def test_zoo_card_prints_each_shipped_card_as_committed(capsys):
    """``ser-zoo zoo card NAME`` is the card a user reads without a source checkout; it must say what the
    committed ``checkpoints/NAME.md`` says (both come from the JSON card)."""
    from pathlib import Path

    from ser_zoo.cli import main

    shipped = sorted(Path(__file__).parents[1].joinpath("checkpoints").glob("*.json"))
    assert shipped
    for card in shipped:
        assert main(["zoo", "card", card.stem]) == 0
        assert capsys.readouterr().out.rstrip() == card.with_suffix(".md").read_text().rstrip(), card.stem
    assert main(["zoo", "card", "resnet18_half_ravdes"]) == 2
    assert "did you mean resnet18_half_ravdess" in capsys.readouterr().err
