"""Throughput of the pretrained front-ends against the log-mel, on 3 s RAVDESS clips on this machine.

Each pipeline turns a batch of 3 s clips (centre-cropped or zero-padded, as ``eval_crop: center``) into its
features, batched on the device (CPU here, a GPU when present), after one warm-up call:

* ``logmel 64``: the default image front-end, the baseline;
* ``crepe_pitch tiny`` / ``full``: CREPE pitch + periodicity at hop 160 (301 frames of 1024 samples per clip);
  full CREPE costs about 1.5 GMAC per frame, so it runs on fewer clips (clips/s is per clip either way);
* ``voice_embedding``: GE2E mel + 3-layer LSTM over three 1.6 s windows per clip;
* ``silero VAD trim``: speech probabilities of every 32 ms chunk plus the trim offsets (``trim_bounds``).

The frozen CREPE/GE2E outputs are cached per clip in training, so these rates are paid once per clip (first
epoch), not per epoch. Run:
  python benchmarks/pretrained_frontends.py [--clips 64] [--tiny_clips 16] [--full_clips 2] [--batch 16]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import time
from pathlib import Path

import numpy as np
import torch
from _env import write_result

from ser_zoo.audio import centre_crop, load_audio, pad_waves
from ser_zoo.data.clips import default_data_root
from ser_zoo.data.corpora import read_corpus
from ser_zoo.data.vad import load_vad, trim_bounds
from ser_zoo.features import create_frontend

SR, SECONDS = 16000, 3.0


def clips(root: str, n: int) -> torch.Tensor:
    """``n`` RAVDESS clips across the actors, centre-cropped or zero-padded to 3 s: an (n, 48000) batch."""
    table = read_corpus("ravdess", root)
    chosen = [table[i] for i in np.linspace(0, len(table) - 1, n).astype(int)]
    width = int(SR * SECONDS)
    return pad_waves([centre_crop(load_audio(c.path, SR), width) for c in chosen], width)[0]


def timed(fn, waves: torch.Tensor, batch: int, device: torch.device) -> float:
    """Seconds to run ``fn`` over ``waves`` in batches, after a warm-up (loads weights, picks kernels)."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    with torch.inference_mode():
        fn(waves[:1, : SR // 5].to(device))
        sync()
        start = time.perf_counter()
        for i in range(0, len(waves), batch):
            fn(waves[i : i + batch].to(device))
        sync()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=None)
    ap.add_argument("--clips", type=int, default=64, help="clips for logmel, voice_embedding and VAD")
    ap.add_argument("--tiny_clips", type=int, default=16, help="clips for CREPE tiny")
    ap.add_argument("--full_clips", type=int, default=2, help="clips for CREPE full")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    waves = clips(args.root or default_data_root(), args.clips)
    load_before = os.getloadavg()

    def frontend(spec):
        fe = create_frontend({**spec, **({"cache": False} if spec["name"] != "logmel" else {})}).to(device)
        return lambda x: fe(x, torch.full((len(x),), x.shape[-1], device=x.device))

    load_vad()
    pipelines = {
        "logmel 64": (frontend({"name": "logmel", "n_mels": 64}), args.clips),
        "crepe_pitch tiny": (frontend({"name": "crepe_pitch", "model": "tiny"}), args.tiny_clips),
        "crepe_pitch full": (frontend({"name": "crepe_pitch", "model": "full"}), args.full_clips),
        "voice_embedding (GE2E)": (frontend({"name": "voice_embedding"}), args.clips),
        "silero VAD trim": (lambda x: trim_bounds(list(x.cpu().numpy()), SR), args.clips),
    }
    rows = {}
    for name, (fn, n) in pipelines.items():
        n = min(n, len(waves))
        seconds = timed(fn, waves[:n], args.batch, device)
        rows[name] = {
            "clips": n,
            "seconds": round(seconds, 3),
            "clips_per_s": round(n / seconds, 2),
            "x_realtime": round(n * SECONDS / seconds, 1),
        }
        print(name, rows[name], flush=True)
    base = rows["logmel 64"]["clips_per_s"]
    for r in rows.values():
        r["vs_logmel"] = round(r["clips_per_s"] / base, 4)
    load_after = os.getloadavg()

    packages = {p: importlib.metadata.version(p) for p in ("torchcrepe", "resemblyzer", "silero-vad")}
    lines = [
        "# Pretrained front-ends: throughput on 3 s RAVDESS clips",
        "",
        f"Batches of {args.batch} clips of {SECONDS:g} s on {device.type} ({args.threads} threads), "
        "after one warm-up call; clips/s counts whole 3 s clips. Frozen CREPE/GE2E outputs are cached "
        "per clip in training (computed on the first epoch only) and VAD trim offsets once per clip.",
        "",
        "| pipeline | clips | seconds | clips/s | x real time | vs logmel |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {k} | {r['clips']} | {r['seconds']:.2f} | {r['clips_per_s']:.2f} | {r['x_realtime']:.1f} | "
        f"{r['vs_logmel']:.4f}x |"
        for k, r in rows.items()
    ]
    shared = load_before[0] >= 1.0  # a core's worth of other work already running when the timing began
    lines += [
        "",
        f"Load average before / after: {load_before[0]:.1f} / {load_after[0]:.1f} (1 min) on "
        f"{os.cpu_count()} cores: "
        + (
            "other jobs shared the CPU, so these rates are lower bounds for this CPU."
            if shared
            else "no other job was running (the rise is this benchmark's)."
        ),
        "Packages: " + ", ".join(f"{k} {v}" for k, v in packages.items()) + ".",
    ]
    path = write_result(
        "pretrained_frontends",
        {
            "rows": rows,
            "batch": args.batch,
            "device": device.type,
            "load_average": [load_before, load_after],
            "packages": packages,
        },
        "\n".join(lines),
    )
    print(Path(path).read_text())


if __name__ == "__main__":
    main()
