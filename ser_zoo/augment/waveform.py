"""Batched waveform augmentations: every clip in the batch draws its own parameters, on the batch's device.

Each transform takes ``(wave (B, T), lengths (B,), apply (B,) bool)`` and returns ``(wave, lengths)``; rows
with ``apply`` False come back unchanged. Parameters are drawn with ``torch.rand(..., device=wave.device)`` so
they follow ``seed_everything`` and never cross between host and device. torchaudio's pitch shift, time
stretch and low-pass take one scalar per call; the per-clip versions here generalise the same algorithms
(phase vocoder, interpolating resampler, frequency-domain filter) to one parameter per row.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
import torchaudio.functional as AF
from torch import Tensor, nn

from ..errors import ConfigError


def uniform(lo: float, hi: float, n: int, device: torch.device) -> Tensor:
    """``n`` draws from U(lo, hi) on ``device``."""
    return lo + (hi - lo) * torch.rand(n, device=device)


def check_range(
    name: str, rng, lo_limit: float = -math.inf, hi_limit: float = math.inf, exclusive_lo: bool = False
) -> tuple[float, float]:
    """A [lo, hi] option, validated with one clear line naming the option."""
    try:
        lo, hi = (float(rng), float(rng)) if isinstance(rng, (int, float)) else (float(rng[0]), float(rng[1]))
    except (TypeError, ValueError, IndexError):
        raise ConfigError(f"augment {name}: expected [low, high], got {rng!r}") from None
    bad_lo = lo <= lo_limit if exclusive_lo else lo < lo_limit
    if lo > hi or bad_lo or hi > hi_limit:
        bound = f"{'>' if exclusive_lo else '>='} {lo_limit:g}" + (
            f" and <= {hi_limit:g}" if hi_limit < math.inf else ""
        )
        raise ConfigError(
            f"augment {name}: range [{lo:g}, {hi:g}] is impossible; use low <= high, both {bound}"
        )
    return lo, hi


def valid_mask(lengths: Tensor, width: int) -> Tensor:
    """(B, width) bool, True on each row's first ``lengths[b]`` samples."""
    return torch.arange(width, device=lengths.device)[None, :] < lengths[:, None]


class Gain(nn.Module):
    """Volume scaling by a uniform gain in dB per clip.

    Args:
        db (float or [float, float], optional): Gain range in dB; one number is a fixed gain.
            (Default: ``(-6.0, 6.0)``)

    Shape:
        - wave: (B, T), lengths: (B,) valid samples, apply: (B,) bool (rows to transform).
        - output: (wave (B, T), lengths (B,)); rows with ``apply`` False come back unchanged.

    Example:
        >>> wave, lengths = torch.randn(2, 16000), torch.tensor([16000, 9000])
        >>> out, out_lengths = Gain(db=(-6, 6))(wave, lengths, torch.tensor([True, False]))
        >>> out.shape, torch.equal(out[1], wave[1])
        (torch.Size([2, 16000]), True)
    """

    def __init__(self, db=(-6.0, 6.0)):
        super().__init__()
        self.db = check_range("gain.db", db)

    def forward(self, wave: Tensor, lengths: Tensor, apply: Tensor):
        g = 10 ** (uniform(*self.db, len(wave), wave.device) / 20)
        return torch.where(apply[:, None], wave * g[:, None], wave), lengths


