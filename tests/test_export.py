"""``ser-zoo export --format onnx``: waveform-in ONNX graphs (front-end included) that match PyTorch.

Parity measured on this CPU (torch 2.11, onnxruntime 1.32, opset 17) as the max abs logit difference on four
3 s clips (three RAVDESS clips when the corpora are present, else synthetic, plus a synthetic one), with the
random-init models given a trained model's logit spread (max |logit| 5): resnet18 1.2e-04, mel_cnn 1.2e-04
(ONNX Runtime's STFT and PyTorch's FFT round differently). The assertion allows 1e-3.
"""

import json

import numpy as np
import pytest
import torch
from conftest import SHARED_DATA
from test_zoo import CLASSES8, fit_ckpt

from ser_zoo import export as export_mod
from ser_zoo.audio import load_audio
from ser_zoo.cli import main
from ser_zoo.errors import ConfigError
from ser_zoo.export import export_onnx, onnx_parity, run_export
from ser_zoo.lit.module import SERModule

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

SR, SECONDS = 16000, 3.0
TOLERANCE = 1e-3


def synthetic(seed: int) -> np.ndarray:
    """Speech-like: a gliding harmonic tone with a syllable-rate envelope, plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(SR * SECONDS)) / SR
    f0 = 120 + 60 * seed + 40 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    voice = sum(np.sin(k * phase) / k for k in range(1, 6)) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)) ** 2
    return (0.2 * voice + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def clips() -> torch.Tensor:
    """Four 3 s clips: three real RAVDESS ones when the corpora are here, else synthetic; one synthetic."""
    n = int(SR * SECONDS)
    real = sorted((SHARED_DATA / "ravdess" / "Actor_01").glob("*.flac"))[::20][:3]
    waves = [load_audio(p, SR) for p in real] or [synthetic(s) for s in (1, 2, 3)]
    waves = [np.pad(w, (0, max(0, n - len(w))))[:n] for w in waves] + [synthetic(0)]
    return torch.from_numpy(np.stack(waves))


def calibrated(model: str, x: torch.Tensor, **kwargs) -> SERModule:
    """A random-init module with a trained model's logit spread on ``x`` (max |logit| = 5): mismatches show.

    BatchNorm statistics are taken from ``x``, then the classifier (the last Linear) is scaled.
    """
    torch.manual_seed(0)
    module = SERModule(model=model, num_classes=8, class_names=CLASSES8, **kwargs)
    for m in module.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.momentum = None  # a cumulative average over the calibration pass
    module.train()
    with torch.no_grad():
        module(x)
        module.eval()
        head = [m for m in module.net.modules() if isinstance(m, torch.nn.Linear)][-1]
        scale = 5.0 / module(x).abs().max()
        head.weight.mul_(scale)
        head.bias.mul_(scale)
    return module


@pytest.mark.parametrize(
    "model,kwargs", [("resnet18", {"model_kwargs": {"pretrained": False}}), ("mel_cnn", {})]
)
def test_onnx_matches_pytorch_with_the_frontend_inside(model, kwargs, tmp_path):
    x = clips()
    module = calibrated(model, x, **kwargs)
    assert module.frontend_spec["name"] == "logmel"  # the default front-end, exported with the net
    result = export_onnx(module, tmp_path / f"{model}.onnx")
    assert result.input == "waveform" and result.dynamic_batch and not result.notes
    graph = onnx.load(str(result.path))
    assert "STFT" in {n.op_type for n in graph.graph.node}
    meta = {p.key: p.value for p in graph.metadata_props}
    assert json.loads(meta["class_names"]) == CLASSES8 and meta["sample_rate"] == "16000"
    assert (
        meta["clip_seconds"] == "3"
        and meta["input"] == "waveform"
        and json.loads(meta["input_shape"]) == ["batch", 48000]
    )
    with torch.no_grad():
        spread = module(x).abs().max().item()
    assert spread == pytest.approx(
        5.0, rel=1e-3
    )  # not a near-zero untrained output that would hide a mismatch
    diff = onnx_parity(module, result.path, x)  # batch 4 through a graph traced at batch 1
    assert diff < TOLERANCE, f"{model}: max abs logit difference {diff:.2e} (|logit| up to {spread:.1f})"
    assert onnx_parity(module, result.path, x[:1]) < TOLERANCE


def test_cli_export_from_a_checkpoint(tmp_path, capsys):
    _, ckpt = fit_ckpt(tmp_path)
    out = tmp_path / "model.onnx"
    assert main(["export", "--model", ckpt, "--format", "onnx", "--out", str(out), "--seconds", "2"]) == 0
    text = capsys.readouterr().out
    assert f"wrote {out}" in text and 'waveform ["batch", 32000]' in text
    assert float(text.split("max abs logit difference ")[1].split()[0]) < TOLERANCE
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert meta["clip_seconds"] == "2" and meta["model"] == "mel_cnn"
    assert json.loads(meta["frontend"]) == {"name": "logmel", "n_mels": 40}


def test_onnx_probs_are_the_calibrated_probabilities_predict_gives(tmp_path):
    """The second output is softmax(logits / temperature), as ``predict`` computes it; the temperature and the
    VAD-trim flag are in the metadata for a runtime without ser-zoo."""
    module, _ = fit_ckpt(tmp_path)
    module.eval().temperature = 2.5
    result = export_onnx(module, tmp_path / "cal.onnx", seconds=1.0)
    sess = ort.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    assert [o.name for o in sess.get_outputs()] == ["logits", "probs"]
    x = torch.from_numpy(np.stack([synthetic(0)[:SR], synthetic(1)[:SR]]))
    logits, probs = sess.run(None, {"waveform": x.numpy()})
    with torch.no_grad():
        expected = (module(x) / 2.5).softmax(-1).numpy()
    assert np.abs(probs - expected).max() < 1e-5 and np.allclose(probs.sum(-1), 1, atol=1e-5)
    assert np.abs(probs - torch.from_numpy(logits).softmax(-1).numpy()).max() > 1e-3  # the temperature acts
    meta = {p.key: p.value for p in onnx.load(str(result.path)).metadata_props}
    assert float(meta["temperature"]) == 2.5 and meta["vad_trim"] == "false"


def test_a_frontend_that_does_not_export_falls_back_to_features(tmp_path, monkeypatch):
    module, _ = fit_ckpt(tmp_path)
    monkeypatch.setattr(
        export_mod, "onnx_friendly", lambda fe: fe
    )  # torchaudio's complex STFT: not exportable
    result = export_onnx(module.eval(), tmp_path / "feats.onnx", seconds=1.0)
    assert result.input == "features" and result.input_shape == (1, 1, 40, 101)
    assert "front-end 'logmel' did not export" in result.notes[0] and "create_frontend" in result.notes[0]
    meta = {p.key: p.value for p in onnx.load(str(result.path)).metadata_props}
    assert meta["input"] == "features" and "did not export" in meta["notes"]
    with torch.no_grad():
        feats = module.frontend(torch.from_numpy(np.stack([synthetic(0)[:SR], synthetic(1)[:SR]])))
    assert onnx_parity(module, result.path, feats) < TOLERANCE


def test_unknown_format_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(ConfigError, match="--format 'tflite' is not supported; use onnx"):
        run_export("anything", "tflite", str(tmp_path / "m.tflite"))
    assert main(["export", "--model", "anything", "--format", "tflite", "--out", str(tmp_path / "m")]) == 2
    assert "--format 'tflite' is not supported; use onnx" in capsys.readouterr().err


def test_fixed_input_models_must_export_at_their_clip_length(tmp_path):
    module = SERModule(model="conv2d_mfcc", num_classes=8, example_seconds=3.0)
    with pytest.raises(ConfigError, match="fixed 3 s input; export with --seconds 3"):
        export_onnx(module, tmp_path / "m.onnx", seconds=2.0)
