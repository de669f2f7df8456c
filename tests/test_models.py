"""Registry behaviour and ImageNet transfer from a state dict the test writes itself (no hub access)."""

import functools
import socket
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch
import torchvision

from ser_zoo import create_model, list_models, model_entry
from ser_zoo.errors import ConfigError, SerZooError


@pytest.fixture(scope="module")
def imagenet_like_weights(tmp_path_factory):
    """A torchvision ResNet18 state dict in torchvision's own key layout, saved like resnet18-f37072fd.pth."""
    torch.manual_seed(0)
    sd = torchvision.models.resnet18(weights=None).state_dict()
    path = tmp_path_factory.mktemp("weights") / "resnet18-test.pth"
    torch.save(sd, path)
    return path, sd


def check_transferred(model, sd, num_classes):
    # first conv: RGB filters summed into the single spectrogram channel
    assert model.conv1.weight.shape == (64, 1, 7, 7)
    torch.testing.assert_close(model.conv1.weight, sd["conv1.weight"].sum(1, keepdim=True))
    # body copied as is
    torch.testing.assert_close(model.layer3[1].conv2.weight, sd["layer3.1.conv2.weight"])
    torch.testing.assert_close(model.bn1.running_var, sd["bn1.running_var"])
    # head replaced, not copied
    assert model.fc.weight.shape == (num_classes, 512)


def test_resnet18_transfer_from_local_file(imagenet_like_weights):
    path, sd = imagenet_like_weights
    model = create_model("resnet18", num_classes=8, pretrained=True, weights=str(path))
    check_transferred(model, sd, 8)
    assert model(torch.randn(2, 1, 64, 301)).shape == (2, 8)


def test_resnet18_transfer_from_local_http_url(imagenet_like_weights):
    path, sd = imagenet_like_weights
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(path.parent))
    handler.log_message = lambda *a: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{path.name}"
        check_transferred(create_model("resnet18", num_classes=6, pretrained=True, weights=url), sd, 6)
    finally:
        server.shutdown()


def test_pretrained_alone_takes_torchvision_weights_from_torch_hub_and_its_cache(
    imagenet_like_weights, tmp_path, monkeypatch
):
    """``pretrained: true`` without ``weights``: torchvision's resnet18-f37072fd.pth through torch.hub, which
    reads its cache ($TORCH_HOME/hub/checkpoints) before the network."""
    path, sd = imagenet_like_weights
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    (tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth").write_bytes(path.read_bytes())
    check_transferred(create_model("resnet18", num_classes=8, pretrained=True), sd, 8)


def test_pretrained_without_a_network_says_how_to_give_a_local_file(tmp_path, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on: every connection is refused at once
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    for var in ("https_proxy", "http_proxy", "HTTPS_PROXY", "HTTP_PROXY"):
        monkeypatch.setenv(var, dead)
    monkeypatch.setenv("no_proxy", "")
    with pytest.raises(SerZooError) as e:
        create_model("resnet18", num_classes=8, pretrained=True)
    message = str(e.value)
    assert (
        message.startswith("resnet18: could not fetch torchvision's ImageNet weights (")
        and "\n" not in message
    )
    assert "download https://download.pytorch.org/models/resnet18-f37072fd.pth" in message
    assert "set model_kwargs.weights: /path/to/resnet18-f37072fd.pth" in message
    assert not list(tmp_path.rglob("*.pth"))


def test_missing_or_wrong_weights(tmp_path):
    with pytest.raises(SerZooError, match="weights file not found"):
        create_model("resnet18", num_classes=8, weights=str(tmp_path / "none.pth"))
    bad = tmp_path / "vgg.pth"
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3)}, bad)
    with pytest.raises(SerZooError, match="do not fit resnet18"):
        create_model("resnet18", num_classes=8, weights=str(bad))


def test_registry_lists_and_rejects():
    assert {"resnet18", "mel_cnn"} <= set(list_models())
    assert list_models("resnet*") == ["resnet18"]
    assert model_entry("mel_cnn").frontend["name"] == "logmel"
    with pytest.raises(ConfigError, match="unknown model 'resnet19'"):
        create_model("resnet19", num_classes=8)
    with pytest.raises(ConfigError, match=r"model 'mel_cnn' has no option\(s\) \['widht'\]"):
        create_model("mel_cnn", num_classes=8, widht=3)


@pytest.mark.parametrize("name", ["resnet18", "mel_cnn"])
def test_forward_backward_any_length(name):
    model = create_model(name, num_classes=7)
    for frames in (101, 301):
        out = model(torch.randn(3, 1, 64, frames))
        assert out.shape == (3, 7)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


@pytest.mark.slow
def test_vgg16_transfer_from_torchvision_layout(tmp_path):
    """torchvision's VGG16 keys (classifier.0/3/6) load through timm's converter; first conv summed,
    head new."""
    torch.manual_seed(0)
    sd = torchvision.models.vgg16(weights=None).state_dict()
    path = tmp_path / "vgg16-test.pth"
    torch.save(sd, path)
    model = create_model("vgg16", num_classes=6, pretrained=True, weights=str(path))
    torch.testing.assert_close(model.features[0].weight, sd["features.0.weight"].sum(1, keepdim=True))
    torch.testing.assert_close(
        model.pre_logits.fc1.weight, sd["classifier.0.weight"].reshape(4096, 512, 7, 7)
    )
    torch.testing.assert_close(model.features[28].weight, sd["features.28.weight"])
    assert model.head.fc.weight.shape == (6, 4096)
    model.eval()
    assert model(torch.randn(1, 1, 64, 301)).shape == (1, 6)  # spectrograms smaller than 224 x 224 work


