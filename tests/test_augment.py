"""Batched augmentation: each transform does what it says, per clip, on the batch's device; eval: identity."""

import doctest
import math

import pytest
import torch

from ser_zoo.augment import Augmentation, pipeline, spectrogram, waveform
from ser_zoo.augment.waveform import AddNoise, Gain, LowPass, PitchShift, TimeShift, TimeStretch
from ser_zoo.errors import ConfigError

SR = 16000


def tone(freq: float, seconds: float = 1.0, batch: int = 1) -> torch.Tensor:
    t = torch.arange(int(SR * seconds)) / SR
    return (0.5 * torch.sin(2 * math.pi * freq * t)).repeat(batch, 1)


def dominant_hz(x: torch.Tensor) -> torch.Tensor:
    spec = torch.fft.rfft(x * torch.hann_window(x.shape[-1]), n=8 * x.shape[-1]).abs()
    return spec.argmax(-1) * SR / (8 * x.shape[-1])


def full(n: int, value: bool = True) -> torch.Tensor:
    return torch.full((n,), value)


def test_pitch_shift_moves_a_tone_by_the_asked_semitones():
    for semis in (-3.0, 2.0, 4.0):
        out, lengths = PitchShift(semitones=(semis, semis))(tone(440.0), torch.tensor([SR]), full(1))
        assert out.shape == (1, SR) and lengths.tolist() == [SR]
        expected = 440.0 * 2 ** (semis / 12)
        got = dominant_hz(out[:, 2000:-2000]).item()
        assert abs(got - expected) / expected < 0.01, (semis, got, expected)


def test_pitch_shift_draws_one_value_per_clip():
    torch.manual_seed(0)
    out, _ = PitchShift(semitones=(-4, 4))(tone(440.0, batch=6), torch.full((6,), SR), full(6))
    assert len({round(f, 0) for f in dominant_hz(out[:, 2000:-2000]).tolist()}) >= 5


def test_time_stretch_changes_duration_not_pitch_and_reports_lengths():
    x = tone(300.0, 1.0, 2)
    x[:, 12000:] = 0  # 0.75 s of tone inside a 1 s batch row
    lengths = torch.tensor([12000, 12000])
    out, new = TimeStretch(rate=(1.5, 1.5))(x, lengths, torch.tensor([True, False]))
    assert new.tolist() == [8000, 12000]
    assert out[0, 8500:].abs().max() < 1e-3 and out[0, :7500].abs().mean() > 0.1  # shorter by 1 / 1.5
    assert abs(dominant_hz(out[:1, 500:7500]).item() - 300.0) < 5.0  # pitch kept
    torch.testing.assert_close(out[1], x[1])  # not selected: untouched
    slow, slow_len = TimeStretch(rate=(0.5, 0.5))(x, lengths, full(2))
    assert slow_len.tolist() == [SR, SR]  # 1.5 s of stretched audio cut to the 1 s batch width


def test_low_pass_removes_energy_above_the_cutoff():
    torch.manual_seed(0)
    noise = torch.randn(4, SR)
    out, _ = LowPass(cutoff_hz=(2000, 2000))(noise, torch.full((4,), SR), full(4))
    spec = torch.fft.rfft(out).abs() ** 2
    freqs = torch.fft.rfftfreq(SR, 1 / SR)
    assert spec[:, freqs > 2200].sum() / spec.sum() < 1e-6
    orig = torch.fft.rfft(noise).abs() ** 2
    kept = spec[:, freqs < 1900].sum() / orig[:, freqs < 1900].sum()
    assert 0.99 < kept < 1.01


def test_noise_reaches_the_asked_snr_on_the_valid_part():
    torch.manual_seed(0)
    x = tone(220.0, 1.0, 8)
    lengths = torch.full((8,), 12000)
    x[:, 12000:] = 0
    out, _ = AddNoise(snr_db=(10, 10))(x, lengths, full(8))
    noise = out - x
    snr = 10 * torch.log10(x[:, :12000].pow(2).sum(1) / noise[:, :12000].pow(2).sum(1))
    assert (snr - 10).abs().max() < 0.5
    assert noise[:, 12000:].abs().max() == 0  # padding stays silent


