"""Temperature scaling: ECE and the fitted temperature on synthetic logits of known calibration, the
temperature travelling in a checkpoint and a zoo card into ``predict``, and ``ser-zoo calibrate`` end to end
on a tiny model and a tiny corpus of one's own."""

import hashlib
import json

import lightning as L
import numpy as np
import pytest
import soundfile as sf
import torch

from ser_zoo.calibration import expected_calibration_error, fit_temperature, scores_at
from ser_zoo.cli import main
from ser_zoo.data.datamodule import SERDataModule
from ser_zoo.errors import SerZooError
from ser_zoo.inference import predict_waveforms
from ser_zoo.lit import SERModule, load_module
from ser_zoo.zoo import export_checkpoint, load_pretrained

SR = 16000
LABELS = ("angry", "happy", "neutral", "sad")


def drawn(n: int = 20000, classes: int = 6, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """True logits, and labels drawn from their softmax: ``softmax(logits)`` is perfectly calibrated."""
    g = torch.Generator().manual_seed(seed)
    logits = 1.5 * torch.randn(n, classes, generator=g)
    return logits, torch.multinomial(logits.softmax(-1), 1, generator=g).squeeze(1)


def test_ece_is_near_zero_when_calibrated_and_large_when_overconfident():
    logits, labels = drawn()
    assert expected_calibration_error(logits.softmax(-1), labels) < 0.02
    assert expected_calibration_error((3 * logits).softmax(-1), labels) > 0.15
    one_hot = torch.nn.functional.one_hot(labels, 6).float()
    assert expected_calibration_error(one_hot, labels) == pytest.approx(0.0, abs=1e-6)  # right and certain


@pytest.mark.parametrize("scale", [3.0, 0.5])
def test_fit_temperature_recovers_the_scale_and_lowers_nll_and_ece(scale):
    logits, labels = drawn(5000)
    fit = fit_temperature(scale * logits, labels)
    assert fit.temperature == pytest.approx(scale, rel=0.05)
    assert fit.nll_after < fit.nll_before and fit.ece_after < fit.ece_before / 3 and fit.clips == len(labels)
    assert fit_temperature(scale * logits, labels) == fit  # deterministic
    after = scores_at(scale * logits, labels, fit.temperature)
    assert after == {"nll": pytest.approx(fit.nll_after), "ece": pytest.approx(fit.ece_after)}


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: fit_temperature(torch.zeros(4, 3), torch.zeros(5, dtype=torch.long)), "expected \\(N, C\\)"),
        (lambda: fit_temperature(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long)), "no clips"),
        (lambda: fit_temperature(torch.zeros(2, 3), torch.tensor([0, 3])), "class indices in \\[0, 2\\]"),
        (lambda: fit_temperature(torch.full((2, 3), float("nan")), torch.tensor([0, 1])), "NaN"),
        (
            lambda: expected_calibration_error(torch.ones(2, 3) * 2, torch.tensor([0, 1])),
            "softmax the logits",
        ),
    ],
)
def test_bad_input_fails_with_one_line(call, message):
    with pytest.raises(SerZooError, match=message) as e:
        call()
    assert "\n" not in str(e.value)


# --- the temperature in checkpoints, cards and predict ------------------------------------------------------


def tiny_checkpoint(path, class_names=LABELS, data=None, calibration=None) -> str:
    """A ``ser-zoo fit``-style .ckpt of a tiny untrained mel_cnn, with saved data settings if given."""
    torch.manual_seed(0)
    module = SERModule(
        model="mel_cnn",
        model_kwargs={"channels": [4, 8], "hidden": 16},
        frontend={"name": "logmel", "n_mels": 40},
        num_classes=len(class_names),
        class_names=list(class_names),
        example_seconds=1.0,
    )
    trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False)
    trainer.strategy.connect(module)
    trainer.save_checkpoint(str(path))
    if data is not None or calibration is not None:
        saved = torch.load(path, weights_only=True)
        if data is not None:
            saved["datamodule_hyper_parameters"] = data
        if calibration is not None:
            saved["calibration"] = calibration
        torch.save(saved, path)
    return str(path)


def waves() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [(0.3 * rng.standard_normal(SR)).astype(np.float32) for _ in range(3)]


def raw_logits(model, batch: list[np.ndarray]) -> torch.Tensor:
    with torch.no_grad():
        return model.eval()(torch.from_numpy(np.stack(batch)), torch.full((len(batch),), SR))


def test_predict_divides_by_a_saved_temperature_and_defaults_to_one(tmp_path):
    plain = load_module(tiny_checkpoint(tmp_path / "plain.ckpt"))
    calibrated = load_module(tiny_checkpoint(tmp_path / "cal.ckpt", calibration={"temperature": 2.5}))
    assert plain.temperature == 1.0 and plain.calibration is None and calibrated.temperature == 2.5
    logits = raw_logits(plain, waves())
    for model, t in ((plain, 1.0), (calibrated, 2.5)):
        got = torch.tensor([list(r["probs"].values()) for r in predict_waveforms(model, waves())])
        torch.testing.assert_close(got, (logits / t).softmax(-1))
    assert not torch.allclose(logits.softmax(-1), (logits / 2.5).softmax(-1))  # the test can tell them apart


