"""The recipe's ``model.augment`` block as one module: waveform transforms, SpecAugment, mixup; training only.

```yaml
model:
  augment:
    copypaste: {p: 0.5, partner: neutral, share: [0.4, 0.7]}
    shift:    {p: 0.5, max_seconds: 0.3, mode: roll}
    stretch:  {p: 0.3, rate: [0.9, 1.1]}
    pitch:    {p: 0.3, semitones: [-2, 2]}
    reverb:   {p: 0.3, rt60: [0.2, 0.8], wet: [0.3, 1.0]}
    gain:     {p: 0.5, db: [-6, 6]}
    lowpass:  {p: 0.2, cutoff_hz: [2500, 7000]}
    noise:    {p: 0.5, snr_db: [10, 30]}
    telephone: {p: 0.2, mu_law: 0.5}
    freq_mask: {p: 0.5, max_bins: 8, count: 2}
    time_mask: {p: 0.5, max_frames: 30, count: 2}
    freq_mixstyle: {p: 0.5, alpha: 0.3}
    mixup:    {p: 0.5, alpha: 0.4}
```

Waveform transforms run in the order above, each on a random subset of the batch (probability ``p`` per
clip). CopyPaste comes first, as the paper joins raw utterances: a clip keeps part of itself, a neutral clip
of the batch (or one of its own class) fills the rest, and the clip's label stays. The room (``reverb``)
comes before the noise, whose SNR is then relative to the reverberant signal, and the telephone line last,
as a line carries the noisy speech; masks, then Freq-MixStyle (each band's mean and
spread mixed with another clip's: a recording chain's colouring), run on the features. Mixup pairs each clip
with another of the same batch and mixes both signals and their labels (the loss mixes the two
cross-entropies). ``channel.py`` holds the robustness transforms (``reverb``, ``telephone``); for noise at low
SNR and band-limiting, give ``noise`` and ``lowpass`` lower ranges (``snr_db: [0, 10]``,
``cutoff_hz: [3000, 4000]``).
"""

from __future__ import annotations

import inspect
from typing import Any, Optional

import torch
from torch import Tensor, nn

from ..errors import ConfigError
from .channel import Reverb, Telephone
from .copypaste import CopyPaste
from .spectrogram import FrequencyMask, FrequencyMixStyle, TimeMask
from .waveform import AddNoise, Gain, LowPass, PitchShift, TimeShift, TimeStretch

WAVEFORM = {
    "shift": TimeShift,
    "stretch": TimeStretch,
    "pitch": PitchShift,
    "reverb": Reverb,
    "gain": Gain,
    "lowpass": LowPass,
    "noise": AddNoise,
    "telephone": Telephone,
}
FEATURE = {"freq_mask": FrequencyMask, "time_mask": TimeMask, "freq_mixstyle": FrequencyMixStyle}
NEEDS_RATE = ("shift", "lowpass", "reverb", "telephone")


def _probability(name: str, p: Any) -> float:
    if not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ConfigError(f"augment {name}.p={p!r}; use a probability in [0, 1]")
    return float(p)


def _build(name: str, cls: type, opts: dict[str, Any], sample_rate: int) -> nn.Module:
    valid = [k for k in inspect.signature(cls).parameters if k != "sample_rate"]
    bad = sorted(set(opts) - set(valid))
    if bad:
        raise ConfigError(f"augment {name} has no option {bad}; valid options: ['p'] + {valid}")
    return cls(**opts, sample_rate=sample_rate) if name in NEEDS_RATE else cls(**opts)


def _copypaste(opts: dict[str, Any], class_names: list[str]) -> CopyPaste:
    """CopyPaste from its options (``p`` taken out), the neutral class found in ``class_names``."""
    bad = sorted(set(opts) - {"partner", "share"})
    if bad:
        raise ConfigError(f"augment copypaste has no option {bad}; valid options: ['p', 'partner', 'share']")
    names = [n.lower() for n in class_names]
    return CopyPaste(**opts, neutral_index=names.index("neutral") if "neutral" in names else None)


