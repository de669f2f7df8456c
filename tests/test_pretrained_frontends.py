"""Pretrained front-ends (CREPE pitch, GE2E voice embedding), Silero VAD trimming and their per-clip caches.

Every network loads from its installed wheel with the network disabled; CREPE finds synthetic tones, the GE2E
mel and embedding match Resemblyzer's own, VAD finds the same speech in a clip padded with silence, and cached
features are reused without running the network again.
"""

import doctest
import importlib
import math
import socket
from pathlib import Path

import numpy as np
import pytest
import torch

from ser_zoo.errors import ConfigError
from ser_zoo.features import create_frontend
from ser_zoo.features.pretrained_cache import attach_clip_source, clip_refs

pytest.importorskip("torchcrepe")
pytest.importorskip("silero_vad")
if __import__("importlib").util.find_spec("resemblyzer") is None:
    pytest.skip("resemblyzer not installed (pip install 'ser-zoo[pretrained]')", allow_module_level=True)

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
SR = 16000
RAVDESS_CLIP = "ravdess/Actor_01/03-01-05-01-01-01-01.flac"  # an angry statement, ~3.9 s


def _refuse(*args, **kwargs):
    raise OSError("network disabled in this test")


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", _refuse)


@pytest.fixture(scope="module")
def crepe_full():
    """CREPE full (89 MB), built once with the network disabled."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", _refuse)
        mp.setattr(socket.socket, "connect_ex", _refuse)
        return create_frontend({"name": "crepe_pitch", "model": "full", "normalize": None, "cache": False})


def tone(freq: float, seconds: float, amp: float = 0.5) -> torch.Tensor:
    t = torch.arange(int(SR * seconds)) / SR
    return amp * torch.sin(2 * math.pi * freq * t)


def count_calls(monkeypatch, frontend) -> list[int]:
    """Patch the front-end's network to record the batch size of every call."""
    net, calls = frontend.network, []
    forward = net.forward
    monkeypatch.setattr(net, "forward", lambda x, *a, **k: (calls.append(len(x)), forward(x, *a, **k))[1])
    return calls


def test_each_network_loads_from_its_installed_wheel_offline(offline, crepe_full):
    import silero_vad
    import torchcrepe

    from ser_zoo.data.vad import load_vad

    for fe in (create_frontend({"name": "crepe_pitch", "cache": False}), crepe_full):
        assert fe.state_dict() == {} and not any(p.requires_grad for p in fe.network.parameters())
        assert not fe.network.training  # batch norm in inference mode, also inside a module in training
    assert crepe_full.network.crepe.conv1.out_channels == 1024  # the full model, not tiny
    assert Path(torchcrepe.__file__).parent.joinpath("assets", "tiny.pth").is_file()
    frozen = create_frontend({"name": "voice_embedding", "cache": False})
    assert frozen.state_dict() == {}  # frozen weights stay in the wheel, not in every checkpoint
    tuned = create_frontend({"name": "voice_embedding", "trainable": True})
    assert "net.lstm.weight_ih_l0" in tuned.state_dict() and tuned.cache is None
    threads = torch.get_num_threads()
    load_vad.cache_clear()
    assert isinstance(load_vad(), torch.jit.ScriptModule)
    assert torch.get_num_threads() == threads  # silero_vad's import-time set_num_threads(1) is undone
    assert Path(silero_vad.__file__).parent.joinpath("data", "silero_vad.jit").is_file()


def test_missing_extra_names_the_install_command(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "torchcrepe", None)
    with pytest.raises(ConfigError, match=r"pip install 'ser-zoo\[pretrained\]'"):
        create_frontend("crepe_pitch")


