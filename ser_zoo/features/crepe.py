"""``crepe_pitch``: CREPE pitch and periodicity per 10 ms frame, as rows to stack under a log-mel.

Prosody (pitch level, range and contour) carries much of a voice's arousal, and a 64-band log-mel resolves it
poorly. torchcrepe's network (``tiny``, 2 MB, by default; ``full``, 89 MB) with the weights its wheel ships
runs batched on the batch's device over the log-mel's own frames: one centred 1024-sample window per hop of
160 samples (1 + T // 160 frames), each window mean/std-normalised as CREPE expects. Pitch is CREPE's local
weighted average of the 9 bins around the peak, vectorised and deterministic (torchcrepe's ``weighted_argmax``
loops in Python and its bin-to-cents conversion adds random dither); periodicity is the peak bin's salience.

Output (B, 1, 2, frames): row 0 pitch (cents above 10 Hz, or Hz), row 1 periodicity in [0, 1]; frames past a
clip's length are 0, and ``normalize: utterance`` standardises each row over the clip's own frames. The
network is frozen; its whole-clip outputs are cached on disk (see ``pretrained_cache``).
"""

from __future__ import annotations

import importlib.metadata
import math
from pathlib import Path
from typing import Literal, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ConfigError
from ..optional import import_optional
from .functional import check_normalize, frame_mask, masked_row_norm
from .pretrained_cache import CachedFrontEnd, FeatureCache
from .registry import register_frontend

CENTS_OFFSET = 1997.3794084376191  # cents above 10 Hz of CREPE's bin 0 (about 31.7 Hz)
CENTS_PER_BIN, BINS, WINDOW, CREPE_RATE = 20, 360, 1024, 16000


def hz_to_cents(hz: Tensor | float) -> Tensor:
    """Frequency in Hz -> cents above 10 Hz, CREPE's pitch scale."""
    return 1200 * torch.log2(torch.as_tensor(hz, dtype=torch.float32) / 10.0)


def cents_to_hz(cents: Tensor) -> Tensor:
    """Cents above 10 Hz -> frequency in Hz."""
    return 10.0 * 2 ** (cents / 1200)


class Crepe1d(nn.Module):
    """torchcrepe's ``Crepe`` run as 1-D convolutions: the same weights and outputs, twice as fast on a CPU.

    torchcrepe's (k, 1) 2-D kernels miss PyTorch's fast CPU convolution paths. Inference only (batch norm
    frozen).

    Args:
        crepe (nn.Module): A ``torchcrepe.Crepe`` with its weights loaded; its parameters are shared.

    Shape:
        - frames: (N, 1024) windows, each mean/std-normalised.
        - output: (N, 360) bin saliences in [0, 1].

    Example:
        >>> import torchcrepe
        >>> Crepe1d(torchcrepe.Crepe("tiny")).eval()(torch.randn(3, 1024)).shape
        torch.Size([3, 360])
    """

    PADS = [(254, 254)] + [(31, 32)] * 5

    def __init__(self, crepe: nn.Module):
        super().__init__()
        self.crepe = crepe

    def forward(self, frames: Tensor) -> Tensor:
        """(N, 1024) normalised frames -> (N, 360) bin saliences in [0, 1]."""
        c, x = self.crepe, frames[:, None]
        for i, pad in enumerate(self.PADS, 1):
            conv, bn = getattr(c, f"conv{i}"), getattr(c, f"conv{i}_BN")
            x = F.relu(F.conv1d(F.pad(x, pad), conv.weight[..., 0], conv.bias, stride=conv.stride[0]))
            x = F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)
            x = F.max_pool1d(x, 2, 2)
        return torch.sigmoid(c.classifier(x.permute(0, 2, 1).reshape(len(frames), c.in_features)))