class Augmentation(nn.Module):
    """Training-time augmentation from the recipe's ``model.augment`` block; identity in eval mode.

    Args:
        spec (dict or None, optional): ``{transform: {"p": probability, **options}}`` for any of ``shift``,
            ``stretch``, ``pitch``, ``reverb``, ``gain``, ``lowpass``, ``noise``, ``telephone``,
            ``freq_mask``, ``time_mask``, ``freq_mixstyle``, ``{"mixup": {"p": ..., "alpha": ...}}`` and
            ``{"copypaste": {"p": ..., "partner": ..., "share": ...}}``; None or empty turns everything off.
            (Default: ``None``)
        sample_rate (int, optional): Sample rate of the waveforms in Hz. (Default: ``16000``)
        class_names (list of str or None, optional): The class set; ``copypaste`` with ``partner: neutral``
            finds the neutral class in it. (Default: ``None``)

    Shape:
        - ``waveforms(wave (B, T), lengths (B,), labels (B,) or None)`` -> (wave (B, T), lengths (B,));
          ``copypaste`` needs the labels.
        - ``features(feats (B, C, F, frames))`` -> (B, C, F, frames).
        - ``mixup(wave (B, T), lengths (B,))`` -> (wave, lengths, (partner (B,), own-label weight (B,)) or
          None).

    Example:
        >>> aug = Augmentation({"gain": {"p": 0.5}, "time_mask": {"p": 0.5, "max_frames": 20}}).train()
        >>> wave, lengths = aug.waveforms(torch.randn(4, 16000), torch.full((4,), 16000))
        >>> wave.shape, aug.features(torch.randn(4, 1, 64, 101)).shape
        (torch.Size([4, 16000]), torch.Size([4, 1, 64, 101]))
    """

    def __init__(
        self,
        spec: Optional[dict[str, Any]] = None,
        sample_rate: int = 16000,
        class_names: Optional[list[str]] = None,
    ):
        super().__init__()
        spec = dict(spec or {})
        known = ["copypaste", *WAVEFORM, *FEATURE, "mixup"]
        unknown = sorted(set(spec) - set(known))
        if unknown:
            raise ConfigError(f"unknown augmentation {unknown}; use any of {known}")
        self.p: dict[str, float] = {}
        self.waveform, self.feature = nn.ModuleDict(), nn.ModuleDict()
        for table, target in ((WAVEFORM, self.waveform), (FEATURE, self.feature)):
            for name in table:  # fixed order, whatever the YAML order
                if name in spec:
                    opts = dict(spec[name] or {})
                    self.p[name] = _probability(name, opts.pop("p", 1.0))
                    target[name] = _build(name, table[name], opts, sample_rate)
        self.copypaste: Optional[CopyPaste] = None
        if "copypaste" in spec:
            opts = dict(spec["copypaste"] or {})
            self.p["copypaste"] = _probability("copypaste", opts.pop("p", 1.0))
            self.copypaste = _copypaste(opts, class_names or [])
        mix = dict(spec.get("mixup") or {})
        bad = sorted(set(mix) - {"p", "alpha"})
        if bad:
            raise ConfigError(f"augment mixup has no option {bad}; valid options: ['p', 'alpha']")
        self.mixup_p = _probability("mixup", mix.get("p", 1.0)) if "mixup" in spec else 0.0
        self.mixup_alpha = float(mix.get("alpha", 0.4))
        if self.mixup_alpha <= 0:
            raise ConfigError(f"augment mixup.alpha={self.mixup_alpha}; use a value > 0")

    def _draw(self, name: str, n: int, device: torch.device) -> Tensor:
        return torch.rand(n, device=device) < self.p[name]

    def waveforms(
        self, wave: Tensor, lengths: Tensor, labels: Optional[Tensor] = None
    ) -> tuple[Tensor, Tensor]:
        if not self.training:
            return wave, lengths
        if self.copypaste is not None:
            if labels is None:
                raise ValueError("augment copypaste keeps each clip's label: pass labels to waveforms()")
            draw = self._draw("copypaste", len(wave), wave.device)
            wave, lengths = self.copypaste(wave, lengths, labels, draw)
        for name, t in self.waveform.items():
            wave, lengths = t(wave, lengths, self._draw(name, len(wave), wave.device))
        return wave, lengths

    def features(self, feats: Tensor) -> Tensor:
        if not self.training or not len(self.feature):
            return feats
        if feats.dim() != 4:
            raise ConfigError(
                f"{'/'.join(self.feature)} need a spectrogram-image front-end (B, C, F, T), got "
                f"{feats.dim()}-D features; remove them from model.augment"
            )
        for name, t in self.feature.items():
            feats = t(feats, self._draw(name, len(feats), feats.device))
        return feats

    def mixup(self, wave: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor, Optional[tuple[Tensor, Tensor]]]:
        """Mixed batch plus (partner index, weight of the own label) per clip, or None when mixup is off."""
        if not self.training or self.mixup_p == 0.0:
            return wave, lengths, None
        B = len(wave)
        alpha = torch.full((B,), self.mixup_alpha, device=wave.device)
        lam = torch.distributions.Beta(alpha, alpha).sample()
        lam = torch.maximum(lam, 1 - lam)  # each clip keeps the larger share of itself
        lam = torch.where(torch.rand(B, device=wave.device) < self.mixup_p, lam, torch.ones_like(lam))
        partner = torch.randperm(B, device=wave.device)
        mixed = lam[:, None] * wave + (1 - lam[:, None]) * wave[partner]
        return mixed, torch.maximum(lengths, lengths[partner]), (partner, lam)
