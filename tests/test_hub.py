"""The Hugging Face Hub through ``huggingface_hub`` itself, against a minimal Hub on 127.0.0.1 (HF_ENDPOINT):
``ser-zoo zoo push`` uploads a checkpoint, ``hf-hub:ORG/NAME`` loads it (then offline, from the Hub cache),
and ``pretrained: true`` on a ``timm/`` backbone fetches timm's ImageNet weights through timm's own loader."""

import json

import numpy as np
import pytest
import soundfile as sf
import torch
from local_servers import LocalHub

from ser_zoo.cli import main
from ser_zoo.errors import SerZooError
from ser_zoo.zoo import load_pretrained
from ser_zoo.zoo_paths import data_dir

hf_constants = pytest.importorskip("huggingface_hub.constants")

NAME = "mfcc_cnn_union7"
WEIGHTS = (data_dir("checkpoints") / f"{NAME}.safetensors").read_bytes()


@pytest.fixture
def hub(tmp_path, monkeypatch):
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    for var in ("SER_ZOO_OFFLINE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    with LocalHub() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server


def test_push_then_load_by_hf_hub_name_then_offline(hub, tmp_path, monkeypatch, capsys):
    assert main(["zoo", "push", NAME, "--repo-id", "someone/emotions7"]) == 0
    files = hub.repos["someone/emotions7"]["files"]
    assert (
        sorted(files) == ["README.md", "card.json", "model.safetensors"]
        and files["model.safetensors"] == WEIGHTS
    )
    card = json.loads(files["card.json"])
    assert card["hf_hub_id"] == "someone/emotions7" and card["url"].startswith(
        f"{hub.url}/someone/emotions7/"
    )
    readme = files["README.md"].decode()
    assert readme.startswith("---\nlicense: other\n") and "non-commercial research use only" in readme
    assert "**Training data and protocol:** RAVDESS + CREMA-D + TESS + SAVEE" in readme
    assert 'load_pretrained("hf-hub:someone/emotions7")' in readme

    model = load_pretrained("hf-hub:someone/emotions7")
    reference = load_pretrained(NAME)
    wave = torch.randn(2, 16000)
    torch.testing.assert_close(model(wave), reference(wave))
    assert list(model.class_names) == list(reference.class_names)

    clip = tmp_path / "clip.wav"
    sf.write(clip, 0.1 * np.sin(np.arange(24000) * 0.05).astype("float32"), 16000)
    served = len(hub.requests)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # from the Hub cache now, no request
    capsys.readouterr()
    assert (
        main(
            [
                "infer",
                str(clip),
                "--model",
                "hf-hub:someone/emotions7",
                "--format",
                "json",
                "--speech_gate",
                "off",
            ]
        )
        == 0
    )
    printed = json.loads(capsys.readouterr().out)
    [row] = printed["results"] if isinstance(printed, dict) else printed
    assert row["label"] in reference.class_names
    assert len(hub.requests) == served
    with pytest.raises(SerZooError, match="not in the Hugging Face cache and offline mode is on"):
        load_pretrained("hf-hub:someone/never-loaded")


def test_hub_errors_are_one_line(hub):
    hub.put("someone/not-ser-zoo", {"README.md": b"hello"})
    for spec, message in [
        ("hf-hub:someone/missing", "no such Hub repository"),
        ("hf-hub:someone/not-ser-zoo", "has no card.json \\+ model.safetensors"),
        ("hf-hub:someone/not-ser-zoo@v9", "has no revision 'v9'"),
        ("hf-hub:no-slash", "write a Hub checkpoint as hf-hub:ORG/NAME"),
    ]:
        with pytest.raises(SerZooError, match=message) as e:
            load_pretrained(spec)
        assert "\n" not in str(e.value)


def test_substituted_hub_weights_fail_the_sha256_check(hub):
    card = json.loads((data_dir("checkpoints") / f"{NAME}.json").read_text())
    tampered = bytearray(WEIGHTS)
    tampered[-3] ^= 0xFF
    hub.put(
        "someone/tampered", {"card.json": json.dumps(card).encode(), "model.safetensors": bytes(tampered)}
    )
    with pytest.raises(
        SerZooError, match=rf"model.safetensors: sha256 \w+ does not match its card \({card['sha256']}"
    ):
        load_pretrained("hf-hub:someone/tampered")


def test_timm_imagenet_start_goes_through_timm_and_its_hub_cache(hub, monkeypatch, tmp_path):
    timm = pytest.importorskip("timm")
    from safetensors.torch import save

    from ser_zoo import create_model

    torch.manual_seed(0)
    published = timm.create_model("test_resnet", pretrained=False).state_dict()
    hub_id = timm.create_model("test_resnet", pretrained=False).pretrained_cfg["hf_hub_id"]
    hub.put(hub_id, {"model.safetensors": save(published)})
    # timm calls huggingface_hub without an endpoint, so point the library's own default at the local Hub
    monkeypatch.setattr(
        hf_constants, "HUGGINGFACE_CO_URL_TEMPLATE", hub.url + "/{repo_id}/resolve/{revision}/{filename}"
    )
    model = create_model("timm/test_resnet", num_classes=4, pretrained=True)
    own = model.state_dict()
    torch.testing.assert_close(own["conv1.0.weight"], published["conv1.0.weight"].sum(1, keepdim=True))
    torch.testing.assert_close(own["layer2.0.conv1.weight"], published["layer2.0.conv1.weight"])
    assert model.get_classifier().out_features == 4
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(
        SerZooError, match=r"could not fetch timm's ImageNet weights .* model_kwargs.weights: /path/to"
    ):
        create_model("timm/test_resnet", num_classes=4, pretrained=True)
