"""SER-FusionNet: the report's parameter counts, every extractor x head, gender fusion, and the
``clip_means`` front-end against the notebooks' librosa calls (real fits: test_seed_zoo.py).

clip_means parity, measured on a chirp and a RAVDESS clip (tolerances are 10-100x above): zcr, chroma, rms
<= 3e-7 relative; mfcc <= 8e-4 absolute (~1e-6 of the coefficient range); mel power <= 2e-5 relative.
"""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch
from conftest import real_clip
from conftest import synthetic as chirp

from ser_zoo.errors import ConfigError
from ser_zoo.features import create_frontend
from ser_zoo.models import create_model, list_models, model_entry
from ser_zoo.models.fusionnet import fusion_mlp, fusionnet_conv1d_extractor
from ser_zoo.models.sources import SER_FUSIONNET

SR = 16000


def n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


# -- the report's model summaries ----------------------------------------------------------------------------
def test_report_conv1d_extractor_matches_summary():
    m = fusionnet_conv1d_extractor(num_classes=6)
    assert n_params(m) == 665_850
    convs = [layer for layer in m.modules() if isinstance(layer, torch.nn.Conv1d)]
    dense = [layer for layer in m.modules() if isinstance(layer, torch.nn.Linear)]
    assert [n_params(layer) for layer in convs] == [1536, 327_936]
    assert [n_params(layer) for layer in dense] == [335_904, 396, 78]
    assert dense[0].in_features == 10_496  # Flatten (41, 256): the two 'same' poolings 162 -> 81 -> 41
    assert m.eval()(torch.randn(3, 162)).shape == (3, 6)


def test_fusion_mlp_matches_summary():
    # The summary's Dense 12 has 504 = 12 x (41 + 1) parameters: 41 inputs, two more than the 39 features the
    # report lists (see fusionnet.py). The layer sizes are the report's either way.
    head = fusion_mlp(41, 6)
    assert n_params(head) == 700
    assert [n_params(layer) for layer in head if isinstance(layer, torch.nn.Linear)] == [504, 130, 66]
    assert n_params(fusion_mlp(39, 6)) == 700 - 2 * 12


def test_registered_net_holds_the_report_parts():
    net = create_model("fusionnet", 6)
    assert net.head[0].in_features == 39 and n_params(net.head) == 676  # 32 deep + 6 stats + gender
    assert n_params(net.extractor) + 396 + 78 == 665_850  # + the report's first-stage Dense 12 -> 6 head
    assert net.deep_features(torch.randn(4, 168)).shape == (4, 32)
    assert n_params(create_model("fusionnet", 6, use_gender=False).head) == 676 - 12  # 38 inputs


def test_registration():
    entry = model_entry("fusionnet")
    assert "fusionnet" in list_models()
    assert entry.input_kind == "vector" and entry.source == SER_FUSIONNET
    fe = create_frontend(entry.frontend)
    assert fe.kind == "vector" and fe.output_shape(3 * SR) == (168,)


# -- every extractor x head ----------------------------------------------------------------------------------
@pytest.mark.parametrize("extractor", ["conv1d", "conv2d"])
@pytest.mark.parametrize("head", ["mlp", "lstm", "bilstm"])
def test_forward_backward(extractor, head):
    torch.manual_seed(0)
    net = create_model("fusionnet", 8, extractor=extractor, head=head)
    x = torch.randn(5, 168)
    out = net(x, gender=torch.tensor([1.0, 0.0, 0.5, 1.0, 0.0]))
    assert out.shape == (5, 8) and torch.isfinite(out).all()
    out.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())
    assert net(x).shape == (5, 8)  # gender omitted -> 0.5


def test_bad_options_and_inputs():
    with pytest.raises(ConfigError, match="extractor"):
        create_model("fusionnet", 6, extractor="conv3d")
    with pytest.raises(ConfigError, match="head"):
        create_model("fusionnet", 6, head="gru")
    with pytest.raises(ValueError, match="168"):
        create_model("fusionnet", 6)(torch.randn(2, 162))


