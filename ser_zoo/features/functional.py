"""Signal helpers shared by the front-ends: frame masks, masked normalisation and means, buffer handling.

Kept apart from the front-end classes (as torchaudio keeps its math in ``torchaudio.functional``) so that
every front-end module can use them without importing another front-end module.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

from ..errors import ConfigError

NORMALIZE = ("utterance", None)  # the values a front-end's ``normalize`` option accepts
#: The spectrogram images also take ``"band"``: each frequency row standardised over the clip's own frames
#: (cepstral mean and variance normalisation per band): it removes a microphone's or a room's fixed colouring.
STFT_NORMALIZE = ("utterance", "band", None)
#: ``torchaudio.transforms.MelSpectrogram`` options that reproduce ``librosa.feature.melspectrogram``'s
#: defaults (power spectrum, Slaney filters on the Slaney scale, centred frames padded with zeros): every
#: mel front-end shares them so that features match the librosa code the seeds were written with.
LIBROSA_MEL = dict(power=2.0, norm="slaney", mel_scale="slaney", center=True, pad_mode="constant")


def transient_buffers(module: nn.Module) -> None:
    """Re-register every buffer of ``module`` and its children as non-persistent.

    Windows and filterbanks (torchaudio's included) then follow ``.to(device)`` but stay out of state dicts:
    they are rebuilt from the constructor arguments, which a checkpoint's hyper-parameters hold.
    """
    for m in module.modules():
        for name, buf in list(m.named_buffers(recurse=False)):
            m.register_buffer(name, buf, persistent=False)


def check_normalize(
    name: str, normalize: Optional[str], allowed: tuple[Optional[str], ...] = NORMALIZE
) -> Optional[str]:
    """``normalize`` if it is one of ``allowed``, else a ConfigError naming front-end ``name``."""
    if normalize not in allowed:
        raise ConfigError(f"front-end '{name}': normalize={normalize!r}; use one of {list(allowed)}")
    return normalize


def frame_mask(
    lengths: Optional[Tensor], n_frames: int, hop_length: int, device: torch.device
) -> Optional[Tensor]:
    """(B, n_frames) bool, True where a centred frame's centre is in the row's valid part; None if no lengths.

    A clip of ``n`` samples has ``1 + n // hop_length`` centred frames, as librosa and ``torch.stft`` count.

    Example:
        >>> frame_mask(torch.tensor([480, 160]), 4, 160, torch.device("cpu"))
        tensor([[ True,  True,  True,  True],
                [ True,  True, False, False]])
    """
    if lengths is None:
        return None
    valid = 1 + lengths.to(device=device, dtype=torch.long) // hop_length
    return torch.arange(n_frames, device=device) < valid[:, None]


def utterance_norm(x: Tensor, mask: Optional[Tensor], eps: float = 1e-5) -> Tensor:
    """(B, C, F, frames) standardised per example over C, F and the frames ``mask`` (B, frames) keeps."""
    w = torch.ones_like(x) if mask is None else mask[:, None, None, :].to(x.dtype).expand_as(x)
    dims = tuple(range(1, x.dim()))
    n = w.sum(dims, keepdim=True).clamp_min(1.0)
    mean = (x * w).sum(dims, keepdim=True) / n
    std = (((x - mean) ** 2 * w).sum(dims, keepdim=True) / n).sqrt()
    return (x - mean) / (std + eps)


def masked_row_norm(x: Tensor, mask: Optional[Tensor], eps: float = 1e-5) -> Tensor:
    """(B, R, frames) standardised per example and row over the frames where ``mask`` (B, frames) is True."""
    w = torch.ones_like(x) if mask is None else mask[:, None, :].to(x.dtype).expand_as(x)
    n = w.sum(-1, keepdim=True).clamp_min(1.0)
    mean = (x * w).sum(-1, keepdim=True) / n
    std = (((x - mean) ** 2 * w).sum(-1, keepdim=True) / n).sqrt()
    return (x - mean) / (std + eps)


def band_norm(x: Tensor, mask: Optional[Tensor], floor: float = 0.25, eps: float = 1e-5) -> Tensor:
    """(B, R, frames) each row standardised over the frames ``mask`` keeps, its std counted as at least
    ``floor`` times the clip's mean row std: a row that barely moves (above a low-pass cut-off, a telephone
    line's empty band, the floor of silence) is not blown up into unit-variance noise.
    Frames outside ``mask`` (padding) become 0, the row's mean."""
    w = torch.ones_like(x) if mask is None else mask[:, None, :].to(x.dtype).expand_as(x)
    n = w.sum(-1, keepdim=True).clamp_min(1.0)
    mean = (x * w).sum(-1, keepdim=True) / n
    std = (((x - mean) ** 2 * w).sum(-1, keepdim=True) / n).sqrt()
    std = torch.maximum(std, floor * std.mean(1, keepdim=True))
    return (x - mean) / (std + eps) * w


def masked_time_mean(x: Tensor, lengths: Optional[Tensor], hop_length: int) -> Tensor:
    """(B, ..., frames) -> (B, ...) mean over the ``1 + length // hop_length`` centred frames of each row."""
    if lengths is None:
        return x.mean(-1)
    mask = frame_mask(lengths, x.shape[-1], hop_length, x.device).to(x.dtype)
    mask = mask.view(mask.shape[0], *([1] * (x.dim() - 2)), mask.shape[1])
    return (x * mask).sum(-1) / mask.sum(-1).clamp(min=1)