def test_shapes_frame_grid_and_stacking():
    lengths = torch.tensor([8000, 5000])
    wave = torch.randn(2, 8000) * 0.1
    pitch = create_frontend({"name": "crepe_pitch", "cache": False})
    logmel = create_frontend({"name": "logmel", "n_mels": 64})
    y = pitch(wave, lengths)
    assert y.shape == (2, 1, 2, 51) == (2, *pitch.output_shape(8000)) and pitch.kind == "image"
    assert y.shape[-1] == logmel(wave).shape[-1]  # the log-mel's own frames (hop 160, centred)
    assert (y[1, ..., 1 + 5000 // 160 :] == 0).all() and torch.isfinite(y).all()
    stack = create_frontend(
        {
            "name": "stack",
            "parts": [{"name": "logmel", "n_mels": 64}, {"name": "crepe_pitch", "cache": False}],
        }
    )
    x = stack(wave, lengths)
    assert x.shape == (2, 1, 66, 51) == (2, *stack.output_shape(8000))
    with pytest.raises(ConfigError, match="rows; they must be equal"):
        create_frontend({"name": "stack", "dim": "channels", "parts": ["logmel", {"name": "crepe_pitch"}]})
    with pytest.raises(ConfigError, match="same hop_length"):
        create_frontend({"name": "stack", "parts": ["logmel", {"name": "crepe_pitch", "hop_length": 320}]})
    emb = create_frontend({"name": "voice_embedding", "cache": False})
    v = emb(wave, lengths)
    assert v.shape == (2, 256) == (2, *emb.output_shape(8000)) and emb.kind == "vector"
    assert torch.allclose(v.norm(dim=1), torch.ones(2), atol=1e-5)


@pytest.mark.parametrize("model", ["tiny", "full"])
def test_crepe_recovers_220_and_440_hz_tones_within_10_cents(model, crepe_full):
    fe = (
        crepe_full
        if model == "full"
        else create_frontend({"name": "crepe_pitch", "normalize": None, "cache": False})
    )
    seconds = 0.5 if model == "tiny" else 0.12  # full CREPE costs ~1.5 GMAC per frame
    y = fe(torch.stack([tone(220.0, seconds), tone(440.0, seconds)]))[:, 0]
    for row, freq in zip(y, (220.0, 440.0)):
        inner = row[:, 4:-4]  # frames whose 64 ms window lies inside the tone
        error = inner[0] - 1200 * math.log2(freq / 10)
        print(
            f"CREPE {model} {freq:g} Hz: median error {error.median():+.2f} cents, "
            f"max |error| {error.abs().max():.2f}"
        )
        assert error.median().abs() < 10 and (inner[1] > 0.5).all()
    if model == "tiny":
        hz = create_frontend({"name": "crepe_pitch", "unit": "hz", "normalize": None, "cache": False})
        assert abs(float(hz(tone(440.0, 0.3)[None])[0, 0, 0, 4:-4].median()) / 440 - 1) < 2 ** (10 / 1200) - 1


def test_crepe_periodicity_matches_torchcrepe():
    import torchcrepe

    torch.manual_seed(0)
    wave = tone(300.0, 0.3) + 0.2 * torch.randn(int(0.3 * SR))
    ours = create_frontend({"name": "crepe_pitch", "normalize": None, "cache": False})(wave[None])[0, 0]
    pitch, periodicity = torchcrepe.predict(
        wave[None], SR, 160, 50.0, 1000.0, "tiny", torchcrepe.decode.weighted_argmax, return_periodicity=True
    )
    assert torch.allclose(ours[1], periodicity[0], atol=1e-5)
    assert (
        ours[0] - 1200 * torch.log2(pitch[0] / 10)
    ).abs().max() < 25  # torchcrepe dithers by up to 20 cents


def test_ge2e_mel_and_embedding_match_resemblyzer(data_root):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from resemblyzer import VoiceEncoder, wav_to_mel_spectrogram
    from ser_zoo.audio import load_audio
    from ser_zoo.features.ge2e import GE2EMel

    wav = load_audio(data_root / RAVDESS_CLIP)
    ref = wav_to_mel_spectrogram(wav)
    ours = GE2EMel()(torch.from_numpy(wav)[None])[0].numpy()
    rel = np.abs(ours - ref).max() / np.abs(ref).max()
    print(f"GE2E mel vs resemblyzer: {ref.shape}, max abs difference {rel:.2e} of the peak")
    assert ours.shape == ref.shape and rel < 1e-5
    expected = VoiceEncoder("cpu", verbose=False).embed_utterance(wav)
    fe = create_frontend({"name": "voice_embedding", "cache": False})
    short = wav[:30000]
    batch = torch.zeros(2, len(wav))
    batch[0], batch[1, : len(short)] = torch.from_numpy(wav), torch.from_numpy(short)
    got = fe(batch, torch.tensor([len(wav), len(short)])).numpy()
    print(f"GE2E embedding cosine vs resemblyzer: {float(got[0] @ expected):.6f}")
    assert float(got[0] @ expected) > 0.9999 and np.abs(got[0] - expected).max() < 1e-4
    assert (
        float(got[1] @ VoiceEncoder("cpu", verbose=False).embed_utterance(short)) > 0.9999
    )  # padding masked


def test_vad_trims_silence_padding_to_the_speech_boundaries(data_root):
    from ser_zoo.audio import load_audio
    from ser_zoo.data.vad import speech_segments, trim_bounds

    wav = load_audio(data_root / RAVDESS_CLIP)
    segments = speech_segments(wav, SR)
    assert segments and all(0 <= s < e <= len(wav) / SR for s, e in segments)
    start, end = segments[0][0], segments[-1][1]
    padded = np.concatenate([np.zeros(SR, np.float32), wav, np.zeros(SR, np.float32)])
    (s, e), whole = trim_bounds([padded, np.zeros(SR, np.float32)], SR)
    err = max(abs(s / SR - 1 - start), abs(e / SR - 1 - end))
    print(
        f"VAD: speech {start:.3f}-{end:.3f} s; padded clip trimmed to {s / SR - 1:.3f}-{e / SR - 1:.3f} s "
        f"(max boundary error {1000 * err:.0f} ms)"
    )
    assert err < 0.1 and tuple(whole) == (0, SR)  # no speech: the clip is kept whole
    at_8k = speech_segments(padded[::2], 8000)  # resampled to 16 kHz inside
    assert abs(at_8k[0][0] - 1 - start) < 0.1


def test_vad_offsets_are_stored_once_and_reused(data_root, tmp_path, monkeypatch):
    from ser_zoo.data import vad
    from ser_zoo.data.cache import WaveformCache
    from ser_zoo.data.clips import ClipDataset, pad_collate
    from ser_zoo.data.corpora import read_corpus

    clips = read_corpus("ravdess", data_root)[:3]
    base = WaveformCache(clips, tmp_path, SR, name="ravdess", progress=False)
    first = vad.TrimmedCache(base, [c.id for c in clips], progress=False)
    assert first.path.is_file() and first.path.parent == base.dir.parent
    monkeypatch.setattr(vad, "speech_probs", lambda *a: pytest.fail("VAD ran again"))
    again = vad.TrimmedCache(base, [c.id for c in clips], progress=False)
    for c in clips:
        s, e = again.bounds(c.id)
        assert (s, e) == first.bounds(c.id) and 0 <= s < e <= base.length(c.id)
        assert again.length(c.id) == len(again.get(c.id)) == e - s < base.length(c.id)
    ds = ClipDataset(clips, [0, 0, 0], {"ravdess": again}, "center", SR)
    batch = pad_collate([ds[0], ds[1]], min_length=SR)
    assert (
        batch["clip"][0]
        == again.clip_key(clips[0].id)
        == f"{again.family}/{clips[0].id}@{base.digest(clips[0].id)}"
    )
    assert "-vad" in again.family
    other = WaveformCache(
        clips[1:], tmp_path, SR, name="ravdess", progress=False
    )  # another clip list, same corpus
    assert vad.TrimmedCache(other, [clips[1].id], progress=False).bounds(clips[1].id) == first.bounds(
        clips[1].id
    )
    assert batch["start"][0] == (again.length(clips[0].id) - SR) // 2


def test_data_module_vad_trim_feeds_trimmed_crops_and_whole_clips(data_root):
    from ser_zoo.data.datamodule import SERDataModule

    dm = SERDataModule(root=str(data_root), limit_clips=2, vad_trim=True, batch_size=2, num_workers=0)
    dm.setup("fit")
    batch = next(iter(dm.val_dataloader()))
    key, start, n = batch["clip"][0], int(batch["start"][0]), int(batch["lengths"][0])
    clip = dm.datasets["val"].clips[0]
    whole = dm.full_clip(key)
    trimmed = dm.datasets["val"].cache["ravdess"]
    assert "-vad" in key and len(whole) == trimmed.length(clip.id) < trimmed.base.length(clip.id)
    np.testing.assert_array_equal(batch["audio"][0, :n].numpy(), whole[start : start + n])


def test_cached_crepe_frames_are_reused_and_match_the_crop(tmp_path, monkeypatch):
    fe = create_frontend({"name": "crepe_pitch", "normalize": None, "cache_dir": str(tmp_path)})
    torch.manual_seed(0)
    clips = {
        "c/a": (tone(180.0, 1.2) + 0.05 * torch.randn(int(1.2 * SR))).numpy(),
        "c/b": (tone(260.0, 1.0) + 0.05 * torch.randn(SR)).numpy(),
    }
    attach_clip_source(fe, clips.__getitem__)
    calls = count_calls(monkeypatch, fe)
    width, starts = 8000, torch.tensor([3200, 1600])  # crops on the 160-sample frame grid
    crops = torch.stack([torch.from_numpy(clips[k][s : s + width]) for k, s in zip(clips, starts.tolist())])
    with clip_refs(fe, list(clips), starts):
        cached = fe(crops, torch.tensor([width, width]))
    assert calls and len(list(tmp_path.rglob("*.npy"))) == 2
    n = len(calls)
    with clip_refs(fe, list(clips), starts + 160):  # a new epoch's crops: frames from the cache, no network
        fe(crops, torch.tensor([width, width]))
    assert len(calls) == n
    direct = fe(crops, torch.tensor([width, width]))  # no refs: the network on the crop itself
    assert torch.allclose(cached[..., 4:-4], direct[..., 4:-4], atol=1e-3)  # equal away from the crop edges


def test_module_uses_the_cache_unless_the_waveform_was_augmented(tmp_path, monkeypatch):
    from ser_zoo.data.clips import ClipItem, pad_collate
    from ser_zoo.lit.module import SERModule

    module = SERModule(
        model="ge2e_head",
        frontend={"name": "voice_embedding", "cache_dir": str(tmp_path)},
        num_classes=4,
        augment={"gain": {"p": 1.0, "db": [-3, 3]}},
    )
    torch.manual_seed(0)
    clips = {f"corpus/{i}": 0.1 * torch.randn(SR * 2).numpy() for i in range(3)}
    attach_clip_source(module.frontend, clips.__getitem__)
    calls = count_calls(monkeypatch, module.frontend)
    items = [
        ClipItem(wave=torch.from_numpy(w[4000:28000]), label=0, index=i, gender=0.5, clip_key=k, start=4000)
        for i, (k, w) in enumerate(clips.items())
    ]
    batch = pad_collate(items, min_length=24000)
    module.eval()
    first = module._logits(batch, train=False)[0]
    n = len(calls)
    assert (
        n > 0 and module._logits(batch, train=False)[0].allclose(first) and len(calls) == n
    )  # second pass: cache
    assert module(batch["audio"], batch["lengths"]).shape == (3, 4) and len(calls) > n  # inference: no cache
    module.train()
    n = len(calls)
    module._logits(batch, train=True)  # gain augmentation changed the waveform: the encoder runs
    assert len(calls) > n


def test_cached_voice_embedding_matches_the_crop_on_speech(data_root, tmp_path, monkeypatch):
    from ser_zoo.audio import load_audio

    fe = create_frontend({"name": "voice_embedding", "cache_dir": str(tmp_path)})
    clips = {
        f"ravdess/{p.stem}": load_audio(p) for p in sorted((data_root / "ravdess" / "Actor_02").glob("*"))[:3]
    }
    attach_clip_source(fe, clips.__getitem__)
    width, start = 40000, 4000
    crops = torch.stack([torch.from_numpy(w[start : start + width]) for w in clips.values()])
    lengths = torch.full((len(clips),), width)
    with clip_refs(fe, list(clips), torch.full((len(clips),), start)):
        cached = fe(crops, lengths)
    calls = count_calls(monkeypatch, fe)
    with clip_refs(fe, list(clips), torch.full((len(clips),), start + 1600)):
        fe(crops, lengths)
    assert not calls  # the second pass reads the cache
    cosine = (cached * fe(crops, lengths)).sum(1)
    print(f"GE2E cached crop vs encoder on the crop: cosine {cosine.min():.4f} (min of {len(clips)} clips)")
    assert cosine.min() > 0.98


@pytest.mark.parametrize("recipe", ["resnet18_pitch_ravdess", "ge2e_head_ravdess", "mel_cnn_vad_union7"])
def test_recipes_parse_and_build(recipe, tmp_path):
    from ser_zoo.lit.cli import build_cli

    cli = build_cli(
        [
            "--config",
            str(CONFIGS / f"{recipe}.yaml"),
            "--trainer.logger",
            "false",
            "--trainer.default_root_dir",
            str(tmp_path),
        ],
        run=False,
    )
    fe = cli.model.frontend
    if recipe.startswith("resnet18"):
        assert fe.output_shape(48000) == (1, 66, 301) and cli.model.hparams.model == "resnet18"
    elif recipe.startswith("ge2e"):
        assert fe.kind == "vector" and not fe.trainable and cli.model.hparams.model == "ge2e_head"
    else:
        assert cli.datamodule.hparams.vad_trim and cli.model.hparams.model == "mel_cnn"


@pytest.mark.parametrize("name", ["crepe", "ge2e"])
def test_docstring_examples_run(name):
    """The shapes the pretrained front-ends' docstrings promise are the shapes they give."""
    module = importlib.import_module(f"ser_zoo.features.{name}")
    result = doctest.testmod(module, extraglobs={"torch": torch}, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_pitch_statistics_of_a_tone_and_of_silence():
    from ser_zoo.features.crepe import hz_to_cents
    from ser_zoo.models.classical import PITCH_HOP, VectorFeatures, pitch_statistics

    fx = VectorFeatures("pitch")
    wave = torch.zeros(2, SR * 2)
    wave[0] = tone(220.0, 2.0)
    stats = fx(wave, torch.tensor([SR * 2, SR]))
    assert stats.shape == (2, 10) and fx.pitch.hop_length == PITCH_HOP
    mean, std, p10, p50, p90, spread, move, _, _, voiced = stats[0].tolist()
    assert (
        abs(mean - float(hz_to_cents(220.0))) < 10 and std < 10 and spread < 20 and move < 10 and voiced > 0.9
    )
    assert stats[1, :7].abs().max() == 0 and stats[1, 9] < 0.1  # silence: no voiced frame, F0 entries zero
    assert pitch_statistics(torch.zeros(1, 2, 5)).abs().max() == 0  # a clip with no frames at all


def test_baseline_vectors_are_cached_per_clip_and_vad_trim_is_a_separate_view(data_root, monkeypatch):
    from ser_zoo.models import classical

    kw = dict(limit_clips=24, features="stats+ge2e")
    first = classical.run_baseline("logreg", "ravdess-6fold", 0, **kw)
    trimmed = classical.run_baseline("logreg", "ravdess-6fold", 0, vad_trim=True, **kw)
    classical._fold_features.cache_clear()
    monkeypatch.setattr(
        classical.VectorFeatures, "forward", lambda *a: pytest.fail("features computed again")
    )
    again = classical.run_baseline("logreg", "ravdess-6fold", 0, **kw)
    again_trimmed = classical.run_baseline("logreg", "ravdess-6fold", 0, vad_trim=True, **kw)
    assert again["ua"] == first["ua"] and again_trimmed["ua"] == trimmed["ua"]
    assert classical.parse_baseline_spec("svm:stats+ge2e:vad") == ("svm", "stats+ge2e", True, False)
    assert classical.parse_baseline_spec("knn") == ("knn", classical.DEFAULT_FEATURES, False, False)
    with pytest.raises(ConfigError, match="unknown baseline feature"):
        classical.run_baseline("svm", "ravdess-6fold", 0, features="stats+f0")


@pytest.fixture
def speech_recording(data_root, tmp_path):
    """1 s silence, a RAVDESS clip, 2 s silence, another clip, 1 s silence; each clip's speech (file time)."""
    from ser_zoo.audio import load_audio
    from ser_zoo.data.vad import speech_segments

    a = load_audio(data_root / RAVDESS_CLIP)
    b = load_audio(data_root / "ravdess/Actor_02/03-01-03-01-02-01-02.flac")
    gap = lambda s: np.zeros(int(s * SR), np.float32)  # noqa: E731
    path = tmp_path / "talk.wav"
    import soundfile as sf

    sf.write(path, np.concatenate([gap(1), a, gap(2), b, gap(1)]), SR)
    sa, sb = speech_segments(a, SR), speech_segments(b, SR)
    off_b = 1 + len(a) / SR + 2
    return path, (1 + sa[0][0], 1 + sa[-1][1]), (off_b + sb[0][0], off_b + sb[-1][1])


def test_streamed_vad_finds_the_speech_of_a_long_file_block_by_block(speech_recording):
    from ser_zoo.data.vad import stream_speech_segments

    path, speech_a, speech_b = speech_recording
    for block_s in (60.0, 1.3):  # one block, and many blocks with the warm-up context
        found = stream_speech_segments(path, block_s=block_s)
        assert abs(found[0][0] - speech_a[0]) < 0.1 and abs(found[-1][1] - speech_b[1]) < 0.1, (
            block_s,
            found,
        )
        assert all(
            not (speech_a[1] + 0.1 < s < speech_b[0] - 0.1) for s, _ in found
        )  # nothing in the 2 s gap


def test_infer_vad_classifies_speech_segments_only(speech_recording, tmp_path, capsys):
    import json

    from test_infer import fit_ckpt

    from ser_zoo.cli import main
    from ser_zoo.zoo import export_checkpoint

    path, speech_a, speech_b = speech_recording
    model = str(export_checkpoint(fit_ckpt(tmp_path)[1], "tiny", tmp_path / "zoo"))
    code = main(
        ["infer", str(path), str(tmp_path / "missing.wav"), "--model", model, "--vad", "--format", "json"]
    )
    captured = capsys.readouterr()
    report = json.loads(captured.out)  # {"results": [...], "skipped": [...]}
    rows = report["results"]
    assert code == 1 and "missing.wav" in captured.err  # the bad file is reported, the good one classified
    assert any("missing.wav" in str(s) for s in report["skipped"])
    assert rows and all(r["file"] == str(path) and r["label"] in r["probs"] for r in rows)
    assert abs(rows[0]["start"] - speech_a[0]) < 0.1 and abs(rows[-1]["end"] - speech_b[1]) < 0.1
    assert all(r["end"] <= speech_a[1] + 0.1 or r["start"] >= speech_b[0] - 0.1 for r in rows)
    assert (
        main(["infer", str(path), "--model", model, "--vad", "--max_segment", "0.5", "--format", "json"]) == 0
    )
    short = json.loads(capsys.readouterr().out)["results"]
    assert len(short) > len(rows) and all(r["end"] - r["start"] <= 0.5 + 1e-3 for r in short)
    assert main(["infer", str(path), "--model", model, "--vad", "--window", "3"]) == 2
    assert "--vad classifies speech segments and --window fixed windows" in capsys.readouterr().err


def test_side_frontend_adds_a_ge2e_head_to_any_model_and_survives_the_zoo(data_root, tmp_path):
    """side_frontend: the GE2E embedding's linear head adds its logits to the net's, learns (gradient on the
    head, none into frozen GE2E), and a zoo export rebuilds the same two-branch model from its card."""
    import lightning as L
    from conftest import smoke_fit

    from ser_zoo.zoo import export_checkpoint, load_pretrained

    side = {"name": "voice_embedding"}
    module, metrics = smoke_fit(
        data_root, tmp_path, "mel_cnn", frontend={"name": "logmel", "n_mels": 40}, side_frontend=side
    )
    assert 0.0 <= metrics["test/ua"] <= 1.0 and module.side_head.weight.shape[1] == 256
    wave, lengths = 0.1 * torch.randn(2, 16000 * 2), torch.full((2,), 16000 * 2)
    module.train()
    module(wave, lengths).sum().backward()
    assert module.side_head.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in module.side_frontend.parameters())
    module.eval()
    with torch.no_grad():
        net_only = module.net(module.frontend(wave, lengths))
        side_only = module.side_head(module.side_frontend(wave, lengths))
        both = module(wave, lengths)
    assert torch.allclose(both, net_only + side_only, atol=1e-5) and side_only.abs().max() > 0
    trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False)
    trainer.strategy.connect(module)
    ckpt = tmp_path / "side.ckpt"
    trainer.save_checkpoint(ckpt)
    weights = export_checkpoint(ckpt, "tiny_side", tmp_path / "zoo", fp16=False)
    loaded = load_pretrained(str(weights))
    assert loaded.card["side_frontend"] == side
    with torch.no_grad():
        assert torch.allclose(loaded(wave, lengths), both, atol=1e-5)


def test_side_frontend_must_give_one_vector_per_clip():
    from ser_zoo.lit.module import SERModule

    with pytest.raises(ConfigError, match="side_frontend 'logmel' gives .* one vector per clip"):
        SERModule(
            model="mel_cnn", frontend={"name": "logmel", "n_mels": 40}, side_frontend={"name": "logmel"}
        )


def test_onnx_export_refuses_a_side_branch_in_one_line(tmp_path):
    """GE2E's exported graph does not match PyTorch, so a two-branch model is refused rather than exported
    wrong (or without its side branch)."""
    from ser_zoo.export import export_onnx
    from ser_zoo.lit.module import SERModule

    module = SERModule(
        model="mel_cnn",
        frontend={"name": "logmel", "n_mels": 40},
        side_frontend={"name": "voice_embedding"},
        num_classes=6,
        class_names=list("abcdef"),
    )
    with pytest.raises(
        ConfigError, match="side_frontend 'voice_embedding' faithfully; use this model from Python"
    ):
        export_onnx(module, tmp_path / "side.onnx")
    assert not (tmp_path / "side.onnx").exists()