def test_gain_and_shift():
    x = tone(220.0, 0.5, 3)
    out, _ = Gain(db=(6, 6))(x, torch.full((3,), 8000), full(3))
    torch.testing.assert_close(out, x * 10 ** (6 / 20))
    ramp = torch.arange(10, dtype=torch.float32).repeat(2, 1)
    ramp[1, 6:] = 0
    lengths = torch.tensor([10, 6])
    torch.manual_seed(3)
    rolled, _ = TimeShift(max_seconds=3 / SR, mode="roll", sample_rate=SR)(ramp, lengths, full(2))
    assert sorted(rolled[0].tolist()) == list(range(10)) and sorted(rolled[1, :6].tolist()) == list(range(6))
    assert rolled[1, 6:].abs().sum() == 0  # rolled within the valid part; padding kept
    zeroed, _ = TimeShift(max_seconds=3 / SR, mode="zero", sample_rate=SR)(ramp, lengths, full(2))
    for row, n in zip(zeroed, (10, 6)):
        kept = row[:n][row[:n] != 0]
        assert (
            torch.all(kept.diff() == 1) and row[n:].abs().sum() == 0
        )  # moved in order, silence fills the gap


def test_spec_masks_are_per_example():
    torch.manual_seed(0)
    feats = torch.randn(8, 1, 40, 100) + 5
    fmask = Augmentation({"freq_mask": {"p": 1.0, "max_bins": 10, "count": 1}}).train()
    out = fmask.features(feats)
    rows = (out != feats).all(-1).squeeze(1)  # (B, F): bins masked over every frame
    assert rows.any(1).sum() >= 6 and len({tuple(r.nonzero().flatten().tolist()) for r in rows}) >= 5
    mean = feats.mean(dim=(-2, -1), keepdim=True).expand_as(feats)
    hit = out != feats
    torch.testing.assert_close(out[hit], mean[hit])  # filled with each example's own mean
    tmask = Augmentation({"time_mask": {"p": 1.0, "max_frames": 20, "count": 1}}).train()
    cols = (tmask.features(feats) != feats).all(-2).squeeze(1)  # (B, T)
    assert len({tuple(c.nonzero().flatten().tolist()) for c in cols}) >= 5
    assert torch.equal(fmask.eval().features(feats), feats)


def test_freq_mixstyle_moves_band_statistics_between_the_drawn_examples_only():
    torch.manual_seed(0)
    # Two recording chains: clip 0's bands sit near 0 dB with spread 1, clip 1's near 10 dB with spread 3.
    feats = torch.cat([torch.randn(1, 1, 32, 200), 10 + 3 * torch.randn(1, 1, 32, 200)])
    feats = torch.cat([feats, feats.clone()])  # rows 2-3 repeat 0-1 and are not drawn
    style = Augmentation({"freq_mixstyle": {"p": 1.0, "alpha": 0.3}}).train().feature["freq_mixstyle"]
    mu = feats.mean(dim=(1, 3))
    moved = 0
    for _ in range(20):
        out = style(feats, torch.tensor([True, True, False, False]))
        assert torch.equal(out[2:], feats[2:])
        out_mu = out.mean(dim=(1, 3))
        assert torch.all(out_mu[:2] > mu.min() - 0.5) and torch.all(out_mu[:2] < mu.max() + 0.5)
        # Within a band the clip keeps its own shape: restyling is affine, so correlation with the input is 1.
        corr = torch.corrcoef(torch.stack([out[0, 0, 5], feats[0, 0, 5]]))[0, 1]
        assert corr > 0.999
        moved += int((out_mu[0] - mu[0]).abs().mean() > 1.0)
    assert moved >= 3  # clip 0 took a large share of clip 1's colouring in some draws
    with pytest.raises(ConfigError, match="freq_mixstyle.alpha"):
        Augmentation({"freq_mixstyle": {"alpha": 0.0}})


