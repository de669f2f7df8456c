"""Channel augmentations (telephone line, room reverb): what they do to the spectrum and the decay, per clip,
padding kept, from a recipe's ``model.augment`` block, with one-line errors for impossible settings."""

import doctest

import pytest
import torch

from ser_zoo.augment import Augmentation, channel
from ser_zoo.augment.channel import Reverb, Telephone
from ser_zoo.errors import ConfigError

SR = 16000


def full(n: int, value: bool = True) -> torch.Tensor:
    return torch.full((n,), value)


def padded_noise(lengths: list[int], width: int = SR, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = 0.1 * torch.randn(len(lengths), width, generator=g)
    return x * (torch.arange(width)[None, :] < torch.tensor(lengths)[:, None])


def energy_share(x: torch.Tensor, lo_hz: float, hi_hz: float = SR / 2) -> float:
    power = torch.fft.rfft(x).abs().square()
    freqs = torch.fft.rfftfreq(x.shape[-1], 1 / SR)
    return float(power[:, (freqs >= lo_hz) & (freqs <= hi_hz)].sum() / power.sum())


@pytest.mark.parametrize("transform", [Telephone(mu_law=0.5), Reverb()])
def test_shape_padding_and_lengths_kept_and_unselected_rows_untouched(transform):
    torch.manual_seed(0)
    x, lengths = padded_noise([SR, 12000, 7000]), torch.tensor([SR, 12000, 7000])
    out, out_lengths = transform(x, lengths, torch.tensor([True, True, False]))
    assert out.shape == x.shape and out.dtype == x.dtype and torch.equal(out_lengths, lengths)
    assert out[1, 12000:].abs().max() == 0  # padding stays silent
    assert not torch.allclose(out[:2], x[:2]) and torch.equal(out[2], x[2])
    none, _ = transform(x, lengths, full(3, False))
    assert torch.equal(none, x)


@pytest.mark.parametrize("mu_law", [0.0, 1.0])
def test_telephone_leaves_almost_no_energy_outside_the_phone_band(mu_law):
    torch.manual_seed(0)
    x = padded_noise([SR, SR])
    assert energy_share(x, 4000) > 0.45  # white noise: half its energy above 4 kHz
    out, _ = Telephone(mu_law=mu_law)(x, torch.tensor([SR, SR]), full(2))
    assert energy_share(out, 4000) < 1e-4
    assert energy_share(out, 0, 150) < 1e-3  # the low edge too
    assert energy_share(out, 300, 3400) > 0.9  # the rest: the raised-cosine edges just outside


def test_telephone_mu_law_quantises_and_is_drawn_per_clip():
    torch.manual_seed(0)
    x = padded_noise([SR] * 8)
    plain, _ = Telephone(mu_law=0.0)(x, torch.full((8,), SR), full(8))
    torch.manual_seed(0)
    coded, _ = Telephone(mu_law=0.5)(x, torch.full((8,), SR), full(8))
    changed = (coded - plain).abs().amax(1) > 1e-4
    assert 0 < int(changed.sum()) < 8


def test_reverb_adds_a_decaying_tail_and_keeps_the_loudness():
    torch.manual_seed(0)
    burst = torch.zeros(2, SR)
    burst[:, :800] = torch.randn(2, 800)  # 50 ms of noise, then silence inside the clip
    out, _ = Reverb(rt60=0.5, wet=1.0)(burst, torch.full((2,), SR), full(2))

    def energy(a, b):
        return out[:, a:b].square().mean(1)

    early, later, last = energy(800, 2400), energy(4800, 6400), energy(12000, SR)
    assert (early > 0).all() and (early > 100 * later).all() and (later > last).all()
    rms_in, rms_out = burst.square().mean(1).sqrt(), out.square().mean(1).sqrt()
    torch.testing.assert_close(rms_out, rms_in, rtol=1e-3, atol=0)


def test_reverb_longer_rt60_decays_slower():
    torch.manual_seed(0)
    burst = torch.zeros(1, SR)
    burst[:, :800] = torch.randn(1, 800)
    tails = []
    for rt60 in (0.2, 0.8):
        torch.manual_seed(1)
        out, _ = Reverb(rt60=rt60, wet=1.0, reflections=0)(burst, torch.tensor([SR]), full(1))
        tails.append(float(out[0, 4800:8000].square().sum() / out.square().sum()))
    assert tails[1] > 10 * tails[0]


def test_reproducible_under_a_seed():
    x, lengths = padded_noise([SR, 9000]), torch.tensor([SR, 9000])
    for t in (Telephone(), Reverb()):
        torch.manual_seed(3)
        a, _ = t(x, lengths, full(2))
        torch.manual_seed(3)
        b, _ = t(x, lengths, full(2))
        assert torch.equal(a, b)


def test_recipe_block_builds_robustness_augmentation():
    spec = {
        "reverb": {"p": 0.3, "rt60": [0.2, 0.8], "wet": [0.3, 1.0]},
        "gain": {"p": 0.5, "db": [-6, 6]},
        "lowpass": {"p": 0.2, "cutoff_hz": [3000, 4000]},  # band-limiting
        "noise": {"p": 0.5, "snr_db": [0, 10]},  # low SNR
        "telephone": {"p": 0.2, "mu_law": 0.5},
    }
    aug = Augmentation(spec).train()
    assert list(aug.waveform) == ["reverb", "gain", "lowpass", "noise", "telephone"]
    assert isinstance(aug.waveform["telephone"], Telephone) and aug.p["reverb"] == 0.3
    x, lengths = padded_noise([SR, 12000, 8000, SR]), torch.tensor([SR, 12000, 8000, SR])
    torch.manual_seed(0)
    out, out_lengths = aug.waveforms(x, lengths)
    assert out.shape == x.shape and torch.equal(out_lengths, lengths) and out[2, 8000:].abs().max() == 0
    assert torch.equal(aug.eval().waveforms(x, lengths)[0], x)
    low, _ = Augmentation({"noise": {"p": 1.0, "snr_db": [0, 0]}}).train().waveforms(x[:1], lengths[:1])
    noise_to_signal = float((low - x[:1]).square().mean() / x[:1].square().mean())
    assert abs(noise_to_signal - 1.0) < 0.05  # 0 dB: as much noise as signal


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"reverb": {"rt60": [0.8, 0.2]}}, "reverb.rt60: range \\[0.8, 0.2\\] is impossible"),
        ({"reverb": {"rt60": [0, 0.5]}}, "reverb.rt60: range \\[0, 0.5\\] is impossible"),
        ({"reverb": {"wet": [0.5, 1.5]}}, "reverb.wet: range \\[0.5, 1.5\\] is impossible"),
        ({"reverb": {"reflections": -1}}, "reverb.reflections=-1; use a whole number >= 0"),
        ({"reverb": {"room": "big"}}, "augment reverb has no option \\['room'\\]"),
        ({"telephone": {"mu_law": 2}}, "telephone.mu_law=2; use a probability in \\[0, 1\\]"),
        ({"telephone": {"high_hz": 5000}}, "telephone.high_hz: range \\[5000, 5000\\] is impossible"),
        ({"telephone": {"low_hz": 3500}}, "low_hz \\[3500.0, 3500.0\\] must stay below high_hz"),
        ({"telephone": {"p": -0.1}}, "telephone.p=-0.1; use a probability"),
        ({"telephone": {"low_hz": "x"}}, "telephone.low_hz: expected \\[low, high\\], got 'x'"),
    ],
)
def test_impossible_settings_fail_with_one_clear_line(spec, message):
    with pytest.raises(ConfigError, match=message) as e:
        Augmentation(spec)
    assert "\n" not in str(e.value)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_runs_on_the_batch_device():
    aug = Augmentation({"reverb": {}, "telephone": {"mu_law": 1.0}}).cuda().train()
    x = padded_noise([SR, 9000]).cuda()
    out, lengths = aug.waveforms(x, torch.tensor([SR, 9000], device="cuda"))
    assert out.is_cuda and lengths.is_cuda and out[1, 9000:].abs().max() == 0


def test_docstring_examples_run():
    result = doctest.testmod(channel, extraglobs={"torch": torch}, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
