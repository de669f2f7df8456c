"""Pretrained speech encoders as zoo models, checked on tiny random models that transformers builds offline.

No encoder weights exist on this machine and nothing is fetched: each test writes its own weights (a tiny
Hugging Face folder saved from a config, or a state dict) to a temporary folder.
"""

from __future__ import annotations

import functools
import http.server
import json
import sys
import threading

import numpy as np
import pytest
import torch

from ser_zoo.errors import ConfigError, SerZooError
from ser_zoo.lit.module import SERModule
from ser_zoo.models import create_model, list_models, model_entry
from ser_zoo.models.encoders.finetune import optimizer_groups
from ser_zoo.models.encoders.ssl import TINY_WAVLM
from ser_zoo.models.encoders.whisper import whisper_arch

transformers = pytest.importorskip("transformers")

TINY_HF = dict(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=64,
    conv_dim=(32, 32, 32),
    conv_stride=(5, 4, 4),
    conv_kernel=(10, 4, 4),
    num_conv_pos_embeddings=16,
    num_conv_pos_embedding_groups=4,
)
TINY_WHISPER = whisper_arch(32, 2, 2, 64, positions=50)  # a 1 s window
TINY_HUBERT = {
    k: v for k, v in TINY_WAVLM.items() if k not in ("encoder_num_buckets", "encoder_max_distance")
}
TINY_HUBERT.update(extractor_mode="layer_norm", encoder_layer_norm_first=True)  # the large models' layout


def hf_model(family: str, seed: int = 0):
    """A tiny random transformers model of ``family`` (its config decides the size), in eval mode."""
    torch.manual_seed(seed)
    if family == "wavlm":
        return transformers.WavLMModel(
            transformers.WavLMConfig(**TINY_HF, num_buckets=16, max_bucket_distance=32)
        )
    if family == "hubert":  # the large models' layout: layer-norm conv stem, pre-norm transformer
        config = transformers.HubertConfig(**TINY_HF, feat_extract_norm="layer", do_stable_layer_norm=True)
        return transformers.HubertModel(config)
    if family == "wav2vec2":
        return transformers.Wav2Vec2Model(transformers.Wav2Vec2Config(**TINY_HF))
    config = transformers.WhisperConfig(
        **TINY_WHISPER,
        decoder_layers=1,
        decoder_attention_heads=2,
        decoder_ffn_dim=64,
        vocab_size=64,
        max_target_positions=16,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=1,
    )
    return transformers.WhisperForConditionalGeneration(config)


ZOO_NAME = {
    "wavlm": "wavlm_base_plus",
    "hubert": "hubert_large",
    "wav2vec2": "wav2vec2_base",
    "whisper": "whisper_tiny",
}


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """family -> (saved Hugging Face folder, the transformers model it holds)."""
    out = {}
    for family in ZOO_NAME:
        model = hf_model(family).eval()
        folder = tmp_path_factory.mktemp(f"hf-{family}")
        model.save_pretrained(folder)
        out[family] = (folder, model)
    return out


def reference_states(family: str, model, wave: torch.Tensor, normalize: bool) -> list[torch.Tensor]:
    """transformers' own hidden states of one clip (its feature extractor's input), ending in the encoder's
    output."""
    with torch.no_grad():
        if family == "whisper":
            extractor = transformers.WhisperFeatureExtractor(feature_size=80, chunk_length=1)
            mel = extractor(wave.numpy(), sampling_rate=16000, return_tensors="pt").input_features
            out = model.get_encoder()(mel, output_hidden_states=True)
        else:
            extractor = transformers.Wav2Vec2FeatureExtractor(do_normalize=normalize)
            values = extractor(wave.numpy(), sampling_rate=16000, return_tensors="pt").input_values
            out = model(values, output_hidden_states=True)
    return [*out.hidden_states[:-1], out.last_hidden_state]


