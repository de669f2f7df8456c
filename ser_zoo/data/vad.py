"""Silero VAD: trim the silence around each clip before the crop, and find the speech in long recordings.

Acted corpora pad every utterance with up to a second of room tone (RAVDESS clips are ~3.7 s around ~2 s of
speech), so a random 3 s crop can hold more silence than voice. ``SERDataModule(vad_trim=True)`` reads every
clip through ``TrimmedCache``: from the first detected speech onset to the last offset (Silero's 30 ms speech
padding included); a clip with no speech found is kept whole. The offsets are computed once per clip, batched
(``audio_forward`` over a zero-padded batch gives each clip the probabilities it gets alone, the network being
causal), and stored in a small sidecar ``<corpus>-<rate>.vad-<settings>.npz`` beside the waveform caches, one
per corpus, keyed by clip id and the digest of the clip's samples.
``speech_segments`` gives the (start, end) seconds of every speech region of one recording, and
``stream_speech_probs`` a file's chunk probabilities read block by block (the no-speech check of
``ser_zoo.speech_gate`` judges a long recording's windows from them).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from typing import Iterable, Sequence, Union

import numpy as np
import torch
import torchaudio.functional as AF
from filelock import FileLock
from tqdm.auto import tqdm

from ..errors import ConfigError
from ..optional import import_optional

VAD_RATE, CHUNK = 16000, 512  # Silero's 16 kHz model reads 512-sample (32 ms) chunks
#: Silero's own defaults for turning chunk probabilities into speech regions.
SETTINGS = {
    "threshold": 0.5,
    "min_speech_duration_ms": 250,
    "min_silence_duration_ms": 100,
    "speech_pad_ms": 30,
}


@functools.lru_cache(maxsize=1)
def load_vad():
    """Silero VAD (TorchScript) from the installed silero-vad wheel; nothing is downloaded."""
    silero = import_optional("silero_vad", feature="VAD (vad_trim / speech_segments)")
    return silero.load_silero_vad()


def _to_16k(wave: Union[np.ndarray, torch.Tensor], sample_rate: int) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(wave, dtype=np.float32) if not isinstance(wave, torch.Tensor) else wave)
    x = x.float().cpu()
    return AF.resample(x, sample_rate, VAD_RATE) if sample_rate != VAD_RATE else x


@torch.no_grad()
def speech_probs(waves: torch.Tensor) -> torch.Tensor:
    """(B, T) 16 kHz -> (B, ceil(T / 512)) speech probability per 32 ms chunk (state reset per call)."""
    if waves.dim() != 2:
        raise ConfigError(f"speech_probs takes a (batch, samples) tensor, got shape {tuple(waves.shape)}")
    return load_vad().audio_forward(waves.float().cpu(), VAD_RATE)


def speech_regions(probs: Sequence[float], n_samples: int) -> list[tuple[int, int]]:
    """(start, end) in 16 kHz samples of each speech region of a recording of ``n_samples``, from its
    ``speech_probs`` chunk probabilities and Silero's ``SETTINGS``."""
    silero = import_optional("silero_vad", feature="VAD (vad_trim / speech_segments)")
    found = silero.get_speech_timestamps_from_probs(
        list(probs), sampling_rate=VAD_RATE, audio_length_samples=n_samples, **SETTINGS
    )
    return [(int(r["start"]), int(r["end"])) for r in found]


def speech_segments(wave: Union[np.ndarray, torch.Tensor], sample_rate: int) -> list[tuple[float, float]]:
    """(start_s, end_s) of each speech region of a mono recording at ``sample_rate`` (any length)."""
    x = _to_16k(wave, sample_rate).reshape(-1)
    if len(x) == 0:
        return []
    probs = speech_probs(x[None])[0].tolist()
    return [(s / VAD_RATE, e / VAD_RATE) for s, e in speech_regions(probs, len(x))]


def stream_speech_segments(path, block_s: float = 60.0, warmup_chunks: int = 32) -> list[tuple[float, float]]:
    """(start_s, end_s) of each speech region of an audio file of any length, read block by block
    (``stream_speech_probs``)."""
    probs, total = stream_speech_probs(path, block_s, warmup_chunks)
    return [(s / VAD_RATE, e / VAD_RATE) for s, e in speech_regions(probs.tolist(), total)]


