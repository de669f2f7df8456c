"""Feature-extraction throughput: ser-zoo's batched torchaudio front-ends vs librosa one file at a time.

Both sides compute the same features (log-mel 64 bands, window 512, hop 160, and 40 MFCCs from it) for the
same RAVDESS clips, in one run, so the ratio is like for like:

* ``librosa per file``: the seeds' loop, ``librosa.feature.melspectrogram`` + ``power_to_db`` and
  ``librosa.feature.mfcc(y=...)`` on each clip's waveform;
* ``ser-zoo batched``: ``create_frontend('logmel')`` and ``create_frontend('mfcc')`` on zero-padded batches of
  32 clips of similar length, on the device (CPU here, a GPU when one is present), padding counted as work.

Decoding is timed separately (the waveform cache removes it from every epoch after the first).
Run:  python benchmarks/features.py [--clips 480] [--batch 32] [--root ../shared/data]
"""

from __future__ import annotations

import argparse
import os
import time

import librosa
import numpy as np
import torch
from _env import speed_rows, speed_table, write_result
from threadpoolctl import threadpool_limits

from ser_zoo.data.cache import WaveformCache
from ser_zoo.data.clips import default_data_root
from ser_zoo.data.corpora import read_corpus
from ser_zoo.features import create_frontend

SR, N_FFT, HOP, N_MELS, N_MFCC = 16000, 512, 160, 64, 40


def librosa_per_file(waves: list[np.ndarray]) -> float:
    """The seeds' way: each feature straight from the waveform, one clip at a time (two STFTs per clip)."""
    start = time.perf_counter()
    for y in waves:
        mel = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS)
        librosa.power_to_db(mel, ref=np.max, top_db=80.0)
        librosa.feature.mfcc(y=y, sr=SR, n_mfcc=N_MFCC, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS)
    return time.perf_counter() - start


def batched(waves: list[np.ndarray], batch: int, device: torch.device) -> float:
    logmel = create_frontend({"name": "logmel", "n_mels": N_MELS, "normalize": None}).to(device)
    mfcc = create_frontend({"name": "mfcc", "n_mfcc": N_MFCC, "n_mels": N_MELS, "normalize": None}).to(device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    with torch.inference_mode():
        logmel(torch.zeros(2, SR, device=device)), mfcc(torch.zeros(2, SR, device=device))  # warm-up
        sync()
        start = time.perf_counter()
        order = sorted(range(len(waves)), key=lambda i: len(waves[i]))  # length buckets: little padding
        for i in range(0, len(waves), batch):
            chunk = [waves[j] for j in order[i : i + batch]]
            lengths = torch.tensor([len(w) for w in chunk])
            x = torch.zeros(len(chunk), int(lengths.max()))
            for j, w in enumerate(chunk):
                x[j, : len(w)] = torch.from_numpy(w)
            x, lengths = x.to(device, non_blocking=True), lengths.to(device)
            logmel(x, lengths), mfcc(x, lengths)
        sync()
        return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--root", default=None, help="data root holding ravdess/ (default: ../shared/data or $SER_ZOO_DATA)"
    )
    ap.add_argument("--clips", type=int, default=480)
    ap.add_argument("--batch", type=int, default=32)
    args = ap.parse_args()

    clips = read_corpus("ravdess", args.root or default_data_root())[: args.clips]
    t0 = time.perf_counter()
    decoded = [librosa.load(c.path, sr=SR)[0] for c in clips]
    decode_s = time.perf_counter() - t0
    cache = WaveformCache(clips, name="ravdess-bench", progress=False)
    waves = [cache.get(c.id).astype(np.float32) / 32768.0 for c in clips]
    assert len(waves) == len(decoded)
    audio_s = sum(len(w) for w in waves) / SR

    with threadpool_limits(1):  # numpy's BLAS would otherwise use every core for the mel matmul
        rows = {"librosa per file (1 thread)": librosa_per_file(waves)}
    rows[f"librosa per file ({os.cpu_count()} BLAS threads)"] = librosa_per_file(waves)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rows["ser-zoo batched, CPU 1 thread"] = batched(waves, args.batch, torch.device("cpu"))
    torch.set_num_threads(threads)
    rows[f"ser-zoo batched, CPU {torch.get_num_threads()} threads"] = batched(
        waves, args.batch, torch.device("cpu")
    )
    if torch.cuda.is_available():
        rows[f"ser-zoo batched, {torch.cuda.get_device_name(0)}"] = batched(
            waves, args.batch, torch.device("cuda")
        )

    result = {
        "clips": len(waves),
        "audio_seconds": round(audio_s, 1),
        "batch": args.batch,
        "decode_librosa_load_s": round(decode_s, 2),
        "rows": speed_rows(rows, len(waves), "librosa per file (1 thread)", "speedup_vs_librosa"),
    }
    lines = [
        "# Feature extraction: log-mel (64) + MFCC (40), batched front-ends vs librosa per file",
        "",
        f"{len(waves)} RAVDESS clips ({audio_s:.0f} s of audio), batch {args.batch}, "
        "same waveforms on both sides.",
        f"Decoding them with `librosa.load` alone took {decode_s:.1f} s (the waveform cache pays this once).",
        "",
        *speed_table(result["rows"], "speedup_vs_librosa", "librosa"),
    ]
    print("\n".join(lines))
    print("wrote", write_result("features", result, "\n".join(lines)))


if __name__ == "__main__":
    main()