def test_pipeline_is_identity_in_eval_and_reproducible_under_a_seed():
    spec = {
        "shift": {"p": 0.5},
        "stretch": {"p": 0.5},
        "pitch": {"p": 0.5},
        "gain": {"p": 0.5},
        "lowpass": {"p": 0.5, "cutoff_hz": [2000, 6000]},
        "noise": {"p": 0.5},
    }
    aug = Augmentation(spec)
    x, lengths = tone(330.0, 1.0, 6), torch.full((6,), SR)
    aug.eval()
    out, out_len = aug.waveforms(x, lengths)
    assert out is x and out_len is lengths
    aug.train()
    torch.manual_seed(7)
    a, la = aug.waveforms(x, lengths)
    torch.manual_seed(7)
    b, lb = aug.waveforms(x, lengths)
    torch.testing.assert_close(a, b)
    assert torch.equal(la, lb) and not torch.equal(a, x) and a.dtype == torch.float32 and a.shape == x.shape


def test_mixup_mixes_signals_and_labels_in_the_loss(data_root, tmp_path):
    from conftest import smoke_fit

    module, metrics = smoke_fit(
        data_root,
        tmp_path,
        "mel_cnn",
        model_kwargs={"channels": [4, 8], "hidden": 16},
        clip_seconds=1.0,
        augment={"mixup": {"p": 1.0, "alpha": 0.4}, "noise": {"p": 0.5}, "time_mask": {"p": 0.5}},
    )
    assert math.isfinite(metrics["test/loss"])
    aug = module.augment.train()
    x = torch.randn(4, 100)
    mixed, lengths, (partner, lam) = aug.mixup(x, torch.full((4,), 100))
    torch.testing.assert_close(mixed, lam[:, None] * x + (1 - lam[:, None]) * x[partner])
    assert ((lam >= 0.5) & (lam <= 1)).all()


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"stretch": {"rate": [-0.5, 1.1]}}, "stretch.rate: range \\[-0.5, 1.1\\] is impossible"),
        ({"lowpass": {"cutoff_hz": [2000, 9000]}}, "lowpass.cutoff_hz: range \\[2000, 9000\\] is impossible"),
        ({"noise": {"p": 1.5}}, "noise.p=1.5; use a probability"),
        ({"gain": {"db": [6, -6]}}, "gain.db: range \\[6, -6\\] is impossible"),
        ({"pitch": {"semis": [1, 2]}}, "augment pitch has no option \\['semis'\\]"),
        ({"echo": {}}, "unknown augmentation \\['echo'\\]"),
    ],
)
def test_impossible_settings_fail_with_one_clear_line(spec, message):
    with pytest.raises(ConfigError, match=message):
        Augmentation(spec)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_runs_on_the_batch_device():
    aug = (
        Augmentation({"pitch": {}, "stretch": {}, "lowpass": {}, "noise": {}, "shift": {}, "gain": {}})
        .cuda()
        .train()
    )
    out, lengths = aug.waveforms(tone(300.0, 1.0, 4).cuda(), torch.full((4,), SR, device="cuda"))
    assert out.is_cuda and lengths.is_cuda


@pytest.mark.parametrize("module", [pipeline, spectrogram, waveform])
def test_docstring_examples_run(module):
    """The shapes the transforms' docstrings promise are the shapes they give."""
    result = doctest.testmod(module, extraglobs={"torch": torch}, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


@pytest.mark.parametrize("name", ["shift", "stretch", "pitch", "reverb", "telephone"])
def test_costly_transforms_touch_only_the_drawn_rows(name):
    """Computed on the drawn rows alone: a drawn row ignores its batch-mates; the others pass as is."""
    transform = pipeline.WAVEFORM[name](**({"sample_rate": SR} if name in pipeline.NEEDS_RATE else {}))
    x = 0.1 * torch.randn(3, SR)
    lengths, apply = torch.tensor([SR, SR // 2, SR]), torch.tensor([True, False, True])
    outputs = []
    for other in (x[1], torch.zeros(SR)):
        torch.manual_seed(3)
        outputs.append(transform(torch.stack([x[0], other, x[2]]), lengths, apply))
    (a, a_len), (b, b_len) = outputs
    assert torch.equal(a[[0, 2]], b[[0, 2]]) and torch.equal(a_len, b_len)
    assert torch.equal(a[1], x[1]) and not torch.allclose(a[0], x[0])
    none = torch.zeros(3, dtype=torch.bool)
    assert torch.equal(transform(x, lengths, none)[0], x)