def test_any_timm_backbone_by_name():
    net = create_model("timm/efficientnet_b0", num_classes=5)
    assert net(torch.randn(2, 1, 64, 101)).shape == (2, 5)
    assert model_entry("timm/mobilenetv3_small_100").frontend["name"] == "logmel"
    with pytest.raises(ConfigError, match="timm has no model 'resnet1000'"):
        create_model("timm/resnet1000", num_classes=5)


def test_timm_backbone_kwargs_reach_timm():
    half = create_model("timm/resnet18", num_classes=5, backbone_kwargs={"channels": [32, 64, 128, 256]})
    full = create_model("timm/resnet18", num_classes=5)
    assert half.fc.in_features == 256 and full.fc.in_features == 512
    assert half(torch.randn(2, 1, 64, 151)).shape == (2, 5)
    with pytest.raises(ConfigError, match="timm/resnet18: backbone_kwargs"):
        create_model("timm/resnet18", num_classes=5, backbone_kwargs={"widths": [1]})


def test_timm_backbone_weights_must_fit(tmp_path):
    sd = torchvision.models.resnet34(weights=None).state_dict()
    path = tmp_path / "resnet34.pth"
    torch.save(sd, path)
    net = create_model("timm/resnet34", num_classes=4, pretrained=True, weights=str(path))
    torch.testing.assert_close(net.conv1.weight, sd["conv1.weight"].sum(1, keepdim=True))
    with pytest.raises(SerZooError, match="do not fit resnet18"):
        create_model("resnet18", num_classes=4, pretrained=True, weights=str(path))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnet18", "vgg16", "timm/mobilenetv3_small_100"])
def test_transfer_models_train_one_epoch_on_real_clips(name, data_root, tmp_path):
    from conftest import smoke_fit

    module, metrics = smoke_fit(data_root, tmp_path, name, clip_seconds=1.0, limit_clips=8, batch_size=4)
    assert 0.0 <= metrics["test/ua"] <= 1.0 and torch.isfinite(torch.tensor(metrics["test/loss"]))
    assert module.trainer.global_step == 2  # 8 training clips in batches of 4: both steps ran


def test_model_table_names_every_model_with_its_licence_and_size():
    from ser_zoo.models import model_table

    table = model_table()
    blocks = {block.split("\n", 1)[0]: block for block in table.split("\n\n")}
    for name in list_models():
        entry = model_entry(name)
        assert entry.source.licence and entry.source.title
        assert f"licence     {entry.source.licence}" in blocks[name]
        assert f"params      {entry.num_params:,}" in blocks[name]
    assert "KNeighborsClassifier(n_neighbors=9)" in table  # the scikit-learn baselines follow


def test_parameter_counts_are_the_models_as_built():
    """Counted on the meta device, they equal a real build for the default front-end, 3 s and 8 classes."""
    from ser_zoo.features import create_frontend
    from ser_zoo.models import takes_input_shape

    assert model_entry("resnet18").num_params == 11_174_344  # torchvision's 11,689,512, 1 channel, 8 classes
    for name in ("conv2d_mfcc", "dummynet_zcr", "mfcc_crnn", "fusionnet"):
        entry, kwargs = model_entry(name), {}
        if takes_input_shape(name):
            kwargs["input_shape"] = tuple(create_frontend(entry.frontend).output_shape(3 * 16000))
        built = create_model(name, num_classes=8, **kwargs)
        assert entry.num_params == sum(p.numel() for p in built.parameters())


def test_every_model_registers_in_the_module_that_defines_it():
    import importlib
    import inspect

    for name in list_models():
        module = importlib.import_module(model_entry(name).builder.__module__)
        assert module.__name__.startswith("ser_zoo.models.") and f'"{name}"' in inspect.getsource(module)


DOCUMENTED_MODULES = "classical cnn conv2d_mfcc crnn dummynet exponet fusionnet mlp rezonet transfer".split()


@pytest.mark.parametrize("module", DOCUMENTED_MODULES)
def test_docstring_examples_give_the_documented_shapes(module):
    import doctest
    import importlib

    mod = importlib.import_module(f"ser_zoo.models.{module}")
    torch.manual_seed(0)
    result = doctest.testmod(mod, extraglobs={"torch": torch}, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_recipes_parse_with_their_model(capsys):
    from pathlib import Path

    import yaml

    from ser_zoo.cli import main

    for recipe, model in (("resnet18_ravdess", "resnet18"), ("vgg16_ravdess", "vgg16")):
        with pytest.raises(SystemExit):
            main(
                [
                    "fit",
                    "--config",
                    str(Path(__file__).parents[1] / "configs" / f"{recipe}.yaml"),
                    "--print_config",
                ]
            )
        assert yaml.safe_load(capsys.readouterr().out)["model"]["model"] == model
