"""``voice_embedding``: Resemblyzer's GE2E speaker encoder as a 256-d clip vector, batched on the device.

A speaker-verification embedding also encodes voice quality (breathiness, tension, loudness), which moves
with emotion, and a small head on it is a cheap transfer baseline. Resemblyzer embeds one numpy clip at a
time, with its mel from librosa on the CPU; here the same mel (40 slaney bands of the power spectrum, 25 ms
Hann window, 10 ms hop, centred with zero padding, *not* logged) comes from torchaudio on the batch's device,
and the same 1.6 s partial windows (``rate`` 1.3 per second, a last window kept when it is at least
``min_coverage`` full) run through the same 3-layer LSTM with the weights from the wheel's ``pretrained.pt``
(loaded with ``weights_only=True``). The clip vector is the L2-normalised mean of the window embeddings, as
``VoiceEncoder.embed_utterance``. Frozen (and cached per clip) by default; ``trainable: true`` fine-tunes it.
"""

from __future__ import annotations

import importlib.metadata
import math
from typing import Optional

import numpy as np
import torch
import torchaudio.transforms as T
from torch import Tensor, nn

from ..errors import ConfigError
from ..optional import package_file
from .functional import LIBROSA_MEL, transient_buffers
from .pretrained_cache import CachedFrontEnd, FeatureCache
from .registry import register_frontend

RATE, HOP, N_MELS, WINDOW_FRAMES, EMBED = 16000, 160, 40, 160, 256


class GE2EMel(nn.Module):
    """The GE2E encoder's input: 40-band mel power, as resemblyzer's ``wav_to_mel_spectrogram``.

    Fixed settings (librosa's defaults there): 16 kHz, n_fft 400, hop 160, slaney mel, centred with zeros.

    Shape:
        - wave: (B, T) at 16 kHz.
        - output: (B, 1 + T // 160, 40), frames first as the LSTM reads them.

    Example:
        >>> GE2EMel()(torch.randn(2, 16000)).shape
        torch.Size([2, 101, 40])
    """

    def __init__(self):
        super().__init__()
        self.mel = T.MelSpectrogram(
            sample_rate=RATE,
            n_fft=400,
            hop_length=HOP,
            n_mels=N_MELS,
            **LIBROSA_MEL,
        )
        transient_buffers(self)

    def forward(self, wave: Tensor) -> Tensor:
        return self.mel(wave).transpose(1, 2)


class GE2EEncoder(nn.Module):
    """Resemblyzer's VoiceEncoder network: 3-layer LSTM (256 units) and a ReLU projection, L2-normalised.

    Built with random weights; :func:`load_ge2e` loads the installed wheel's.

    Shape:
        - mels: (N, 160, 40) mel windows (1.6 s each).
        - output: (N, 256) unit-length embeddings.

    Example:
        >>> GE2EEncoder()(torch.rand(3, 160, 40)).shape
        torch.Size([3, 256])
    """

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(N_MELS, 256, 3, batch_first=True)
        self.linear = nn.Linear(256, EMBED)

    def forward(self, mels: Tensor) -> Tensor:
        _, (hidden, _) = self.lstm(mels)
        e = torch.relu(self.linear(hidden[-1]))
        return e / e.norm(dim=1, keepdim=True).clamp_min(1e-12)


def load_ge2e() -> GE2EEncoder:
    """The encoder with the weights of the installed resemblyzer wheel (tensors only, strict key match)."""
    path = package_file("resemblyzer", "pretrained.pt", feature="front-end 'voice_embedding'")
    state = torch.load(path, map_location="cpu", weights_only=True)["model_state"]
    net = GE2EEncoder()
    net.load_state_dict({k: v for k, v in state.items() if not k.startswith("similarity_")})
    return net


def partial_starts(n_samples: int, step: int, min_coverage: float) -> list[int]:
    """Start frames of the 160-frame windows over a clip, as ``VoiceEncoder.compute_partial_slices``."""
    n_frames = math.ceil((n_samples + 1) / HOP)
    starts = list(range(0, max(1, n_frames - WINDOW_FRAMES + step + 1), step))
    coverage = (n_samples - starts[-1] * HOP) / (WINDOW_FRAMES * HOP)
    if coverage < min_coverage and len(starts) > 1:
        starts.pop()
    return starts


