"""Augmentation throughput: ser-zoo's batched on-device pipeline vs the seeds' per-clip librosa/scipy one.

Same clips (3 s crops of RAVDESS), same six transforms, each applied to every clip (p = 1): noise, time shift,
pitch shift, time stretch, gain, low-pass. The seeds' side runs them one clip at a time as their notebooks
did (numpy noise and roll, ``librosa.effects.pitch_shift`` / ``time_stretch``, a scipy Butterworth low-pass);
ser-zoo's side runs ``Augmentation`` on batches of 32 on the device (CPU here; a GPU row is added when CUDA is
present).
Run:  python benchmarks/augment.py [--clips 128] [--batch 32]
"""

from __future__ import annotations

import argparse
import time

import librosa
import numpy as np
import scipy.signal
import torch
import yaml
from _env import speed_rows, speed_table, write_result
from threadpoolctl import threadpool_limits

from ser_zoo.augment import Augmentation
from ser_zoo.augment.pipeline import WAVEFORM
from ser_zoo.data.cache import WaveformCache
from ser_zoo.data.clips import default_data_root
from ser_zoo.data.corpora import read_corpus

SR, SECONDS = 16000, 3.0
SPEC = {
    "shift": {"p": 1.0, "max_seconds": 0.3},
    "stretch": {"p": 1.0, "rate": [0.9, 1.1]},
    "pitch": {"p": 1.0, "semitones": [-2, 2]},
    "gain": {"p": 1.0, "db": [-6, 6]},
    "lowpass": {"p": 1.0, "cutoff_hz": [2500, 7000]},
    "noise": {"p": 1.0, "snr_db": [10, 30]},
}


def seeds_per_clip(waves: np.ndarray) -> float:
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for y in waves:
        y = np.roll(y, int(rng.integers(-4800, 4801)))
        y = librosa.effects.time_stretch(y, rate=float(rng.uniform(0.9, 1.1)))
        y = librosa.effects.pitch_shift(y, sr=SR, n_steps=float(rng.uniform(-2, 2)))
        y = y * 10 ** (rng.uniform(-6, 6) / 20)
        b, a = scipy.signal.butter(6, rng.uniform(2500, 7000) / (SR / 2), btype="low")
        y = scipy.signal.lfilter(b, a, y)
        y = y + rng.uniform(0.001, 0.01) * np.abs(y).max() * rng.standard_normal(len(y))
    return time.perf_counter() - start


def recipe_block(path: str = "configs/resnet18_half_ravdess_aug.yaml") -> dict:
    """The waveform transforms of a recipe's augment block, at the recipe's own probabilities."""
    block = yaml.safe_load(open(path))["model"]["augment"]
    return {k: v for k, v in block.items() if k in WAVEFORM}


def batched(waves: np.ndarray, batch: int, device: torch.device, spec: dict = SPEC) -> float:
    aug = Augmentation(spec).to(device).train()
    x = torch.from_numpy(waves).to(device)
    lengths = torch.full((len(x),), x.shape[1], device=device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    aug.waveforms(x[:2], lengths[:2])  # warm-up
    sync()
    start = time.perf_counter()
    for i in range(0, len(x), batch):
        aug.waveforms(x[i : i + batch], lengths[i : i + batch])
    sync()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=None)
    ap.add_argument("--clips", type=int, default=128)
    ap.add_argument("--batch", type=int, default=32)
    args = ap.parse_args()
    clips = read_corpus("ravdess", args.root or default_data_root())[: args.clips]
    cache = WaveformCache(clips, name="ravdess-bench", progress=False)
    n = int(SR * SECONDS)
    waves = np.zeros((len(clips), n), np.float32)
    for i, c in enumerate(clips):
        w = cache.get(c.id).astype(np.float32) / 32768.0
        off = max(0, (len(w) - n) // 2)
        waves[i, : min(n, len(w))] = w[off : off + n]

    with threadpool_limits(1):
        rows = {"seeds' per-clip librosa/scipy (1 thread)": seeds_per_clip(waves)}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rows["ser-zoo batched, CPU 1 thread"] = batched(waves, args.batch, torch.device("cpu"))
    recipe = recipe_block()
    rows["ser-zoo batched, CPU 1 thread, the aug recipe's p"] = batched(
        waves, args.batch, torch.device("cpu"), recipe
    )
    torch.set_num_threads(threads)
    rows[f"ser-zoo batched, CPU {threads} threads"] = batched(waves, args.batch, torch.device("cpu"))
    if torch.cuda.is_available():
        rows[f"ser-zoo batched, {torch.cuda.get_device_name(0)}"] = batched(
            waves, args.batch, torch.device("cuda")
        )
    result = {
        "clips": len(waves),
        "clip_seconds": SECONDS,
        "batch": args.batch,
        "spec": SPEC,
        "recipe_spec": recipe,
        "rows": speed_rows(rows, len(waves), "seeds' per-clip librosa/scipy (1 thread)", "speedup_vs_seeds"),
    }
    lines = [
        "# Augmentation throughput: batched on-device pipeline vs the seeds' per-clip pipeline",
        "",
        f"{len(waves)} RAVDESS clips, {SECONDS:g} s each; noise, shift, pitch shift, time stretch, gain and "
        "low-pass applied to every clip; the `aug recipe's p` row runs the waveform block of "
        "configs/resnet18_half_ravdess_aug.yaml at its own probabilities (each costly transform on its drawn "
        "clips only).",
        "",
        *speed_table(result["rows"], "speedup_vs_seeds", "seeds"),
    ]
    print("\n".join(lines))
    print("wrote", write_result("augment", result, "\n".join(lines)))


if __name__ == "__main__":
    main()