class AddNoise(nn.Module):
    """White Gaussian noise at a uniform SNR (dB) per clip; padding stays silent.

    The SNR is measured over the clip's valid samples (``torchaudio.functional.add_noise``).

    Args:
        snr_db (float or [float, float], optional): Signal-to-noise range in dB. (Default: ``(10.0, 30.0)``)

    Shape:
        - wave: (B, T), lengths: (B,) valid samples, apply: (B,) bool (rows to transform).
        - output: (wave (B, T), lengths (B,)); rows with ``apply`` False come back unchanged.

    Example:
        >>> wave = torch.randn(2, 16000)
        >>> wave[1, 9000:] = 0  # row 1: a 9000-sample clip, zero-padded
        >>> out, _ = AddNoise((10, 30))(wave, torch.tensor([16000, 9000]), torch.tensor([True, True]))
        >>> bool(out[1, :9000].ne(wave[1, :9000]).any()), bool(out[1, 9000:].eq(0).all())
        (True, True)
    """

    def __init__(self, snr_db=(10.0, 30.0)):
        super().__init__()
        self.snr_db = check_range("noise.snr_db", snr_db)

    def forward(self, wave: Tensor, lengths: Tensor, apply: Tensor):
        noise = torch.randn_like(wave) * valid_mask(lengths, wave.shape[1])
        snr = uniform(*self.snr_db, len(wave), wave.device)
        noisy = AF.add_noise(wave, noise, snr, lengths)
        return torch.where(apply[:, None], noisy, wave), lengths


class TimeShift(nn.Module):
    """Shift each clip by up to ``max_seconds`` either way.

    Padding policy: ``roll`` wraps the valid part around itself (``np.roll``, the time shift of the CREMA-D
    CNN study); ``zero`` moves it and fills the vacated samples with silence. The valid length never changes.

    Args:
        max_seconds (float, optional): Largest shift, either way, in seconds. (Default: ``0.3``)
        mode (str, optional): ``"roll"`` or ``"zero"`` (see above). (Default: ``"roll"``)
        sample_rate (int, optional): Sample rate of the waveform in Hz. (Default: ``16000``)

    Shape:
        - wave: (B, T), lengths: (B,) valid samples, apply: (B,) bool (rows to transform).
        - output: (wave (B, T), lengths (B,)); rows with ``apply`` False come back unchanged.

    Example:
        >>> out, lengths = TimeShift(0.1, "zero")(torch.randn(2, 16000), torch.tensor([16000, 9000]),
        ...                                       torch.tensor([True, True]))
        >>> out.shape, lengths.tolist()
        (torch.Size([2, 16000]), [16000, 9000])
    """

    def __init__(self, max_seconds: float = 0.3, mode: str = "roll", sample_rate: int = 16000):
        super().__init__()
        if max_seconds < 0:
            raise ConfigError(f"augment shift.max_seconds={max_seconds}; use a value >= 0")
        if mode not in ("roll", "zero"):
            raise ConfigError(f"augment shift.mode={mode!r}; use 'roll' or 'zero'")
        self.max_samples, self.mode = int(max_seconds * sample_rate), mode

    def forward(self, wave: Tensor, lengths: Tensor, apply: Tensor):
        B, T = wave.shape
        shift = torch.randint(-self.max_samples, self.max_samples + 1, (B,), device=wave.device)
        rows = apply.nonzero().squeeze(1)
        if not len(rows):
            return wave, lengths
        shift, valid = shift[rows], lengths[rows]
        src = torch.arange(T, device=wave.device)[None, :] - shift[:, None]
        inside = valid_mask(valid, T)
        if self.mode == "roll":
            src = torch.remainder(src, valid.clamp(min=1)[:, None])
        else:
            inside = inside & (src >= 0) & (src < valid[:, None])
        out = torch.gather(wave[rows], 1, src.clamp(0, T - 1)) * inside
        return wave.index_copy(0, rows, out), lengths