@register_frontend("crepe_pitch")
class CrepePitch(CachedFrontEnd):
    """CREPE pitch and periodicity per frame as two image rows; frozen, and cached per clip.

    Needs the ``torchcrepe`` package (``pip install 'ser-zoo[pretrained]'``), imported when one is built.

    Args:
        model (str, optional): torchcrepe's network, ``"tiny"`` (2 MB) or ``"full"`` (89 MB).
            (Default: ``"tiny"``)
        unit (str, optional): Pitch in ``"cents"`` above 10 Hz or in ``"hz"``. (Default: ``"cents"``)
        sample_rate (int, optional): Sample rate of the waveform; CREPE runs at 16000 Hz only.
            (Default: ``16000``)
        hop_length (int, optional): Samples between frames, one 1024-sample window centred on each.
            (Default: ``160``)
        fmin (float, optional): Lowest pitch in Hz the decoder may pick. (Default: ``50.0``)
        fmax (float, optional): Highest pitch in Hz, at most 2006. (Default: ``1000.0``)
        normalize (str or None, optional): ``"utterance"`` standardises each row over the clip's valid frames;
            None leaves pitch and periodicity as they are. (Default: ``"utterance"``)
        batch_frames (int, optional): Windows per network call (bounds memory). (Default: ``1024``)
        cache (bool, optional): Store each whole clip's output on disk (see ``pretrained_cache``).
            (Default: ``True``)
        cache_dir (str or None, optional): The cache folder; None is ``$SER_ZOO_CACHE/features``.
            (Default: ``None``)

    Shape:
        - wave: (B, T) and lengths: (B,) or None.
        - output: (B, 1, 2, 1 + T // hop_length): row 0 pitch, row 1 periodicity; 0 past each clip's end.

    Example:
        >>> fe = CrepePitch(cache=False)
        >>> fe(torch.randn(2, 16000), torch.tensor([16000, 8000])).shape
        torch.Size([2, 1, 2, 101])
    """

    kind = "image"

    def __init__(
        self,
        model: Literal["tiny", "full"] = "tiny",
        unit: Literal["cents", "hz"] = "cents",
        sample_rate: int = 16000,
        hop_length: int = 160,
        fmin: float = 50.0,
        fmax: float = 1000.0,
        normalize: Optional[str] = "utterance",
        batch_frames: int = 1024,
        cache: bool = True,
        cache_dir: Optional[str] = None,
    ):
        super().__init__()
        if model not in ("tiny", "full"):
            raise ConfigError(f"front-end 'crepe_pitch': model={model!r}; use 'tiny' or 'full'")
        if unit not in ("cents", "hz"):
            raise ConfigError(f"front-end 'crepe_pitch': unit={unit!r}; use 'cents' or 'hz'")
        if sample_rate != CREPE_RATE:
            raise ConfigError(
                f"front-end 'crepe_pitch': CREPE runs at {CREPE_RATE} Hz, got sample_rate={sample_rate}; "
                f"set data.sample_rate and model.sample_rate to {CREPE_RATE}"
            )
        if not 0 < fmin < fmax <= 2006.0:
            raise ConfigError(
                f"front-end 'crepe_pitch': fmin={fmin}, fmax={fmax}; use 0 < fmin < fmax <= 2006 Hz"
            )
        self.model_name, self.unit, self.hop_length = model, unit, hop_length
        self.normalize = check_normalize("crepe_pitch", normalize)
        self.batch_frames = batch_frames
        torchcrepe = import_optional("torchcrepe", feature="front-end 'crepe_pitch'")
        net = torchcrepe.Crepe(model)
        weights = Path(torchcrepe.__file__).parent / "assets" / f"{model}.pth"
        net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        self._hold(Crepe1d(net), trainable=False)
        cents = CENTS_PER_BIN * torch.arange(BINS, dtype=torch.float32) + CENTS_OFFSET
        lo = math.floor(
            (float(hz_to_cents(fmin)) - CENTS_OFFSET) / CENTS_PER_BIN
        )  # torchcrepe's fmin/fmax bins
        hi = math.ceil((float(hz_to_cents(fmax)) - CENTS_OFFSET) / CENTS_PER_BIN)
        allowed = (torch.arange(BINS) >= lo) & (torch.arange(BINS) < hi)
        self.register_buffer("cents", cents, persistent=False)
        self.register_buffer("allowed", allowed, persistent=False)
        self.cacheable = bool(cache)
        self.cache = (
            FeatureCache(
                "crepe_pitch",
                {
                    "model": model,
                    "hop": hop_length,
                    "fmin": fmin,
                    "fmax": fmax,
                    "decoder": "local-average-9",
                    "torchcrepe": importlib.metadata.version("torchcrepe"),
                },
                cache_dir,
            )
            if cache
            else None
        )

    def output_shape(self, num_samples: int) -> tuple[int, ...]:
        return (1, 2, 1 + num_samples // self.hop_length)

    @torch.no_grad()
    def raw(self, wave: Tensor, lengths: Optional[Tensor]) -> Tensor:
        """(B, 2, frames): pitch in cents and periodicity; frames past a clip's end are left at 0, not run."""
        B, T = wave.shape
        frames = F.pad(wave, (WINDOW // 2, WINDOW // 2)).unfold(-1, WINDOW, self.hop_length)  # (B, n, 1024)
        n = frames.shape[1]
        mask = frame_mask(lengths, n, self.hop_length, wave.device)
        x = frames.reshape(B * n, WINDOW) if mask is None else frames[mask]
        x = x - x.mean(1, keepdim=True)
        x = x / x.std(1, keepdim=True).clamp_min(1e-10)
        net = self.network
        sal = torch.cat([net(c) for c in x.split(self.batch_frames)]) if len(x) else x.new_zeros(0, BINS)
        sal = sal.float() * self.allowed
        peak = sal.argmax(1, keepdim=True)
        idx = peak + torch.arange(-4, 5, device=sal.device)
        inside = (idx >= 0) & (idx < BINS)
        idx = idx.clamp(0, BINS - 1)
        w = sal.gather(1, idx) * inside
        cents = (w * self.cents[idx]).sum(1) / w.sum(1).clamp_min(1e-12)
        out = torch.stack([cents, sal.gather(1, peak)[:, 0]], 1)  # (frames, 2)
        if mask is None:
            return out.view(B, n, 2).transpose(1, 2)
        full = out.new_zeros(B, n, 2)
        full[mask] = out
        return full.transpose(1, 2)

    def entries(self, wave: Tensor, lengths: Tensor) -> list[np.ndarray]:
        raw = self.raw(wave, lengths).cpu()
        return [raw[i, :, : 1 + int(n) // self.hop_length].numpy() for i, n in enumerate(lengths.tolist())]

    def from_entries(
        self, stored: list[np.ndarray], starts: Tensor, lengths: Tensor, width: int, device: torch.device
    ) -> Tensor:
        n = 1 + width // self.hop_length
        out = torch.zeros(len(stored), 2, n)
        for i, entry in enumerate(stored):
            j0 = int(round(float(starts[i]) / self.hop_length))  # crop start on the whole clip's frame grid
            part = torch.from_numpy(np.ascontiguousarray(entry[:, j0 : j0 + n]))
            out[i, :, : part.shape[1]] = part
        return out.to(device)

    def finish(self, raw: Tensor, lengths: Optional[Tensor]) -> Tensor:
        pitch, periodicity = raw[:, 0], raw[:, 1]
        if self.unit == "hz":
            pitch = torch.where(pitch > 0, cents_to_hz(pitch), pitch)
        x = torch.stack([pitch, periodicity], 1)
        mask = frame_mask(lengths, x.shape[-1], self.hop_length, x.device)
        if self.normalize == "utterance":
            x = masked_row_norm(x, mask)
        if mask is not None:
            x = x * mask[:, None, :]
        return x.unsqueeze(1)
