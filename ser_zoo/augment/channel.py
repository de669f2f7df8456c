"""Channel augmentations for robustness: a telephone line and a reverberant room, drawn per clip, batched.

Same contract as ``waveform.py``: ``forward(wave (B, T), lengths (B,), apply (B,) bool) -> (wave, lengths)``,
rows with ``apply`` False unchanged, padding silent, every draw from ``torch.rand``/``randn`` on the batch's
device (so ``seed_everything`` replays it). Resampling, companding and convolution are torchaudio's.
"""

from __future__ import annotations

import math

import torch
import torchaudio.functional as AF
from torch import Tensor, nn

from ..errors import ConfigError
from .waveform import check_range, uniform, valid_mask

PHONE_RATE = 8000
#: librosa's ``kaiser_best`` resampler: images above 4 kHz at about -50 dB (the default sinc: -20 dB)
KAISER_BEST = dict(
    lowpass_filter_width=64,
    rolloff=0.9475937167399596,
    resampling_method="sinc_interp_kaiser",
    beta=14.769656459379492,
)


def _probability(name: str, p) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ConfigError(f"augment {name}={p!r}; use a probability in [0, 1]")
    return float(p)


def _valid_rms(wave: Tensor, lengths: Tensor) -> Tensor:
    """(B, 1) RMS over each row's valid samples."""
    power = (wave.square() * valid_mask(lengths, wave.shape[1])).sum(1, keepdim=True)
    return (power / lengths.clamp(min=1)[:, None]).sqrt()


class Telephone(nn.Module):
    """A narrow-band telephone channel: down to 8 kHz, a band-pass, optional G.711 mu-law, back up.

    The band-pass is a frequency-domain mask at 8 kHz, flat inside [low_hz, high_hz], with raised-cosine edges
    down to zero at low_hz / 2 and 1.1 x high_hz (one pair of edges per clip); mu-law companding (8 bits) runs
    at 8 kHz as in G.711, so its quantisation noise stays inside the band. Resampling is
    ``torchaudio.functional.resample`` both ways (Kaiser window).

    Args:
        low_hz (float or [float, float], optional): Lower band edge range in Hz, >= 0. (Default: ``300.0``)
        high_hz (float or [float, float], optional): Upper band edge range in Hz, at most 4000 (and the
            input's Nyquist frequency), above every ``low_hz``. (Default: ``3400.0``)
        mu_law (float, optional): Probability that a transformed clip is also mu-law companded.
            (Default: ``0.5``)
        sample_rate (int, optional): Sample rate of the waveform in Hz. (Default: ``16000``)

    Shape:
        - wave: (B, T), lengths: (B,) valid samples, apply: (B,) bool (rows to transform).
        - output: (wave (B, T), lengths (B,)); rows with ``apply`` False come back unchanged.

    Example:
        >>> out, lengths = Telephone(mu_law=0.5)(torch.randn(2, 16000), torch.tensor([16000, 9000]),
        ...                                      torch.tensor([True, True]))
        >>> out.shape, lengths.tolist()
        (torch.Size([2, 16000]), [16000, 9000])
    """

    def __init__(self, low_hz=300.0, high_hz=3400.0, mu_law: float = 0.5, sample_rate: int = 16000):
        super().__init__()
        nyquist = min(PHONE_RATE, sample_rate) / 2
        self.low = check_range("telephone.low_hz", low_hz, 0.0, nyquist)
        self.high = check_range("telephone.high_hz", high_hz, 0.0, nyquist, exclusive_lo=True)
        if self.low[1] >= self.high[0]:
            raise ConfigError(
                f"augment telephone: low_hz {list(self.low)} must stay below high_hz {list(self.high)}"
            )
        self.mu_law = _probability("telephone.mu_law", mu_law)
        self.sample_rate = sample_rate
        self.rate = min(PHONE_RATE, sample_rate)

    def forward(self, wave: Tensor, lengths: Tensor, apply: Tensor):
        B, T = wave.shape
        low = uniform(*self.low, B, wave.device)[:, None]
        high = uniform(*self.high, B, wave.device)[:, None]
        companded = torch.rand(B, device=wave.device) < self.mu_law
        rows = apply.nonzero().squeeze(1)  # the resamplers cost most: drawn rows only
        if not len(rows):
            return wave, lengths
        low, high, companded, inside = low[rows], high[rows], companded[rows], valid_mask(lengths[rows], T)
        narrow = AF.resample(wave[rows] * inside, self.sample_rate, self.rate, **KAISER_BEST)
        n = narrow.shape[1] + 256  # room for the filter's ringing, so the FFT mask does not wrap around
        freqs = torch.fft.rfftfreq(n, 1 / self.rate, device=wave.device)[None, :]
        rise = ((freqs - low / 2) / (low / 2).clamp(min=1.0)).clamp(0, 1)  # raised-cosine edges: low/2 to low
        fall = ((1.1 * high - freqs) / (0.1 * high)).clamp(0, 1)  # and high to 1.1 x high
        gain = 0.25 * (1 - torch.cos(math.pi * rise)) * (1 - torch.cos(math.pi * fall))
        narrow = torch.fft.irfft(torch.fft.rfft(narrow, n=n) * gain, n=n)[:, : narrow.shape[1]]
        coded = AF.mu_law_decoding(AF.mu_law_encoding(narrow.clamp(-1, 1), 256), 256)
        narrow = torch.where(companded[:, None], coded, narrow)
        out = AF.resample(narrow, self.rate, self.sample_rate, **KAISER_BEST)
        out = torch.nn.functional.pad(out, (0, max(0, T - out.shape[1])))[:, :T] * inside
        return wave.index_copy(0, rows, out), lengths


