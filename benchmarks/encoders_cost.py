"""What the base-size speech encoders cost here: clips/s to cache their hidden layers, to train the head on
the cache, and to fine-tune their top layers, on 3 s RAVDESS clips.

Random initialisation costs what the published weights cost (same architecture, same arithmetic), so no
weights are needed: nothing here measures accuracy. Per encoder, after one warm-up call:

* ``cache``: every hidden layer of a batch of whole clips, as the frozen first epoch stores them
  (``EncoderClassifier._whole_clips``: encoder forward, no gradient, fp16 copy to host);
* ``head on cache``: a training step of the SUPERB head on the stored stacks (crop, forward, backward, AdamW),
  what every later frozen epoch costs;
* ``fine-tune top N``: a training step with the top N transformer layers unfrozen (layer-wise lr decay), the
  encoder's forward and the backward through those layers every step.

Run (one thread, a few batches each, as committed):
  OMP_NUM_THREADS=1 python benchmarks/encoders_cost.py --threads 1 --batches 2 --batch 4   (repository root)
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
from ser_zoo.features.hidden_cache import crop_stacks
from ser_zoo.models import create_model
from ser_zoo.models.encoders.finetune import optimizer_groups

SR, SECONDS = 16000, 3.0
ENCODERS = ("wav2vec2_base", "hubert_base", "wavlm_base_plus", "whisper_base", "whisper_small")


def clips(root: str, n: int) -> torch.Tensor:
    """``n`` RAVDESS clips across the actors, centre-cropped or zero-padded to 3 s: an (n, 48000) batch."""
    table = read_corpus("ravdess", root)
    chosen = [table[i] for i in np.linspace(0, len(table) - 1, n).astype(int)]
    width = int(SR * SECONDS)
    return pad_waves([centre_crop(load_audio(c.path, SR), width) for c in chosen], width)[0]


def clips_per_s(step, batches: list[torch.Tensor], sync) -> float:
    """Clips per second of ``step`` over ``batches`` after one warm-up call on the first."""
    step(batches[0])
    sync()
    start = time.perf_counter()
    for b in batches:
        step(b)
    sync()
    return sum(len(b) for b in batches) / (time.perf_counter() - start)


def measure(name: str, batches: list[torch.Tensor], device: torch.device, top: int) -> dict:
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    torch.manual_seed(0)
    net = create_model(name, num_classes=8).to(device).eval()
    lengths = torch.full((len(batches[0]),), batches[0].shape[-1], device=device)
    row = {"params_M": round(sum(p.numel() for p in net.backbone.parameters()) / 1e6, 1)}

    def cache(x):
        with torch.inference_mode():
            return net._whole_clips(x, lengths)

    row["cache"] = clips_per_s(cache, batches, sync)
    stacks = cache(batches[0])
    row["stack_MB_per_clip"] = round(stacks[0].astype(np.float16).nbytes / 2**20, 2)

    head_opt = torch.optim.AdamW(net.head.parameters(), lr=1e-3)
    frames = net.backbone.frames(lengths.cpu())
    labels = torch.arange(len(stacks), device=device) % 8

    def head_step(x):
        states, valid = crop_stacks(stacks, torch.zeros(len(stacks)), frames, int(frames[0]), device)
        loss = torch.nn.functional.cross_entropy(net.head(states, valid), labels)
        head_opt.zero_grad()
        loss.backward()
        head_opt.step()

    net.train()
    row["head_on_cache"] = clips_per_s(head_step, batches, sync)

    torch.manual_seed(0)
    tuned = create_model(name, num_classes=8, finetune_layers=top).to(device).train()
    opt = torch.optim.AdamW(optimizer_groups(tuned, 1e-4), lr=1e-4)

    def finetune_step(x):
        loss = torch.nn.functional.cross_entropy(tuned(x.to(device), lengths), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()

    row[f"finetune_top{top}"] = clips_per_s(finetune_step, batches, sync)
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=None)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--batches", type=int, default=2, help="timed batches per measure (after a warm-up)")
    ap.add_argument("--top", type=int, default=2, help="transformer layers unfrozen for the fine-tuning step")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--encoders", nargs="*", default=list(ENCODERS))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    waves = clips(args.root or default_data_root(), args.batch * args.batches).to(device)
    batches = list(waves.split(args.batch))
    load_before = os.getloadavg()
    rows = {}
    for name in args.encoders:
        rows[name] = measure(name, batches, device, args.top)
        print(name, rows[name], flush=True)
    load_after = os.getloadavg()
    top = f"finetune_top{args.top}"
    lines = [
        "# Speech encoders: cost of caching, of training the head on the cache, and of fine-tuning",
        "",
        f"Batches of {args.batch} RAVDESS clips of {SECONDS:g} s on {device.type} ({args.threads} "
        f"thread(s)), {args.batches} timed batches after one warm-up; randomly initialised encoders (the "
        "published weights cost the same). `cache`: every hidden layer of whole clips, once per clip in the "
        "first frozen epoch; `head on cache`: a training step of the SUPERB head on stored stacks (every "
        f"later epoch); `fine-tune top {args.top}`: a training step with the top {args.top} layers unfrozen. "
        "Whisper encodes a 30 s window whatever the clip length, so its rates do not grow for shorter clips.",
        "",
        f"| encoder | encoder params (M) | cache clips/s | head on cache clips/s | fine-tune top {args.top} "
        "clips/s | stack MB per 3 s clip |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {k} | {r['params_M']} | {r['cache']:.2f} | {r['head_on_cache']:.1f} | {r[top]:.2f} | "
        f"{r['stack_MB_per_clip']} |"
        for k, r in rows.items()
    ]
    shared = load_before[0] >= 1.0
    lines += [
        "",
        f"Load average before / after: {load_before[0]:.1f} / {load_after[0]:.1f} (1 min) on "
        f"{os.cpu_count()} cores: "
        + ("other jobs shared the CPU, so these rates are lower bounds." if shared else "no other job ran."),
        f"transformers {importlib.metadata.version('transformers')} (Whisper's encoder).",
    ]
    path = write_result(
        "encoders_cost",
        {
            "rows": rows,
            "batch": args.batch,
            "batches": args.batches,
            "top": args.top,
            "device": device.type,
            "threads": args.threads,
            "load_average": [load_before, load_after],
            "transformers": importlib.metadata.version("transformers"),
        },
        "\n".join(lines),
    )
    print(Path(path).read_text())


if __name__ == "__main__":
    main()