def clip(seconds: float, seed: int) -> torch.Tensor:
    return 0.1 * torch.randn(int(16000 * seconds), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("family", list(ZOO_NAME))
def test_every_hidden_state_equals_transformers_and_a_torchaudio_file_gives_the_same(
    folders, family, tmp_path
):
    folder, model = folders[family]
    net = create_model(ZOO_NAME[family], num_classes=4, weights=str(folder)).eval()
    assert net.resolved_kwargs["arch"]  # config.json decided the size, kept for the checkpoint
    wave = clip(0.8, 1)
    ref = reference_states(family, model, wave, getattr(net.backbone, "normalize", False))
    with torch.no_grad():
        mine = net.backbone.hidden_states(wave[None])
    assert mine.shape[1] == len(ref) == 3
    frames = mine.shape[2]
    for layer, expected in enumerate(ref):
        assert torch.allclose(mine[0, layer], expected[0, :frames], atol=1e-4), f"layer {layer}"

    # the same weights through a state-dict file (torchaudio's layout; Whisper: transformers' encoder's)
    inner = net.backbone.encoder if family == "whisper" else net.backbone.model
    path = tmp_path / "weights.pt"
    torch.save(inner.state_dict(), path)
    again = create_model(ZOO_NAME[family], 4, weights=str(path), arch=net.resolved_kwargs["arch"]).eval()
    with torch.no_grad():
        assert torch.equal(again.backbone.hidden_states(wave[None]), mine)


@pytest.mark.parametrize("family", ["wavlm", "whisper"])
def test_other_weights_give_other_states_and_another_cache_key(folders, family, tmp_path):
    folder, _ = folders[family]
    other = tmp_path / "other"
    hf_model(family, seed=1).save_pretrained(other)
    a = create_model(ZOO_NAME[family], 4, weights=str(folder)).eval()
    b = create_model(ZOO_NAME[family], 4, weights=str(other)).eval()
    wave = clip(0.8, 2)[None]
    with torch.no_grad():
        assert (a.backbone.hidden_states(wave) - b.backbone.hidden_states(wave)).abs().max() > 1e-2
    assert a._cache_settings()["weights"] != b._cache_settings()["weights"]


@pytest.mark.parametrize(
    "model, kwargs, tol",
    [
        ("wavlm_base", {"arch": TINY_WAVLM}, 1e-5),  # group-norm conv stem: run clip by clip
        ("hubert_large", {"arch": TINY_HUBERT, "pooling": "attentive", "normalize": True}, 1e-5),
        ("whisper_tiny", {"arch": TINY_WHISPER}, 1e-4),
    ],
)
def test_a_clips_prediction_does_not_depend_on_the_batch_padding(model, kwargs, tol):
    module = SERModule(model=model, model_kwargs=kwargs, num_classes=4, example_seconds=1.0).eval()
    lengths = torch.tensor([16000, 11000, 6400])
    batch = torch.zeros(3, 16000)
    for i, n in enumerate(lengths.tolist()):
        batch[i, :n] = clip(n / 16000, 10 + i)
    with torch.no_grad():
        together = module(batch, lengths)
        alone = [module(batch[i : i + 1, :n], lengths[i : i + 1])[0] for i, n in enumerate(lengths.tolist())]
    assert torch.allclose(together, torch.stack(alone), atol=tol)


def test_frozen_training_runs_the_encoder_only_in_the_first_epoch(data_root, tmp_path):
    import lightning as L

    from ser_zoo.data.datamodule import SERDataModule
    from ser_zoo.features.pretrained_cache import clip_refs

    L.seed_everything(0, verbose=False)
    dm = SERDataModule(
        root=str(data_root), limit_clips=6, batch_size=3, num_workers=0, clip_seconds=1.0, eval_crop="full"
    )
    kwargs = {"arch": TINY_WAVLM, "cache_dir": str(tmp_path / "features")}
    module = SERModule(
        model="wavlm_base", model_kwargs=kwargs, num_classes=dm.num_classes, class_names=dm.class_names
    )
    calls = []
    module.net.backbone.model.feature_extractor.register_forward_hook(lambda *a: calls.append(1))

    class PerEpoch(L.Callback):
        seen: list[int] = []

        def on_train_epoch_end(self, trainer, pl_module):
            self.seen.append(len(calls))

    trainer = L.Trainer(
        max_epochs=2, accelerator="cpu", logger=False, enable_checkpointing=False, callbacks=[PerEpoch()],
        enable_progress_bar=False, enable_model_summary=False, default_root_dir=str(tmp_path),
    )  # fmt: skip
    trainer.fit(module, datamodule=dm)
    first, second = PerEpoch.seen
    assert first > 0 and second == first  # epoch 2 (training and validation) ran no encoder forward
    stored = list((tmp_path / "features").rglob("*.npy"))
    assert len(stored) == len(dm.stage_clips("train")) + len(dm.stage_clips("val"))
    assert np.load(stored[0]).dtype == np.float16

    batch = next(iter(dm.val_dataloader()))  # whole clips: stored stacks equal a fresh forward, up to fp16
    module.eval()
    with torch.no_grad():
        fresh = module(batch["audio"], batch["lengths"])
        with clip_refs(module, batch["clip"], batch["start"]):
            cached = module(batch["audio"], batch["lengths"])
    assert torch.allclose(fresh, cached, atol=5e-3)


def test_partial_fine_tuning_trains_the_top_layers_with_layerwise_rates_and_checkpointing():
    kw = {"arch": TINY_WAVLM, "finetune_layers": 1, "layer_lr_decay": 0.5}
    torch.manual_seed(0)
    plain = SERModule(model="wavlm_base", model_kwargs=kw, num_classes=4)
    torch.manual_seed(0)
    ckpt = SERModule(model="wavlm_base", model_kwargs={**kw, "gradient_checkpointing": True}, num_classes=4)
    groups = optimizer_groups(plain, 1e-3)
    assert [g["lr"] for g in groups] == [1e-3, 5e-4]  # the head, the top layer; the frozen rest: none
    model = plain.net.backbone.model
    assert not any(p.requires_grad for p in model.feature_extractor.parameters())
    assert not any(p.requires_grad for p in model.encoder.transformer.layers[0].parameters())
    wave, lengths = torch.stack([clip(1.0, 5), clip(1.0, 6)]), torch.tensor([16000, 12000])
    grads = []
    for module in (plain, ckpt):
        module.train()
        assert not module.net.backbone.model.feature_extractor.training  # frozen parts: no dropout
        torch.manual_seed(1)  # the same dropout draws in both
        module(wave, lengths).sum().backward()
        top = module.net.backbone.model.encoder.transformer.layers[1]
        grads.append(torch.cat([p.grad.flatten() for p in top.parameters()]))
    assert grads[0].abs().sum() > 0 and torch.allclose(grads[0], grads[1], atol=1e-6)


def test_onnx_export_of_a_tiny_encoder_matches_pytorch(tmp_path):
    pytest.importorskip("onnxruntime")
    from ser_zoo.export import export_onnx, onnx_parity

    for model, arch in (("wavlm_base", TINY_WAVLM), ("whisper_tiny", TINY_WHISPER)):
        module = SERModule(
            model=model, model_kwargs={"arch": arch}, num_classes=4, example_seconds=1.0
        ).eval()
        result = export_onnx(module, tmp_path / f"{model}.onnx", seconds=1.0)
        assert result.input == "waveform" and result.dynamic_batch
        assert onnx_parity(module, result.path, 0.1 * torch.randn(2, 16000)) < 1e-4


def test_a_checkpoint_and_its_zoo_export_need_no_encoder_weights(folders, tmp_path):
    import shutil

    from ser_zoo.lit.safe_ckpt import load_module
    from ser_zoo.zoo import export_checkpoint, load_pretrained

    folder = tmp_path / "wavlm"
    shutil.copytree(folders["wavlm"][0], folder)
    module = SERModule(model="wavlm_base_plus", model_kwargs={"weights": str(folder)}, num_classes=4).eval()
    ckpt = tmp_path / "fit.ckpt"
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams)}, ckpt)
    export_checkpoint(ckpt, "wavlm_tiny", tmp_path / "zoo")
    shutil.rmtree(folder)  # the encoder's weights are gone: both must rebuild from what they hold
    wave = clip(1.0, 7)[None]
    with torch.no_grad():
        expected = module(wave)
        assert torch.equal(load_module(ckpt).eval()(wave), expected)
        zoo = load_pretrained("wavlm_tiny", zoo_dir=tmp_path / "zoo")
        assert torch.allclose(zoo(wave), expected, atol=2e-2)  # fp16 weights
    assert zoo.predict(wave[0].numpy())["label"] in zoo.class_names  # what infer and listen call
    card = json.loads((tmp_path / "zoo" / "wavlm_tiny.json").read_text())
    assert card["model_kwargs"]["arch"]["encoder_embed_dim"] == 32


