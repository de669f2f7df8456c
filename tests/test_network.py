"""SERNet: the Lightning-free classifier inference loads, the same network a SERModule trains."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from ser_zoo.lit.module import SERModule
from ser_zoo.lit.safe_ckpt import load_module
from ser_zoo.models.network import SERNet, load_network

ARCHITECTURES = [
    dict(model="mel_cnn", frontend={"name": "logmel", "n_mels": 40}),
    dict(model="fusionnet"),  # takes the speaker's gender as an extra input
    dict(model="mel_cnn", frontend={"name": "logmel", "n_mels": 40}, side_frontend={"name": "clip_stats"}),
    dict(
        model="timm/resnet18",
        model_kwargs={"backbone_kwargs": {"channels": [8, 16, 32, 64], "stem_width": 8}},
        frontend={"name": "logmel", "n_mels": 32, "hop_length": 320},
        channels_last=True,
    ),
]


def fit_checkpoint(path, **arch) -> SERModule:
    """A SERModule (random weights) saved as a ``ser-zoo fit`` checkpoint holds it."""
    torch.manual_seed(0)
    module = SERModule(num_classes=3, class_names=["neutral", "happy", "sad"], example_seconds=1.0, **arch)
    module.eval()
    torch.save(
        {
            "hyper_parameters": dict(module.hparams),
            "state_dict": module.state_dict(),
            "calibration": {"temperature": 1.5},
            "datamodule_hyper_parameters": {"vad_trim": True},
        },
        path,
    )
    return module


@pytest.mark.parametrize(
    "arch", ARCHITECTURES, ids=lambda a: a["model"] + ("+side" if "side_frontend" in a else "")
)
def test_a_fit_checkpoint_loads_as_the_same_network_without_lightning(tmp_path, arch):
    """SERNet holds what SERModule holds under the same names, so the checkpoint loads strictly and gives the
    trained module's logits, temperature and VAD flag."""
    ckpt = tmp_path / "fit.ckpt"
    trained = fit_checkpoint(ckpt, **arch)
    net = load_network(ckpt)
    assert isinstance(net, SERNet) and not net.training
    assert net.state_dict().keys() == trained.state_dict().keys()
    wave, lengths = torch.randn(2, 16000) * 0.1, torch.tensor([16000, 12000])
    gender = torch.tensor([0.0, 1.0])
    with torch.no_grad():
        expected = trained(wave, lengths, gender=gender)
        assert torch.allclose(net(wave, lengths, gender=gender), expected, atol=1e-6)
        assert torch.allclose(load_module(ckpt).eval()(wave, lengths, gender=gender), expected, atol=1e-6)
    assert (net.temperature, net.vad_trim, net.class_names) == (1.5, True, ["neutral", "happy", "sad"])
    assert (net.hparams.sample_rate, net.hparams.example_seconds) == (16000, 1.0)


def test_a_sernet_state_loads_into_a_sermodule_to_train_on():
    """The other way round: a SERNet's weights are a SERModule's, key for key (a fine-tuning start)."""
    arch = ARCHITECTURES[0]
    net = SERNet(num_classes=3, example_seconds=1.0, **arch)
    module = SERModule(num_classes=3, example_seconds=1.0, **arch)
    module.load_state_dict(net.state_dict())  # strict
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), module.state_dict().values()))


def test_inference_imports_neither_lightning_nor_torchmetrics():
    """Loading a zoo checkpoint and classifying audio, as ``ser-zoo infer`` does, runs on the plain network:
    importing Lightning (with torchmetrics, which pulls in torchvision, scipy.signal and transformers) took
    about 2 s of every one-file ``ser-zoo infer`` on a 2-core CPU."""
    code = (
        "import sys, numpy as np\n"
        "from ser_zoo.infer import load_model\n"
        "model = load_model('resnet18_half_ravdess')\n"
        "answer = model.predict(np.random.default_rng(0).normal(0, 0.1, 24000), 16000)\n"
        "assert answer['label'] in model.class_names, answer\n"
        "import ser_zoo\n"
        "assert isinstance(model, ser_zoo.SERNet)\n"
        "print(type(model).__name__, sorted(m for m in ('lightning', 'torchmetrics') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\n")[-2] == "SERNet []"