class Reverb(nn.Module):
    """Room reverberation: each clip convolved with its own synthetic room impulse response, loudness kept.

    The impulse response is Gaussian noise under an exponential envelope that falls 60 dB in RT60 seconds,
    plus ``reflections`` sparse early reflections (random signs, within the first 50 ms); it is normalised to
    unit energy. The output mixes ``1 - wet`` of the dry clip (the direct path) with ``wet`` of the
    reverberant one, keeps the clip's length (the tail past its end is cut; padding stays silent) and is
    rescaled to the dry clip's RMS. Convolution is ``torchaudio.functional.fftconvolve``.

    Args:
        rt60 (float or [float, float], optional): Reverberation time range in seconds, each in (0, 3].
            (Default: ``(0.2, 0.8)``)
        wet (float or [float, float], optional): Share of the reverberant signal, in [0, 1]; 1 leaves no
            direct path. (Default: ``(0.3, 1.0)``)
        reflections (int, optional): Early reflections per impulse response (0: none). (Default: ``6``)
        sample_rate (int, optional): Sample rate of the waveform in Hz. (Default: ``16000``)

    Shape:
        - wave: (B, T), lengths: (B,) valid samples, apply: (B,) bool (rows to transform).
        - output: (wave (B, T), lengths (B,)); rows with ``apply`` False come back unchanged.

    Example:
        >>> out, lengths = Reverb(rt60=(0.2, 0.8))(torch.randn(2, 16000), torch.tensor([16000, 9000]),
        ...                                        torch.tensor([True, False]))
        >>> out.shape, lengths.tolist()
        (torch.Size([2, 16000]), [16000, 9000])
    """

    def __init__(self, rt60=(0.2, 0.8), wet=(0.3, 1.0), reflections: int = 6, sample_rate: int = 16000):
        super().__init__()
        self.rt60 = check_range("reverb.rt60", rt60, 0.0, 3.0, exclusive_lo=True)
        self.wet = check_range("reverb.wet", wet, 0.0, 1.0)
        if isinstance(reflections, bool) or not isinstance(reflections, int) or reflections < 0:
            raise ConfigError(f"augment reverb.reflections={reflections!r}; use a whole number >= 0")
        self.reflections, self.sample_rate = reflections, sample_rate

    def impulse_responses(self, n: int, device: torch.device) -> Tensor:
        """(n, L) unit-energy room impulse responses, L = the longest RT60 in samples."""
        length = max(1, int(math.ceil(self.rt60[1] * self.sample_rate)))
        rt60 = uniform(*self.rt60, n, device)[:, None]
        t = torch.arange(length, device=device)[None, :] / self.sample_rate
        envelope = torch.exp(-3 * math.log(10) * t / rt60)  # amplitude -60 dB at t = RT60
        rir = torch.randn(n, length, device=device) * envelope
        if self.reflections:
            span = min(length, int(0.05 * self.sample_rate))
            at = torch.randint(0, span, (n, self.reflections), device=device)
            sign = torch.randint(0, 2, (n, self.reflections), device=device) * 2 - 1
            strength = 3 * uniform(0.5, 1.0, n * self.reflections, device).view(n, -1)
            rir = rir.scatter_add(1, at, sign * strength * envelope.expand(n, -1).gather(1, at))
        return rir / rir.norm(dim=1, keepdim=True).clamp(min=1e-12)

    def forward(self, wave: Tensor, lengths: Tensor, apply: Tensor):
        B, T = wave.shape
        rir = self.impulse_responses(B, wave.device)
        wet = uniform(*self.wet, B, wave.device)[:, None]
        rows = apply.nonzero().squeeze(1)  # the convolution is the costly part: run it on the drawn rows only
        if not len(rows):
            return wave, lengths
        rir, wet, lengths_in = rir[rows], wet[rows], lengths[rows]
        inside = valid_mask(lengths_in, T)
        dry = wave[rows] * inside
        reverberant = AF.fftconvolve(dry, rir)[:, :T] * inside
        rms = _valid_rms(dry, lengths_in)
        reverberant = reverberant * rms / _valid_rms(reverberant, lengths_in).clamp(min=1e-12)
        out = (1 - wet) * dry + wet * reverberant
        out = out * rms / _valid_rms(out, lengths_in).clamp(min=1e-12)
        return wave.index_copy(0, rows, out), lengths