def _batched_phase_vocoder(spec: Tensor, rate: Tensor, phase_advance: Tensor) -> Tensor:
    """torchaudio.functional.phase_vocoder with one rate per row: (B, F, N) complex -> (B, F, K)."""
    B, Fq, N = spec.shape
    K = int(math.ceil(N / float(rate.min()))) if B else 0
    steps = torch.arange(K, device=spec.device, dtype=rate.dtype)[None, :] * rate[:, None]  # (B, K)
    spec = F.pad(spec, (0, 2))
    magnitude, angle = spec.abs(), spec.angle()  # once per frame, then read at the new steps
    i0 = steps.floor().long().clamp(max=N + 1)
    alpha = (steps - steps.floor())[:, None, :]
    at0 = i0[:, None, :].expand(B, Fq, K)
    at1 = (i0 + 1).clamp(max=N + 1)[:, None, :].expand(B, Fq, K)
    a0, a1 = torch.gather(angle, 2, at0), torch.gather(angle, 2, at1)
    phase = a1 - a0 - phase_advance
    phase = phase - 2 * math.pi * torch.round(phase / (2 * math.pi)) + phase_advance
    phase = torch.cat([a0[..., :1], phase[..., :-1]], -1).cumsum(-1)
    mag = alpha * torch.gather(magnitude, 2, at1) + (1 - alpha) * torch.gather(magnitude, 2, at0)
    return torch.polar(mag * (steps < N)[:, None, :], phase)


def _interp_read(x: Tensor, speed: Tensor, width: int) -> Tensor:
    """out[b, j] = x[b, j * speed[b]] by linear interpolation (a per-row resampler; no anti-alias filter)."""
    pos = torch.arange(width, device=x.device, dtype=x.dtype)[None, :] * speed[:, None]
    i0 = pos.floor().long().clamp(0, x.shape[1] - 1)
    i1 = (i0 + 1).clamp(max=x.shape[1] - 1)
    w = pos - pos.floor()
    out = (1 - w) * torch.gather(x, 1, i0) + w * torch.gather(x, 1, i1)
    return out * (pos <= x.shape[1] - 1)