def stream_speech_probs(path, block_s: float = 60.0, warmup_chunks: int = 32) -> tuple[np.ndarray, int]:
    """(speech probability per 32 ms chunk, length in 16 kHz samples) of an audio file of any length, read
    block by block.

    Silero's state restarts with each ``audio_forward`` call, so every block after the first runs with the
    last ``warmup_chunks`` chunks (1 s) of the previous one in front and their probabilities dropped; memory
    holds one block and one probability (4 bytes) per 32 ms, about 0.5 MB per hour of audio."""
    from ..audio import audio_info, prepare_waveform, read_blocks
    from ..errors import AudioError

    info = audio_info(path)  # missing, empty, folder or non-audio: one AudioError naming the file
    probs: list[np.ndarray] = []
    context = np.zeros(0, np.float32)
    pending = np.zeros(0, np.float32)
    total = 0

    def run(x: np.ndarray) -> None:
        nonlocal context
        joined = np.concatenate([context, x])
        p = speech_probs(torch.from_numpy(joined)[None])[0]
        probs.append(p[len(context) // CHUNK :].numpy().astype(np.float32))
        context = joined[-warmup_chunks * CHUNK :] if warmup_chunks else joined[:0]

    for block in read_blocks(path, blocksize=max(CHUNK, int(block_s * info.samplerate))):
        wave = prepare_waveform(
            block, info.samplerate, VAD_RATE, name=str(path), min_samples=0, allow_silent=True
        )
        total += len(wave)
        pending = np.concatenate([pending, wave])
        whole = len(pending) // CHUNK * CHUNK
        if whole:
            run(pending[:whole])
            pending = pending[whole:]
    if len(pending):
        run(pending)  # audio_forward zero-pads the last partial chunk
    if total == 0:
        raise AudioError(f"{path}: empty (0 samples); nothing to segment")
    return np.concatenate(probs)[: -(-total // CHUNK)], total


def clip_speech_probs(
    waves: Sequence[np.ndarray], sample_rate: int, batch_size: int = 64
) -> list[tuple[np.ndarray, int]]:
    """Per mono clip at ``sample_rate``: (its speech probability per 32 ms chunk, its length in 16 kHz
    samples). Silero runs over zero-padded batches of clips of similar length (a causal network: each clip
    gets the probabilities it gets alone, cut to its own chunks; at least one)."""
    out: dict[int, tuple[np.ndarray, int]] = {}
    order = sorted(range(len(waves)), key=lambda i: len(waves[i]))  # length buckets: little padding
    for k in range(0, len(order), batch_size):
        chunk = order[k : k + batch_size]
        rows = [_to_16k(np.asarray(waves[i], dtype=np.float32), sample_rate).reshape(-1) for i in chunk]
        batch = torch.zeros(len(rows), max(CHUNK, max(len(r) for r in rows)))
        for j, r in enumerate(rows):
            batch[j, : len(r)] = r
        probs = speech_probs(batch).numpy()
        for j, i in enumerate(chunk):
            out[i] = (probs[j, : max(1, -(-len(rows[j]) // CHUNK))], len(rows[j]))
    return [out[i] for i in range(len(waves))]


def speech_bounds(regions: Sequence[tuple[int, int]], n: int, sample_rate: int) -> tuple[int, int]:
    """[first speech start, last speech end) in samples at ``sample_rate`` of a clip of ``n`` samples, from
    its 16 kHz ``speech_regions``; (0, n) when there are none. Training (``TrimmedCache``) and inference
    (``infer``/``listen``/``predict`` of a model trained on trimmed clips) cut clips by this one rule."""
    if not regions:
        return 0, n
    scale = sample_rate / VAD_RATE
    return int(regions[0][0] * scale), min(n, int(round(regions[-1][1] * scale)))


def trim_bounds(waves: Sequence[np.ndarray], sample_rate: int = VAD_RATE, batch_size: int = 64) -> np.ndarray:
    """(N, 2) sample offsets [first speech start, last speech end) per clip at ``sample_rate``; (0, n) when
    no speech is found."""
    out = np.zeros((len(waves), 2), dtype=np.int64)
    for i, (probs, n16) in enumerate(clip_speech_probs(waves, sample_rate, batch_size)):
        regions = speech_regions(probs.tolist(), n16) if n16 else []
        out[i] = speech_bounds(regions, len(waves[i]), sample_rate)
    return out


def trim_to_speech(waves: Sequence[np.ndarray], sample_rate: int) -> list[np.ndarray]:
    """Each clip cut to ``trim_bounds`` (kept whole where no speech is found)."""
    return [w[s:e] for w, (s, e) in zip(waves, trim_bounds(waves, sample_rate))]


def _settings_tag() -> str:
    return hashlib.sha256(json.dumps(SETTINGS, sort_keys=True).encode()).hexdigest()[:8]


class TrimmedCache:
    """A waveform cache seen through per-clip VAD trim offsets (``get``, ``length``, ``in`` as the cache's).

    Offsets live in one sidecar per corpus and rate, keyed by clip id and the digest of the clip's samples, so
    every cache of that corpus (any protocol's clip list, a re-mounted copy) shares them.
    """

    def __init__(self, base, ids: Iterable[str], progress: bool = True):
        self.base = base
        self.sample_rate = base.sample_rate
        self.family = f"{base.family}-vad{_settings_tag()}"  # names this view's clips in feature caches
        self.path = base.dir.parent / f"{base.family}.vad-{_settings_tag()}.npz"
        ids = [i for i in ids if i in base]
        known = self._load_or_compute({f"{i}@{base.digest(i)}": i for i in ids}, progress)
        self._bounds = {i: known[f"{i}@{base.digest(i)}"] for i in ids}

    def clip_key(self, clip_id: str) -> str:
        return f"{self.family}/{clip_id}@{self.base.digest(clip_id)}"

    def _read(self) -> dict[str, tuple[int, int]]:
        try:
            with np.load(self.path, allow_pickle=False) as f:
                return {str(i): (int(s), int(e)) for i, (s, e) in zip(f["ids"], f["bounds"])}
        except (OSError, ValueError, KeyError):
            return {}

    def _load_or_compute(self, wanted: dict[str, str], progress: bool) -> dict[str, tuple[int, int]]:
        """Offsets by ``<clip id>@<digest>`` for every key of ``wanted`` (key -> clip id), computing the
        missing ones."""
        known = self._read()
        if all(k in known for k in wanted):
            return known
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.path) + ".lock"):  # two processes never compute (or write) the same sidecar
            known = self._read()
            missing = [k for k in wanted if k not in known]
            if missing:
                self._compute(
                    sorted(missing, key=lambda k: self.base.length(wanted[k])), wanted, known, progress
                )
                fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.stem}.", suffix=".npz")
                with os.fdopen(fd, "wb") as f:
                    np.savez(
                        f,
                        ids=np.array(list(known), dtype=str),
                        bounds=np.array(list(known.values()), dtype=np.int64).reshape(-1, 2),
                    )
                os.replace(tmp, self.path)
        return known

    def _compute(
        self,
        keys: list[str],
        wanted: dict[str, str],
        known: dict[str, tuple[int, int]],
        progress: bool,
        part: int = 1024,
    ) -> None:
        """Offsets of ``keys`` into ``known``, decoding ``part`` clips at a time (a corpus never sits in
        memory)."""
        with tqdm(
            total=len(keys), desc=f"VAD trim {self.base.family}", unit="clip", disable=not progress
        ) as bar:
            for k in range(0, len(keys), part):
                chunk = keys[k : k + part]
                waves = [
                    self.base.get(wanted[key]).astype(np.float32) / 32767.0 for key in chunk
                ]  # as ClipDataset
                for key, (s, e) in zip(chunk, trim_bounds(waves, self.sample_rate)):
                    known[key] = (int(s), int(e))
                bar.update(len(chunk))

    def bounds(self, clip_id: str) -> tuple[int, int]:
        return self._bounds.get(clip_id, (0, self.base.length(clip_id)))

    def get(self, clip_id: str) -> np.ndarray:
        start, end = self.bounds(clip_id)
        return self.base.get(clip_id)[start:end]

    def length(self, clip_id: str) -> int:
        start, end = self.bounds(clip_id)
        return end - start

    def __contains__(self, clip_id: str) -> bool:
        return clip_id in self.base

    def __len__(self) -> int:
        return len(self.base)