@register_frontend("voice_embedding")
class VoiceEmbedding(CachedFrontEnd):
    """GE2E clip vector: the L2-normalised mean of the 1.6 s window embeddings of Resemblyzer's encoder.

    Needs the ``resemblyzer`` package for its weights (``pip install 'ser-zoo[pretrained]'``), read when one
    is built; the package itself is never imported.

    Args:
        trainable (bool, optional): Fine-tune the encoder (it then joins the state dict and is not cached);
            False keeps it frozen. (Default: ``False``)
        rate (float, optional): Windows per second of audio, as ``VoiceEncoder.embed_utterance``.
            (Default: ``1.3``)
        min_coverage (float, optional): Keep a last, partial window when at least this fraction of it holds
            audio. (Default: ``0.75``)
        sample_rate (int, optional): Sample rate of the waveform; GE2E runs at 16000 Hz only.
            (Default: ``16000``)
        cache (bool, optional): Store each whole clip's window embeddings on disk when frozen.
            (Default: ``True``)
        cache_dir (str or None, optional): The cache folder; None is ``$SER_ZOO_CACHE/features``.
            (Default: ``None``)

    Shape:
        - wave: (B, T) and lengths: (B,) or None (every row whole).
        - output: (B, 256), unit length.

    Example:
        >>> fe = VoiceEmbedding(cache=False)
        >>> fe(torch.randn(2, 32000), torch.tensor([32000, 20000])).shape
        torch.Size([2, 256])
    """

    kind = "vector"

    def __init__(
        self,
        trainable: bool = False,
        rate: float = 1.3,
        min_coverage: float = 0.75,
        sample_rate: int = 16000,
        cache: bool = True,
        cache_dir: Optional[str] = None,
    ):
        super().__init__()
        if sample_rate != RATE:
            raise ConfigError(
                f"front-end 'voice_embedding': GE2E runs at {RATE} Hz, got sample_rate={sample_rate}; "
                f"set data.sample_rate and model.sample_rate to {RATE}"
            )
        self.step = int(round(RATE / rate / HOP))
        if not 0 < self.step <= WINDOW_FRAMES or not 0 < min_coverage <= 1:
            raise ConfigError(
                f"front-end 'voice_embedding': rate={rate}, min_coverage={min_coverage}; use "
                f"{RATE / HOP / WINDOW_FRAMES:.3f} <= rate <= 100 and 0 < min_coverage <= 1"
            )
        self.min_coverage = min_coverage
        self.fine_step = max(1, self.step // 4)  # cached windows: a 4x finer grid than the crop's own
        self.mel = GE2EMel()
        self._hold(load_ge2e(), trainable)
        self.cacheable = bool(cache) and not trainable
        self.cache = (
            FeatureCache(
                "voice_embedding",
                {"fine_step": self.fine_step, "resemblyzer": importlib.metadata.version("resemblyzer")},
                cache_dir,
            )
            if self.cacheable
            else None
        )

    def output_shape(self, num_samples: int) -> tuple[int, ...]:
        return (EMBED,)

    def _windows(self, wave: Tensor, starts: list[list[int]]) -> Tensor:
        """Embeddings (N, 256) of the windows at ``starts[b]`` frames of row b, rows in order."""
        last = max(s[-1] for s in starts)
        width = (last + WINDOW_FRAMES) * HOP  # zero-padded to cover the last window, as resemblyzer pads
        if wave.shape[-1] < width:
            wave = torch.nn.functional.pad(wave, (0, width - wave.shape[-1]))
        mel = self.mel(wave)  # (B, frames, 40)
        rows = [b for b, s in enumerate(starts) for _ in s]
        first = [f for s in starts for f in s]
        idx = torch.tensor(first, device=wave.device)[:, None] + torch.arange(
            WINDOW_FRAMES, device=wave.device
        )
        windows = mel[torch.tensor(rows, device=wave.device)[:, None], idx]  # (N, 160, 40)
        with torch.set_grad_enabled(self.trainable and torch.is_grad_enabled()):
            return self.network(windows)

    def _lengths(self, wave: Tensor, lengths: Optional[Tensor]) -> list[int]:
        return [wave.shape[-1]] * len(wave) if lengths is None else [int(n) for n in lengths.tolist()]

    def raw(self, wave: Tensor, lengths: Optional[Tensor]) -> Tensor:
        starts = [partial_starts(n, self.step, self.min_coverage) for n in self._lengths(wave, lengths)]
        emb = self._windows(wave, starts)
        counts = torch.tensor([len(s) for s in starts], device=wave.device)
        owner = torch.repeat_interleave(torch.arange(len(starts), device=wave.device), counts)
        total = emb.new_zeros(len(starts), EMBED).index_add(0, owner, emb)
        return total / counts[:, None]

    def entries(self, wave: Tensor, lengths: Tensor) -> list[np.ndarray]:
        """Per clip, the embeddings of windows every ``fine_step`` frames over the whole clip."""
        starts = [partial_starts(n, self.fine_step, 1e-9) for n in self._lengths(wave, lengths)]
        emb = self._windows(wave, starts).cpu().numpy()
        return list(np.split(emb, np.cumsum([len(s) for s in starts])[:-1]))

    def from_entries(
        self, stored: list[np.ndarray], starts: Tensor, lengths: Tensor, width: int, device: torch.device
    ) -> Tensor:
        """Each crop's windows (at its own start frame + k * step), taken from the nearest cached window."""
        out = torch.zeros(len(stored), EMBED)
        for i, entry in enumerate(stored):
            first = float(starts[i]) / HOP
            crop = partial_starts(int(lengths[i]), self.step, self.min_coverage)
            pick = [min(len(entry) - 1, int(round((first + s) / self.fine_step))) for s in crop]
            out[i] = torch.from_numpy(entry[pick].mean(0))
        return out.to(device)

    def finish(self, raw: Tensor, lengths: Optional[Tensor]) -> Tensor:
        return raw / raw.norm(dim=1, keepdim=True).clamp_min(1e-12)