def test_weights_come_from_a_url_on_this_machine(tmp_path):
    net = create_model("wavlm_base", 4, arch=TINY_WAVLM)
    torch.save(net.backbone.model.state_dict(), tmp_path / "tiny.pth")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/tiny.pth"
        fetched = create_model("wavlm_base", 4, weights=url, arch=TINY_WAVLM)
    finally:
        server.shutdown()
    for a, b in zip(net.backbone.state_dict().values(), fetched.backbone.state_dict().values()):
        assert torch.equal(a, b)


def test_bad_weights_fail_with_one_line_naming_them(folders, tmp_path, monkeypatch):
    junk = tmp_path / "junk.pt"
    junk.write_text("not a checkpoint")
    tiny = tmp_path / "tiny.pt"
    torch.save(create_model("wavlm_base", 4, arch=TINY_WAVLM).backbone.model.state_dict(), tiny)
    cases = [
        (dict(weights=str(junk)), SerZooError, "cannot read weights"),
        (dict(weights=str(tmp_path / "absent.pt")), SerZooError, "weights not found"),
        (dict(weights=str(tiny)), SerZooError, "do not fit model 'wavlm_base'"),  # tiny file, full-size model
        (dict(weights=str(folders["hubert"][0])), ConfigError, "model_type 'hubert'"),
        (dict(weights="HUBERT_BASE"), ConfigError, "no torchaudio bundle"),
        (dict(weights="WAVLM_HUGE"), ConfigError, "no torchaudio bundle"),
        (dict(arch=TINY_WAVLM, finetune_layers=3), ConfigError, "finetune_layers=3"),
        (dict(arch=TINY_WAVLM, layer=5), ConfigError, "layer=5"),
    ]
    for kwargs, error, words in cases:
        with pytest.raises(error) as e:
            create_model("wavlm_base", 4, **kwargs)
        assert words in str(e.value) and "\n" not in str(e.value), kwargs
    monkeypatch.setitem(sys.modules, "transformers", None)  # as if the extra were not installed
    with pytest.raises(ConfigError, match=r"pip install 'ser-zoo\[encoders\]'"):
        create_model("whisper_tiny", 4)