def test_lightning_predict_uses_the_temperature_of_the_checkpoint(tmp_path):
    """``ser-zoo predict --ckpt_path`` restores through Lightning's hook, not ``load_module``."""
    path = tiny_checkpoint(tmp_path / "cal.ckpt", calibration={"temperature": 2.5})
    module = SERModule.load_from_checkpoint(path, weights_only=True)
    assert module.temperature == 2.5
    batch = {
        "audio": torch.from_numpy(np.stack(waves())),
        "lengths": torch.full((3,), SR),
        "index": torch.arange(3),
    }
    with torch.no_grad():
        probs = module.eval().predict_step(batch, 0)["probs"]
    torch.testing.assert_close(probs, (raw_logits(module, waves()) / 2.5).softmax(-1))


def test_a_broken_temperature_fails_naming_the_file(tmp_path):
    path = tiny_checkpoint(tmp_path / "bad.ckpt", calibration={"temperature": -1.0})
    with pytest.raises(SerZooError, match="bad.ckpt: calibration temperature -1.0 is not a positive number"):
        load_module(path)


def test_zoo_export_carries_the_calibration_to_the_card(tmp_path):
    block = {"temperature": 1.7, "ece_before": 0.12, "ece_after": 0.03, "fitted_on": "validation speakers"}
    ckpt = tiny_checkpoint(tmp_path / "cal.ckpt", calibration=block)
    weights = export_checkpoint(ckpt, "tiny_cal", tmp_path / "zoo")
    card = json.loads(weights.with_suffix(".json").read_text())
    assert card["calibration"] == block
    assert "temperature 1.700" in weights.with_suffix(".md").read_text()
    assert "12.00 % -> 3.00 %" in weights.with_suffix(".md").read_text()
    model = load_pretrained(str(weights))
    assert model.temperature == 1.7
    plain = load_pretrained(
        str(export_checkpoint(tiny_checkpoint(tmp_path / "p.ckpt"), "p", tmp_path / "z2"))
    )
    assert plain.temperature == 1.0 and "calibration" not in plain.card


# --- ser-zoo calibrate --------------------------------------------------------------------------------------


@pytest.fixture
def own_corpus(tmp_path):
    """``calls/<label>/<speaker>/<n>.wav``: 4 labels x 6 speakers x 3 one-second clips of labelled tones."""
    rng = np.random.default_rng(0)
    t = np.arange(SR) / SR
    for i, label in enumerate(LABELS):
        for spk in ("ann", "bob", "cy", "dee", "ed", "fay"):
            folder = tmp_path / "calls" / label / spk
            folder.mkdir(parents=True)
            for k in range(3):
                y = 0.3 * np.sin(2 * np.pi * (200 + 100 * i) * t) + 0.05 * rng.standard_normal(SR)
                sf.write(str(folder / f"{k}.wav"), y.astype(np.float32), SR)
    dm = SERDataModule(
        root=str(tmp_path),
        corpora=[str(tmp_path / "calls")],
        protocol="speaker-kfold",
        folds=3,
        batch_size=8,
        num_workers=0,
        clip_seconds=1.0,
    )
    return dm


def sha(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_calibrate_command_end_to_end(own_corpus, tmp_path, capsys):
    ckpt = tiny_checkpoint(tmp_path / "fit.ckpt", own_corpus.class_names, data=dict(own_corpus.hparams))
    before = sha(ckpt)
    assert main(["calibrate", ckpt]) == 0
    out = capsys.readouterr().out
    written = tmp_path / "fit-calibrated.ckpt"
    assert f"wrote {written}" in out and "validation speakers of speaker-kfold fold 0 (12 clips)" in out
    assert "validation  " in out and "test  " in out and "ECE before" in out
    assert sha(ckpt) == before  # the input is untouched
    saved = torch.load(written, weights_only=True)
    block = saved["calibration"]
    assert block["clips"] == 12 and block["test"]["clips"] == 24 and block["nll_after"] <= block["nll_before"]
    assert load_module(written).temperature == block["temperature"] != 1.0
    torch.testing.assert_close(saved["state_dict"], torch.load(ckpt, weights_only=True)["state_dict"])

    assert main(["calibrate", ckpt]) == 2  # never overwrites silently
    assert "fit-calibrated.ckpt exists; pass --overwrite" in capsys.readouterr().err
    assert main(["calibrate", ckpt, "--out", ckpt]) == 2
    assert "is the input checkpoint" in capsys.readouterr().err
    assert main(["calibrate", str(written), "--out", str(tmp_path / "again.ckpt")]) == 0
    assert f"(was {block['temperature']:.4f})" in capsys.readouterr().out  # raw logits again: same fit


def test_calibrate_needs_saved_data_settings(tmp_path, capsys):
    ckpt = tiny_checkpoint(tmp_path / "bare.ckpt")
    assert main(["calibrate", ckpt]) == 2
    err = capsys.readouterr().err
    assert "bare.ckpt: no data-module settings saved in it" in err and len(err.strip().splitlines()) == 1
    assert main(["calibrate", str(tmp_path / "missing.ckpt")]) == 2
    assert "checkpoint not found" in capsys.readouterr().err
