"""Training throughput of candidate default architectures, side by side in one run (issue 21).

Each candidate is a ``SERModule`` (front-end + network, as a recipe builds it) trained on random 3 s
waveforms: front-end, forward, cross-entropy, backward and an AdamW step, timed over ``--steps`` batches after
``--warmup``. Random audio costs what speech costs, so this measures the model, not the loader; what an
architecture reaches in accuracy is measured separately, on real folds (benchmarks/suites/arch_ravdess.yaml).
Run:  python benchmarks/arch_throughput.py [--threads 2] [--batch 32] [--steps 6] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from _env import write_result

from ser_zoo.lit.module import SERModule

#: name -> (model, model_kwargs, front-end): resnet18 as its recipes run it, then fast-default candidates
CANDIDATES = {
    "resnet18": ("resnet18", {}, {"name": "logmel", "n_mels": 64}),
    "timm/mobilenetv3_small_100": ("timm/mobilenetv3_small_100", {}, {"name": "logmel", "n_mels": 64}),
    "timm/mobilenetv3_large_100": ("timm/mobilenetv3_large_100", {}, {"name": "logmel", "n_mels": 64}),
    "timm/efficientnet_b0": ("timm/efficientnet_b0", {}, {"name": "logmel", "n_mels": 64}),
    "timm/resnet10t": ("timm/resnet10t", {}, {"name": "logmel", "n_mels": 64}),
    "timm/lcnet_100": ("timm/lcnet_100", {}, {"name": "logmel", "n_mels": 64}),
    "timm/resnet18, half width, 20 ms hop": (
        "timm/resnet18",
        {"backbone_kwargs": {"channels": [32, 64, 128, 256], "stem_width": 32}},
        {"name": "logmel", "n_mels": 64, "hop_length": 320},
    ),
    "resnet18, 20 ms hop": ("resnet18", {}, {"name": "logmel", "n_mels": 64, "hop_length": 320}),
    "mel_cnn": ("mel_cnn", {}, None),
    "mfcc_cnn": ("mfcc_cnn", {}, None),
    "mfcc_crnn": ("mfcc_crnn", {}, None),
    "conv2d_mfcc": ("conv2d_mfcc", {}, None),
}


def train_clips_per_second(name: str, batch: int, steps: int, warmup: int, seconds: float = 3.0) -> dict:
    model, kwargs, frontend = CANDIDATES[name]
    torch.manual_seed(0)
    module = SERModule(model=model, model_kwargs=kwargs, frontend=frontend, num_classes=8)
    module.train()
    opt = torch.optim.AdamW(module.parameters(), lr=1e-3)
    wave = torch.randn(batch, int(16000 * seconds)) * 0.1
    lengths = torch.full((batch,), wave.shape[1])
    labels = torch.randint(0, 8, (batch,))
    elapsed = 0.0
    for step in range(warmup + steps):
        start = time.perf_counter()
        loss = F.cross_entropy(module(wave, lengths), labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step >= warmup:
            elapsed += time.perf_counter() - start
    params = sum(p.numel() for p in module.net.parameters())
    return {"clips_per_s": round(batch * steps / elapsed, 1), "params": params, "seconds": round(elapsed, 2)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--only", nargs="*", default=None, help="candidate names (default: all)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    rows = {}
    for name in args.only or CANDIDATES:
        rows[name] = train_clips_per_second(name, args.batch, args.steps, args.warmup)
        print(
            f"{name:<28} {rows[name]['clips_per_s']:>7.1f} clips/s  {rows[name]['params']:>11,} params",
            flush=True,
        )
    base = rows.get("resnet18", {}).get("clips_per_s")
    lines = [
        f"# Training throughput, 3 s clips, batch {args.batch}, {args.threads} threads (random audio)",
        "",
        "| model | front-end | params | train clips/s | vs resnet18 |",
        "|---|---|---:|---:|---:|",
    ]
    for name, r in sorted(rows.items(), key=lambda kv: -kv[1]["clips_per_s"]):
        fe = CANDIDATES[name][2] or "its own"
        ratio = f"{r['clips_per_s'] / base:.2f}x" if base else ""
        lines.append(f"| {name} | {fe} | {r['params']:,} | {r['clips_per_s']:.1f} | {ratio} |")
    write_result("arch_throughput", {"rows": rows, "args": vars(args)}, "\n".join(lines))


if __name__ == "__main__":
    main()