def test_every_encoder_is_registered_with_its_provenance():
    names = {
        "wav2vec2_base",
        "wav2vec2_large",
        "hubert_base",
        "hubert_large",
        "wavlm_base",
        "wavlm_base_plus",
    }
    names |= {"wavlm_large", "whisper_tiny", "whisper_small", "whisper_large_v3"}
    assert names <= set(list_models())
    for name in names:
        entry = model_entry(name)
        assert entry.frontend == {"name": "waveform"} and entry.input_kind == "waveform"
        assert "weights MIT" in entry.source.licence and entry.source.url.startswith("https://arxiv.org/")
    assert model_entry("whisper_large_v3").num_params > 600e6  # the encoder as built, on the meta device


def test_a_torchaudio_bundle_name_loads_through_torchaudios_own_download_cache(tmp_path, monkeypatch):
    """torchaudio looks in its download cache before the network: a file placed there is what it loads."""
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path))
    (tmp_path / "checkpoints").mkdir()
    with torch.device("meta"):
        shapes = create_model("wavlm_base", 4).backbone.model.state_dict()
    gen = torch.Generator().manual_seed(3)
    state = {k: 0.02 * torch.randn(v.shape, generator=gen) for k, v in shapes.items()}
    torch.save(state, tmp_path / "checkpoints" / "wavlm_base_plus.pth")
    net = create_model("wavlm_base_plus", 4, weights="WAVLM_BASE_PLUS")
    assert net.resolved_kwargs == {"normalize": False}  # torchaudio's bundle says how it was trained
    for key, value in net.backbone.model.state_dict().items():
        assert torch.equal(value, state[key])


@pytest.mark.parametrize(
    "module",
    ["features.hidden_cache", "features.waveform", "models.encoders.head", "models.encoders.ssl",
     "models.encoders.finetune"],
)  # fmt: skip
def test_docstring_examples_give_the_documented_results(module):
    import doctest
    import importlib

    mod = importlib.import_module(f"ser_zoo.{module}")
    torch.manual_seed(0)
    result = doctest.testmod(mod, extraglobs={"torch": torch, "np": np}, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