# -- gender fusion -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("head", ["mlp", "bilstm"])
def test_gender_changes_output_only_when_used(head):
    torch.manual_seed(0)
    x = torch.randn(4, 168)
    male, female = torch.ones(4), torch.zeros(4)
    on = create_model("fusionnet", 6, head=head, use_gender=True).eval()
    with torch.no_grad():
        assert not torch.allclose(on(x, gender=male), on(x, gender=female))
        assert torch.allclose(on(x), on(x, gender=torch.full((4,), 0.5)))
    off = create_model("fusionnet", 6, head=head, use_gender=False).eval()
    with torch.no_grad():
        assert torch.equal(off(x, gender=male), off(x, gender=female))


# -- clip_means front-end vs the notebooks' librosa calls ----------------------------------------------------
def notebook_features(y: np.ndarray) -> np.ndarray:
    """The Kaggle notebooks' extract_features at librosa defaults (chroma with tuning 0, see pooled.py)."""
    return np.hstack(
        [
            np.mean(librosa.feature.zero_crossing_rate(y=y).T, axis=0),
            np.mean(librosa.feature.chroma_stft(S=np.abs(librosa.stft(y)), sr=SR, tuning=0.0).T, axis=0),
            np.mean(librosa.feature.mfcc(y=y, sr=SR, n_mfcc=20).T, axis=0),
            np.mean(librosa.feature.rms(y=y).T, axis=0),
            np.mean(librosa.feature.melspectrogram(y=y, sr=SR).T, axis=0),
        ]
    )


def clip_means(y: np.ndarray, lengths=None, **kw) -> np.ndarray:
    with torch.no_grad():
        out = create_frontend({"name": "clip_means", **kw})(torch.from_numpy(np.atleast_2d(y)), lengths)
    return out.double().numpy()


@pytest.mark.parametrize("source", ["chirp", "real"])
def test_clip_means_match_librosa(source):
    y = chirp() if source == "chirp" else real_clip()
    ours, ref = clip_means(y)[0], notebook_features(y)
    assert ours.shape == ref.shape == (162,)
    np.testing.assert_allclose(ours[:1], ref[:1], atol=1e-7)  # zcr
    np.testing.assert_allclose(ours[1:13], ref[1:13], atol=1e-5)  # chroma in [0, 1]
    np.testing.assert_allclose(ours[13:33], ref[13:33], atol=1e-4 * np.ptp(ref[13:33]))  # mfcc
    np.testing.assert_allclose(ours[33:34], ref[33:34], rtol=1e-4)  # rms
    np.testing.assert_allclose(ours[34:], ref[34:], rtol=1e-3, atol=1e-6 * ref[34:].max())  # mel power


def test_clip_means_options():
    y = chirp()
    db = clip_means(y, mel_db=True)[0, 34:]
    ref = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=SR), top_db=80).mean(1)
    np.testing.assert_allclose(db, ref, atol=0.01)
    full = clip_means(y, stats=True)[0]
    assert full.shape == (168,)
    np.testing.assert_allclose(full[:162], clip_means(y)[0], rtol=1e-6)
    with torch.no_grad():
        stats = create_frontend("clip_stats")(torch.from_numpy(y)[None])[0].double().numpy()
    np.testing.assert_allclose(full[162:], stats, rtol=1e-6)


def test_clip_means_ignore_zero_padding():
    short = chirp(1.0)
    padded = np.zeros((2, int(1.5 * SR)), np.float32)
    padded[0, : short.size], padded[1] = short, chirp(1.5)
    out = clip_means(padded, torch.tensor([short.size, padded.shape[1]]), stats=True)
    np.testing.assert_allclose(out[0], clip_means(short, stats=True)[0], rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(out[1], clip_means(chirp(1.5), stats=True)[0], rtol=1e-5, atol=1e-8)