class _Vocoder(nn.Module):
    """STFT phase vocoder for stretch and pitch, which run it on the drawn rows only (it costs most)."""

    n_fft, hop = 512, 128

    def __init__(self):
        super().__init__()
        self.register_buffer("window", torch.hann_window(self.n_fft), persistent=False)
        self.register_buffer(
            "phase_advance",
            torch.linspace(0, math.pi * self.hop, self.n_fft // 2 + 1)[..., None],
            persistent=False,
        )

    def stretch(self, wave: Tensor, rate: Tensor) -> Tensor:
        """Each row played ``rate`` times faster, pitch kept: length about T / rate."""
        spec = torch.stft(wave, self.n_fft, self.hop, window=self.window, return_complex=True)
        out = _batched_phase_vocoder(spec, rate.to(spec.real.dtype), self.phase_advance)
        return torch.istft(out, self.n_fft, self.hop, window=self.window)


class TimeStretch(_Vocoder):
    """Phase-vocoder time stretch by a uniform rate per clip (> 1 faster), pitch kept, as
    ``librosa.effects.time_stretch``.

    Output length: the stretched clip is cut or zero-padded to the batch width T from its start, and
    ``lengths`` becomes min(round(length / rate), T).

    Args:
        rate (float or [float, float], optional): Speed-up range, every value > 0. (Default: ``(0.9, 1.1)``)

    Shape:
        - wave: (B, T), lengths: (B,) valid samples, apply: (B,) bool (rows to transform).
        - output: (wave (B, T), lengths (B,)), the stretched rows' lengths changed.

    Example:
        >>> out, lengths = TimeStretch(rate=1.25)(torch.randn(2, 16000), torch.tensor([16000, 8000]),
        ...                                       torch.tensor([True, False]))
        >>> out.shape, lengths.tolist()
        (torch.Size([2, 16000]), [12800, 8000])
    """

    def __init__(self, rate=(0.9, 1.1)):
        super().__init__()
        self.rate = check_range("stretch.rate", rate, 0.0, exclusive_lo=True)

    def forward(self, wave: Tensor, lengths: Tensor, apply: Tensor):
        B, T = wave.shape
        rate = torch.where(apply, uniform(*self.rate, B, wave.device), torch.ones(B, device=wave.device))
        new_len = torch.round(lengths / rate).long().clamp(max=T)
        rows = apply.nonzero().squeeze(1)
        if not len(rows):
            return wave, lengths
        out = self.stretch(wave[rows] * valid_mask(lengths[rows], T), rate[rows])
        out = F.pad(out, (0, max(0, T - out.shape[1])))[:, :T] * valid_mask(new_len[rows], T)
        return wave.index_copy(0, rows, out), new_len


class PitchShift(_Vocoder):
    """Shift pitch by uniform semitones per clip, duration kept (torchaudio's way: stretch, then resample).

    Args:
        semitones (float or [float, float], optional): Shift range, within [-24, 24].
            (Default: ``(-2.0, 2.0)``)

    Shape:
        - wave: (B, T), lengths: (B,) valid samples, apply: (B,) bool (rows to transform).
        - output: (wave (B, T), lengths (B,)); rows with ``apply`` False come back unchanged.

    Example:
        >>> out, lengths = PitchShift(semitones=(-2, 2))(torch.randn(2, 16000), torch.tensor([16000, 9000]),
        ...                                              torch.tensor([True, True]))
        >>> out.shape, lengths.tolist()
        (torch.Size([2, 16000]), [16000, 9000])
    """

    def __init__(self, semitones=(-2.0, 2.0)):
        super().__init__()
        self.semitones = check_range("pitch.semitones", semitones, -24.0, 24.0)

    def forward(self, wave: Tensor, lengths: Tensor, apply: Tensor):
        B, T = wave.shape
        steps = torch.where(
            apply, uniform(*self.semitones, B, wave.device), torch.zeros(B, device=wave.device)
        )
        rows = apply.nonzero().squeeze(1)
        if not len(rows):
            return wave, lengths
        rate, inside = 2.0 ** (-steps[rows] / 12), valid_mask(lengths[rows], T)
        stretched = self.stretch(wave[rows] * inside, rate)
        return wave.index_copy(0, rows, _interp_read(stretched, 1.0 / rate, T) * inside), lengths


class LowPass(nn.Module):
    """Low-pass at a uniform cut-off (Hz) per clip: FFT-domain filter, flat below the cut-off, raised-cosine
    roll-off to zero at 1.1 x cut-off (a per-clip version of SER-FusionNet's scipy low-pass).

    Args:
        cutoff_hz (float or [float, float], optional): Cut-off range in Hz, above 0 and at most
            ``sample_rate / 2.2``. (Default: ``(2000.0, 6000.0)``)
        sample_rate (int, optional): Sample rate of the waveform in Hz. (Default: ``16000``)

    Shape:
        - wave: (B, T), lengths: (B,) valid samples, apply: (B,) bool (rows to transform).
        - output: (wave (B, T), lengths (B,)); rows with ``apply`` False come back unchanged.

    Example:
        >>> out, lengths = LowPass((2000, 4000))(torch.randn(2, 16000), torch.tensor([16000, 9000]),
        ...                                      torch.tensor([True, True]))
        >>> out.shape
        torch.Size([2, 16000])
    """

    def __init__(self, cutoff_hz=(2000.0, 6000.0), sample_rate: int = 16000):
        super().__init__()
        self.cutoff = check_range(
            "lowpass.cutoff_hz", cutoff_hz, 0.0, sample_rate / 2 / 1.1, exclusive_lo=True
        )
        self.sample_rate = sample_rate

    def forward(self, wave: Tensor, lengths: Tensor, apply: Tensor):
        B, T = wave.shape
        fc = uniform(*self.cutoff, B, wave.device)[:, None]
        freqs = torch.fft.rfftfreq(T, 1 / self.sample_rate, device=wave.device)[None, :]
        t = ((freqs - fc) / (0.1 * fc)).clamp(0, 1)
        gain = 0.5 * (1 + torch.cos(math.pi * t))
        out = torch.fft.irfft(torch.fft.rfft(wave) * gain, n=T) * valid_mask(lengths, T)
        return torch.where(apply[:, None], out, wave), lengths
