"""Front-ends: shapes, dtype, padding behaviour, registry errors, and numeric parity with librosa/scipy.

Parity tolerances (measured here on CPU: synthetic chirp and a RAVDESS clip) are stated in each assertion;
measured errors are 10-100x below them:
  logmel / spectrogram : max |dB diff| < 0.01 dB over every bin (measured <= 0.002 dB)
  mfcc                 : max |diff| < 1e-5 x coefficient range (measured ~1e-6)
  zcr                  : < 1e-7 absolute (measured: exact)
  rms                  : < 1e-5 x max rms (measured ~2e-7)
  chroma               : < 1e-5 absolute on [0, 1] values (measured ~1e-6)
  clip_stats           : rtol 1e-4, atol 1e-9 per feature vs numpy/scipy (float64) and librosa
                         (measured <= 5e-5)
"""

from __future__ import annotations

import doctest
import inspect
import subprocess
import sys

import librosa
import numpy as np
import pytest
import scipy.stats
import torch
from conftest import real_clip, synthetic

from ser_zoo.errors import ConfigError
from ser_zoo.features import (
    FRONTENDS,
    ClipStats,
    Concat,
    base,
    create_frontend,
    frontends,
    functional,
    list_frontends,
    pooled,
    pretrained_cache,
    register_frontend,
    registry,
    stack,
)
from ser_zoo.features.functional import band_norm

SR, N_FFT, HOP = 16000, 512, 160


@pytest.fixture(params=["synthetic", "real"])
def signal(request) -> np.ndarray:
    return synthetic() if request.param == "synthetic" else real_clip()


