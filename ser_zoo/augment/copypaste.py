"""CopyPaste: an emotional clip joined with a neutral one (or one of its own class) keeps its label.

Pappagari et al. (ICASSP 2021, arXiv 2010.14602) found that emotion heard in part of an utterance is the
utterance's emotion: concatenating an emotional utterance with a neutral one and keeping the emotional label
(N-CP) beat noise augmentation on CREMA-D. Here it runs on the batch, on its device: a drawn clip keeps a
share of its own valid samples and the rest of the fixed-length window is filled with the start of a partner
clip from the same batch, in random order, so a batch's shape never changes.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..errors import ConfigError
from .waveform import check_range, uniform

PARTNERS = ("neutral", "same")


class CopyPaste(nn.Module):
    """Joins each drawn clip with a partner clip of the batch; the clip's own label is kept.

    Args:
        partner (str, optional): ``neutral`` pairs a clip with a neutral one (the paper's N-CP), ``same`` with
            another clip of its own class (E-CP). (Default: ``"neutral"``)
        share ([float, float], optional): Range of the share of the window the clip keeps of itself (up to
            its own valid length); the partner fills the rest. (Default: ``(0.4, 0.7)``)
        neutral_index (int or None, optional): The neutral class's index; required for ``neutral``.
            (Default: ``None``)

    Shape:
        - wave: (B, T), lengths: (B,) valid samples, labels: (B,) class indices, apply: (B,) bool.
        - output: (wave (B, T), lengths (B,)); rows not drawn, or without a partner in the batch (no other
          neutral clip, no other clip of the class), come back unchanged.

    Example:
        >>> cp = CopyPaste("neutral", (0.5, 0.5), neutral_index=0)
        >>> labels, apply = torch.tensor([1, 0]), torch.tensor([True, False])
        >>> wave, lengths = cp(torch.ones(2, 8), torch.tensor([8, 4]), labels, apply)
        >>> lengths.tolist()  # clip 0 keeps 4 of its samples and gains the neutral clip's 4
        [8, 4]
    """

    def __init__(self, partner: str = "neutral", share=(0.4, 0.7), neutral_index: int | None = None):
        super().__init__()
        if partner not in PARTNERS:
            raise ConfigError(f"augment copypaste.partner={partner!r}; use one of {list(PARTNERS)}")
        if partner == "neutral" and neutral_index is None:
            raise ConfigError(
                "augment copypaste.partner=neutral needs a 'neutral' class; this class set has none "
                "(use partner: same)"
            )
        self.partner, self.neutral_index = partner, neutral_index
        self.share = check_range("copypaste.share", share, 0.0, 1.0, exclusive_lo=True)

    def _partners(self, labels: Tensor) -> tuple[Tensor, Tensor]:
        """A random allowed partner per row, and whether the row has one."""
        B = len(labels)
        if self.partner == "neutral":
            allowed = (labels == self.neutral_index)[None, :].expand(B, B)
        else:
            allowed = labels[:, None] == labels[None, :]
        allowed = allowed & ~torch.eye(B, dtype=torch.bool, device=labels.device)
        score = torch.rand(B, B, device=labels.device).masked_fill(~allowed, -1.0)
        return score.argmax(1), allowed.any(1)

    def forward(self, wave: Tensor, lengths: Tensor, labels: Tensor, apply: Tensor) -> tuple[Tensor, Tensor]:
        B, T = wave.shape
        partner, has = self._partners(labels)
        apply = apply & has
        if not bool(apply.any()):
            return wave, lengths
        keep = torch.minimum(lengths, (uniform(*self.share, B, wave.device) * T).round().long()).clamp(min=1)
        other, other_len = wave[partner], lengths[partner]
        own_first = torch.rand(B, device=wave.device) < 0.5
        fill = torch.minimum(other_len, T - keep)  # the partner's share when it comes first
        first = torch.where(own_first[:, None], wave, other)
        second = torch.where(own_first[:, None], other, wave)
        a = torch.where(own_first, keep, fill)
        b = torch.where(own_first, other_len, keep)
        t = torch.arange(T, device=wave.device)[None, :]
        from_second = torch.gather(second, 1, (t - a[:, None]).clamp(0, T - 1))
        joined = torch.where(t < a[:, None], first, torch.where(t < (a + b)[:, None], from_second, 0.0))
        joined_len = torch.clamp(a + b, max=T)
        return torch.where(apply[:, None], joined, wave), torch.where(apply, joined_len, lengths)