def run(spec, y: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        out = create_frontend(spec)(torch.from_numpy(y)[None])
    assert out.dtype == torch.float32
    return out[0].double().numpy()


# -- parity -----------------------------------------------------------------------------------------
def test_logmel_matches_librosa(signal):
    ref = librosa.power_to_db(
        librosa.feature.melspectrogram(
            y=signal, sr=SR, n_fft=N_FFT, hop_length=HOP, n_mels=64, pad_mode="constant"
        ),
        ref=1.0,
        top_db=80,
    )
    out = run({"name": "logmel", "normalize": None}, signal)[0]
    assert out.shape == ref.shape
    assert np.abs(out - ref).max() < 0.01  # dB, every bin including the clamped floor


def test_mfcc_matches_librosa(signal):
    ref = librosa.feature.mfcc(
        y=signal, sr=SR, n_mfcc=40, n_fft=N_FFT, hop_length=HOP, n_mels=64, pad_mode="constant"
    )
    out = run({"name": "mfcc", "normalize": None}, signal)[0]
    assert out.shape == ref.shape
    assert np.abs(out - ref).max() < 1e-5 * np.ptp(ref)


def test_spectrogram_matches_librosa(signal):
    stft = librosa.stft(signal, n_fft=N_FFT, hop_length=HOP, pad_mode="constant")
    ref = librosa.power_to_db(np.abs(stft) ** 2, ref=1.0, top_db=80)
    out = run({"name": "spectrogram", "normalize": None}, signal)[0]
    assert out.shape == ref.shape == (N_FFT // 2 + 1, 1 + signal.size // HOP)
    assert np.abs(out - ref).max() < 0.01  # dB


def test_zcr_matches_librosa(signal):
    ref = librosa.feature.zero_crossing_rate(signal, frame_length=512, hop_length=HOP, center=True)
    out = run("zcr", signal)
    assert out.shape == ref.shape and ref.max() > 0.01
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-7)


def test_rms_matches_librosa(signal):
    ref = librosa.feature.rms(y=signal, frame_length=512, hop_length=HOP, center=True, pad_mode="constant")
    out = run("rms", signal)
    assert out.shape == ref.shape
    assert np.abs(out - ref).max() < 1e-5 * ref.max()


def test_chroma_matches_librosa(signal):
    ref = librosa.feature.chroma_stft(
        y=signal, sr=SR, n_fft=N_FFT, hop_length=HOP, tuning=0.0, pad_mode="constant"
    )
    out = run("chroma", signal)[0]
    assert out.shape == ref.shape == (12, 1 + signal.size // HOP)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-5)


def clip_stats_reference(y: np.ndarray) -> np.ndarray:
    y64 = y.astype(np.float64)
    kw = dict(y=y, sr=SR, n_fft=N_FFT, hop_length=HOP, pad_mode="constant")
    return np.array(
        [
            y64.mean(),
            y64.var(),
            scipy.stats.skew(y64),
            scipy.stats.kurtosis(y64),
            librosa.feature.spectral_centroid(**kw).mean(),
            librosa.feature.spectral_bandwidth(**kw).mean(),
        ]
    )


def test_clip_stats_match_scipy_and_librosa(signal):
    np.testing.assert_allclose(run("clip_stats", signal), clip_stats_reference(signal), rtol=1e-4, atol=1e-9)


# -- padding / lengths ------------------------------------------------------------------------------
def test_clip_stats_ignore_zero_padding():
    short, long_ = synthetic(0.5, seed=1), synthetic(1.0, seed=2)
    batch = torch.zeros(2, long_.size)
    batch[0, : short.size], batch[1] = torch.from_numpy(short), torch.from_numpy(long_)
    fe = ClipStats()
    masked = fe(batch, torch.tensor([short.size, long_.size]))
    alone = fe(torch.from_numpy(short)[None])[0]
    torch.testing.assert_close(masked[0], alone, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(masked[0].double().numpy(), clip_stats_reference(short), rtol=1e-4, atol=1e-9)
    # Without lengths the zeros count as samples, so every statistic moves: the masking is doing the work.
    unmasked = fe(batch)[0]
    assert ((unmasked - alone).abs() > 1e-4 * alone.abs()).all()


@pytest.mark.parametrize("name", sorted(FRONTENDS))
def test_batch_shapes_dtype_and_padded_rows(name):
    """Every front-end: (B, *output_shape), float32, finite; a padded row's first frames equal the clip's."""
    fe = create_frontend(name)
    n, short = 12000, 7000
    batch = torch.from_numpy(np.stack([synthetic(n / SR, seed=3), synthetic(n / SR, seed=4)]))
    batch[1, short:] = 0
    lengths = torch.tensor([n, short])
    with torch.no_grad():
        out = fe(batch, lengths)
        alone = fe(batch[1:, :short])[0]
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    assert tuple(out.shape) == (2, *fe.output_shape(n))
    assert tuple(alone.shape) == fe.output_shape(short)
    if fe.kind == "vector":  # GE2E's LSTM matmuls round differently for another batch size
        torch.testing.assert_close(out[1], alone, rtol=1e-5, atol=1e-6 if name == "voice_embedding" else 1e-9)
    elif name != "concat":  # frames whose window lies inside the valid part must not see the padding
        k = (short - 256) // HOP + 1
        torch.testing.assert_close(out[1, ..., :k], alone[..., :k], rtol=1e-4, atol=1e-4)
    assert not torch.equal(out[0], out[1])


@pytest.mark.parametrize("name", sorted(FRONTENDS))
@pytest.mark.parametrize("num_samples", [100, 511, 1600])
def test_short_clips_still_give_frames(name, num_samples):
    fe = create_frontend(name)
    with torch.no_grad():
        out = fe(torch.from_numpy(synthetic(num_samples / SR, seed=5))[None])
    assert tuple(out.shape[1:]) == fe.output_shape(num_samples)
    assert torch.isfinite(out).all()
    if fe.kind not in ("vector", "waveform") and name != "concat":
        assert out.shape[-1] == 1 + num_samples // HOP  # centred frames, as librosa


@pytest.mark.parametrize("name", ["logmel", "mfcc", "spectrogram"])
def test_top_db_floor_is_per_example(name):
    """A quiet clip (-60 dB) batched with a loud one keeps its own max - 80 dB floor (not the batch's)."""
    fe = create_frontend({"name": name, "normalize": None})
    loud = torch.from_numpy(synthetic(0.5, seed=9))
    batch = torch.stack([loud, 1e-3 * loud])
    with torch.no_grad():
        torch.testing.assert_close(fe(batch)[1], fe(batch[1:])[0], rtol=1e-4, atol=1e-3)


def test_logmel_utterance_normalisation_uses_valid_frames():
    fe = create_frontend("logmel")  # normalize="utterance" by default
    y = torch.from_numpy(synthetic(1.0, seed=6))
    padded = torch.cat([y, torch.zeros(8000)])[None]
    out = fe(padded, torch.tensor([y.numel()]))[0, 0]
    valid = out[:, : 1 + y.numel() // HOP]
    assert abs(valid.mean().item()) < 1e-4 and abs(valid.std(unbiased=False).item() - 1) < 1e-3
    whole = fe(padded)[0, 0]  # without lengths the padded frames enter the statistics
    assert abs(whole[:, : 1 + y.numel() // HOP].mean().item()) > 0.05


def test_band_normalisation_standardises_each_row_and_removes_a_fixed_colouring():
    """``normalize: band`` is per-band CMVN over the clip's valid frames: a fixed filter (a microphone's or a
    telephone line's colouring) shifts each log-mel row by a near-constant, which it removes and the utterance
    normalisation does not."""
    band = create_frontend({"name": "logmel", "normalize": "band", "top_db": None})
    whole = create_frontend({"name": "logmel", "top_db": None})
    y = torch.from_numpy(synthetic(1.0, seed=6))
    coloured = torch.cat([y[:1], y[1:] - 0.9 * y[:-1]])  # pre-emphasis: a fixed high-shelf tilt
    padded = torch.cat([y, torch.zeros(8000)])[None]
    full = band(padded, torch.tensor([y.numel()]))[0, 0]
    out, pad = full[:, : 1 + y.numel() // HOP], full[:, 1 + y.numel() // HOP :]
    # unit, but for rows moving less than a quarter of the clip's typical row
    std = out.std(-1, unbiased=False)
    assert (
        out.mean(-1).abs().max() < 1e-4 and (std < 1 + 1e-3).all() and (std > 1 - 1e-3).float().mean() > 0.8
    )
    assert pad.abs().max() == 0  # padding reads as each row's mean
    # a telephone line's empty band or a low-pass stop band: a row that moves a dB where speech rows move 10
    # keeps a small spread instead of being blown up into unit-variance noise
    rows = (
        torch.randn(1, 3, 200, generator=torch.Generator().manual_seed(0))
        * torch.tensor([10.0, 10.0, 0.5])[:, None]
    )
    spread = band_norm(rows, None).std(-1, unbiased=False)[0]
    assert (spread[:2] - 1).abs().max() < 1e-3 and spread[2] < 0.4  # 1.0 without the floor
    gap_band = (band(y[None]) - band(coloured[None])).abs().mean().item()
    gap_whole = (whole(y[None]) - whole(coloured[None])).abs().mean().item()
    print(f"mean |clean - coloured|: band {gap_band:.3f}, utterance {gap_whole:.3f}")
    assert gap_band < 0.5 * gap_whole
    with pytest.raises(ConfigError, match="crepe_pitch.*'band'"):
        create_frontend({"name": "crepe_pitch", "normalize": "band"})


def test_autocast_keeps_float32_features():
    fe = create_frontend({"name": "logmel", "normalize": None})
    x = torch.from_numpy(synthetic(0.5, seed=7))[None]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = fe(x)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, fe(x))


def test_concat_flattens_parts_in_order():
    parts = [{"name": "zcr"}, {"name": "rms"}, {"name": "logmel", "n_mels": 40, "normalize": None}]
    fe = create_frontend({"name": "concat", "parts": parts})
    assert fe.kind == "sequence"
    x = torch.from_numpy(synthetic(0.5, seed=8))[None]
    frames = 1 + x.shape[1] // HOP
    assert fe.output_shape(x.shape[1]) == (1, frames * (1 + 1 + 40))
    expected = torch.cat([create_frontend(p)(x).flatten(1) for p in parts], 1)
    torch.testing.assert_close(fe(x)[:, 0], expected)
    single = Concat(parts=[{"name": "logmel", "n_mels": 40}])
    assert single(x).shape == (1, 1, 40 * frames)


# -- registry / buffers -----------------------------------------------------------------------------
def test_registry_names():
    assert list_frontends() == sorted(
        [
            "logmel",
            "mfcc",
            "spectrogram",
            "zcr",
            "rms",
            "chroma",
            "clip_stats",
            "clip_means",
            "concat",
            "stack",
            "crepe_pitch",
            "voice_embedding",
            "waveform",
        ]
    )
    assert isinstance(create_frontend({"name": "mfcc", "n_mfcc": 13}), FRONTENDS["mfcc"])
    assert create_frontend({"name": "mfcc", "n_mfcc": 13}).output_shape(1600) == (1, 13, 11)


def test_unknown_frontend_is_a_config_error():
    with pytest.raises(ConfigError, match=r"unknown front-end 'foo'.*logmel"):
        create_frontend("foo")
    with pytest.raises(ConfigError, match="unknown front-end"):
        create_frontend({"n_mels": 40})


def test_unknown_option_names_frontend_key_and_valid_keys():
    with pytest.raises(ConfigError) as err:
        create_frontend({"name": "logmel", "n_melz": 40})
    msg = str(err.value)
    assert "'logmel'" in msg and "n_melz" in msg and "n_mels" in msg and "hop_length" in msg
    with pytest.raises(ConfigError, match="normalize"):
        create_frontend({"name": "logmel", "normalize": "global"})


@pytest.mark.parametrize("name", sorted(FRONTENDS))
def test_buffers_follow_device_but_stay_out_of_state_dict(name):
    fe = create_frontend(name)
    assert fe.state_dict() == {}
    if name in {"logmel", "mfcc", "spectrogram", "chroma", "clip_stats", "concat"}:
        assert len(list(fe.buffers())) >= 1
    fe = fe.to("meta")
    assert all(b.device.type == "meta" for b in fe.buffers())
    nets = [m.network for m in fe.modules() if hasattr(m, "network")]  # frozen pretrained networks follow too
    assert all(p.device.type == "meta" for n in nets for p in n.parameters())
    if nets:
        return  # they skip padded frames / count windows per clip: data-dependent shapes a meta tensor lacks
    out = fe(torch.zeros(2, 3200, device="meta"), torch.tensor([3200, 1000], device="meta"))
    assert out.device.type == "meta" and tuple(out.shape) == (2, *fe.output_shape(3200))


def test_each_front_end_registers_in_its_own_module():
    assert FRONTENDS is registry.FRONTENDS
    for name, cls in FRONTENDS.items():
        module = sys.modules[cls.__module__]
        assert module.__name__.startswith("ser_zoo.features.") and getattr(module, cls.__name__) is cls, name


def test_registering_a_second_class_under_a_taken_name_fails():
    register_frontend("logmel")(FRONTENDS["logmel"])  # the same class again (a re-import) is harmless
    with pytest.raises(ValueError, match="'logmel' registered twice"):
        register_frontend("logmel")(type("Other", (base.FrontEnd,), {}))
    assert FRONTENDS["logmel"] is frontends.LogMel


def test_registering_imports_no_optional_package():
    """torchcrepe, resemblyzer and silero-vad load only when a front-end that needs them is built."""
    code = (
        "import sys, ser_zoo.features as f; f.create_frontend('logmel'); "
        "print([m for m in ('torchcrepe', 'resemblyzer', 'silero_vad') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", sorted(FRONTENDS))
def test_front_end_docstrings_document_every_argument_shape_and_example(name):
    cls = FRONTENDS[name]
    doc = inspect.getdoc(cls) or ""
    missing = [p for p in inspect.signature(cls).parameters if f"{p} (" not in doc]
    assert not missing, f"{cls.__name__}: Args lacks {missing}"
    assert "Shape:" in doc and "Example:" in doc and ">>> " in doc, cls.__name__


@pytest.mark.parametrize("module", [base, functional, registry, frontends, pooled, stack, pretrained_cache])
def test_docstring_examples_run(module):
    """The shapes the docstrings promise are those the code gives (crepe, ge2e: test_pretrained_frontends)."""
    result = doctest.testmod(module, extraglobs={"torch": torch}, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
