"""Inference cost of the default model: per-clip latency and batch throughput in PyTorch vs ONNX Runtime,
the real-time factor of the streamed timeline, and peak memory on a 1-hour recording.

Weights are random (the recipe's architecture and front-end, untrained): the timings do not depend on them.
Latency is one 3 s clip on 1 thread, waveform in and logits out (front-end + network, the graph that
``ser-zoo export`` writes); throughput is batches of 16. The timeline (``ser_zoo.infer.timeline``: window
3 s, hop 1 s, batches of 16, read block by block from disk) runs on long WAVs written to a temporary folder;
its peak memory is measured in a fresh subprocess (``ru_maxrss`` before and after, plus the tracemalloc
peak), against the size the whole recording would take as float32.
Run:  python benchmarks/infer.py [--config configs/resnet18_ravdess.yaml] [--long_minutes 10]
      [--hour_model mel_cnn] [--memory_minutes 10 60]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
SR, SECONDS, BATCH = 16000, 3.0, 16


def build_module(config: str, model: str | None = None):
    """The recipe's SERModule (model, options, front-end, classes), randomly initialised; eval mode."""
    from ser_zoo.data.labels import EMOTIONS
    from ser_zoo.lit.module import SERModule

    m = yaml.safe_load(Path(config).read_text())["model"]
    kwargs = dict(m.get("model_kwargs") or {}) if model is None else {}
    return SERModule(
        model=model or m["model"],
        model_kwargs=kwargs,
        frontend=m.get("frontend"),
        num_classes=len(EMOTIONS),
        class_names=list(EMOTIONS),
        example_seconds=SECONDS,
    ).eval()


def real_clips(n: int) -> list[np.ndarray]:
    """Up to ``n`` RAVDESS clips at 16 kHz (empty when the corpora are absent)."""
    from ser_zoo.audio import load_audio
    from ser_zoo.data.clips import default_data_root

    files = sorted(Path(default_data_root()).glob("ravdess/Actor_*/*.flac"))[::7][:n]
    return [load_audio(f, SR) for f in files]


def three_second_batch(clips: list[np.ndarray]) -> torch.Tensor:
    n = int(SR * SECONDS)
    rng = np.random.default_rng(0)
    waves = [np.pad(c, (0, max(0, n - len(c))))[:n] for c in clips[:BATCH]]
    waves += [0.1 * rng.standard_normal(n).astype(np.float32) for _ in range(BATCH - len(waves))]
    return torch.from_numpy(np.stack(waves))


def timed(fns: dict, x, warmup: int, runs: int) -> dict[str, np.ndarray]:
    """Seconds per call of each runtime, interleaved run by run so a busy machine slows them alike."""
    for _ in range(warmup):
        for fn in fns.values():
            fn(x)
    out: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(runs):
        for k, fn in fns.items():
            t = time.perf_counter()
            fn(x)
            out[k].append(time.perf_counter() - t)
    return {k: np.array(v) for k, v in out.items()}


def runtimes(module, onnx_path: Path, threads: int) -> dict:
    """name -> callable(waveforms tensor) for PyTorch and ONNX Runtime on ``threads`` threads."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])

    def pytorch(x):
        torch.set_num_threads(threads)
        with torch.inference_mode():
            return module(x)

    return {"PyTorch": pytorch, "ONNX Runtime": lambda x: sess.run(None, {"waveform": x.numpy()})[0]}


def write_long_wav(path: Path, minutes: float, clips: list[np.ndarray]) -> Path:
    """A recording of ``minutes``: the clips back to back (synthetic speech-like noise without them)."""
    if not clips:
        rng = np.random.default_rng(1)
        clips = [
            (0.1 * rng.standard_normal(int(SR * 3.5)) * np.hanning(int(SR * 3.5))).astype(np.float32)
            for _ in range(8)
        ]
    total, i = int(minutes * 60 * SR), 0
    with sf.SoundFile(str(path), "w", SR, 1, subtype="PCM_16") as f:
        written = 0
        while written < total:
            c = clips[i % len(clips)][: total - written]
            f.write(c)
            written += len(c)
            i += 1
    return path


def _rss_mib() -> tuple[float, float]:
    """(current RSS, peak RSS since the last reset) in MiB, from /proc (ru_maxrss for both elsewhere)."""
    try:
        status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
        return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024
    except (OSError, KeyError, ValueError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return peak, peak


def _reset_peak_rss() -> None:
    """Linux: restart the peak-RSS high-water mark, so imports and warm-up do not mask the timeline's peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _rss_after_malloc_trim() -> float | None:
    """RSS once glibc has handed its free pages back: what is still live, without the allocator's slack."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        return None
    return _rss_mib()[0]


def memory_child(config: str, model: str, path: str) -> None:
    """Run in a fresh process: the timeline's time and memory, as one JSON line on stdout."""
    import tracemalloc

    from ser_zoo.infer import timeline

    module = build_module(config, model)
    warm = Path(path).with_suffix(".warm.wav")
    sf.write(warm, sf.read(path, frames=SR * 20, dtype="float32")[0], SR)  # 18 windows: a full batch and 2
    _reset_peak_rss()
    rss_model, _ = _rss_mib()
    timeline(module, warm, progress=False)
    _, warm_peak = _rss_mib()
    warm.unlink()
    _reset_peak_rss()
    rss0, _ = _rss_mib()
    samples, stop = [], threading.Event()

    def sample() -> None:  # RSS over time: flat, or climbing with the recording?
        while not stop.wait(0.25):
            samples.append(_rss_mib()[0])

    sampler = threading.Thread(target=sample, daemon=True)
    tracemalloc.start()
    sampler.start()
    t = time.perf_counter()
    rows, _ = timeline(module, Path(path), 3.0, 1.0, BATCH, progress=False)
    elapsed = time.perf_counter() - t
    stop.set()
    sampler.join()
    _, traced = tracemalloc.get_traced_memory()
    rss_end, rss1 = _rss_mib()
    rss_trimmed = _rss_after_malloc_trim()
    info = sf.info(path)
    quarter = max(1, len(samples) // 4)
    print(
        json.dumps(
            {
                "model": model,
                "audio_s": info.frames / info.samplerate,
                "windows": len(rows),
                "seconds": elapsed,
                "rtf": elapsed / (info.frames / info.samplerate),
                "float32_mib": info.frames * 4 / 2**20,
                "rss_model_mib": rss_model,
                "rss_peak_20s_mib": warm_peak,
                "rss_before_mib": rss0,
                "rss_peak_mib": rss1,
                "rss_median_first_quarter_mib": float(np.median(samples[:quarter])),
                "rss_median_last_quarter_mib": float(np.median(samples[-quarter:])),
                "rss_samples": len(samples),
                "rss_end_mib": rss_end,
                "rss_end_after_malloc_trim_mib": rss_trimmed,
                "tracemalloc_peak_mib": traced / 2**20,
                "threads": torch.get_num_threads(),
            }
        )
    )


def memory_run(config: str, model: str, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--config", config, "--_memory_child", model, str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if out.returncode:
        raise SystemExit(f"memory subprocess failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/resnet18_ravdess.yaml")
    ap.add_argument("--runs", type=int, default=30, help="timed single-clip runs per runtime")
    ap.add_argument("--batch_runs", type=int, default=6, help="timed batches per runtime and thread count")
    ap.add_argument("--long_minutes", type=float, default=10.0, help="recording for the real-time factor")
    ap.add_argument("--hour_model", default="mel_cnn", help="model for the memory runs")
    ap.add_argument(
        "--memory_minutes", type=float, nargs="+", default=[10, 60], help="recordings for the memory runs"
    )
    ap.add_argument("--_memory_child", nargs=2, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._memory_child:
        return memory_child(args.config, *args._memory_child)

    from _env import write_result

    from ser_zoo.export import export_onnx, onnx_parity
    from ser_zoo.infer import timeline

    load = os.getloadavg()
    torch.manual_seed(0)
    module = build_module(args.config)
    name = module.hparams.model
    clips = real_clips(64)
    batch = three_second_batch(clips)
    tmp = Path(tempfile.mkdtemp(prefix="ser_zoo_bench_"))
    result: dict = {
        "config": args.config,
        "model": name,
        "weights": "random init",
        "clips": "RAVDESS" if clips else "synthetic",
        "load_average_at_start": load,
    }
    try:
        onnx_path = export_onnx(module, tmp / f"{name}.onnx").path
        result["onnx_parity_max_abs_logit_diff"] = onnx_parity(module, onnx_path, batch)

        lat = {}
        for rt, s in timed(
            runtimes(module, onnx_path, threads=1), batch[:1], warmup=5, runs=args.runs
        ).items():
            lat[rt] = {
                "median_ms": float(np.median(s)) * 1000,
                "p90_ms": float(np.percentile(s, 90)) * 1000,
                "runs": args.runs,
            }
            print(f"latency {rt}: {lat[rt]['median_ms']:.1f} ms median", flush=True)
        thr = {}
        for threads in (1, 2):
            for rt, s in timed(
                runtimes(module, onnx_path, threads), batch, warmup=1, runs=args.batch_runs
            ).items():
                thr[f"{rt}, {threads} thread{'s' * (threads > 1)}"] = {
                    "clips_per_s": BATCH / float(np.median(s)),
                    "median_batch_s": float(np.median(s)),
                }
        print(f"throughput: {json.dumps(thr)}", flush=True)
        result.update(latency=lat, throughput=thr)

        torch.set_num_threads(os.cpu_count() or 1)
        long_path = write_long_wav(tmp / "long.wav", args.long_minutes, clips)
        t = time.perf_counter()
        rows, _ = timeline(module, long_path, 3.0, 1.0, BATCH, progress=False)
        elapsed = time.perf_counter() - t
        audio_s = args.long_minutes * 60
        result["timeline"] = {
            "model": name,
            "audio_s": audio_s,
            "windows": len(rows),
            "seconds": elapsed,
            "rtf": elapsed / audio_s,
            "threads": torch.get_num_threads(),
        }
        print(f"timeline: {json.dumps(result['timeline'])}", flush=True)
        long_path.unlink()

        mem = []
        for minutes in args.memory_minutes:
            path = write_long_wav(tmp / f"rec_{minutes:g}min.wav", minutes, clips)
            mem.append(memory_run(args.config, args.hour_model, path))
            path.unlink()
            print(f"memory: {json.dumps(mem[-1])}", flush=True)
        result["memory"] = mem
    finally:
        for f in tmp.iterdir():
            f.unlink()
        tmp.rmdir()
    write_result("infer", result, markdown(result, args))


def _flat_sentence(mem: list[dict]) -> str:
    """Live memory (RSS after malloc_trim) and process RSS, shortest vs longest recording, vs audio size."""
    short, long = min(mem, key=lambda m: m["audio_s"]), max(mem, key=lambda m: m["audio_s"])
    keys = ("rss_median_last_quarter_mib", "rss_peak_mib", "rss_end_after_malloc_trim_mib", "float32_mib")
    d = {k: (long[k] or 0) - (short[k] or 0) for k in keys}
    growth = d["rss_median_last_quarter_mib"]
    verdict = (
        "the process RSS stayed flat"
        if growth < max(32.0, 0.1 * d["float32_mib"])
        else "the process RSS did not stay flat (glibc slack: see ser_zoo/memory.py)"
    )
    return (
        f"From {short['audio_s'] / 60:.3g} to {long['audio_s'] / 60:.3g} min the audio as float32 grows by "
        f"{d['float32_mib']:.0f} MiB; the live memory at the end (trimmed RSS) moved "
        f"{d['rss_end_after_malloc_trim_mib']:+.0f} MiB and {verdict}: the last-quarter median moved "
        f"{growth:+.0f} MiB and the peak {d['rss_peak_mib']:+.0f} MiB. `ser_zoo.infer` fixes glibc's "
        "mmap threshold (ser_zoo/memory.py) so freed batch buffers go back to the OS instead of piling up "
        "as slack."
    )


def markdown(r: dict, args) -> str:
    import onnx
    import onnxruntime

    lat, thr, tl = r["latency"], r["throughput"], r["timeline"]
    lines = [
        f"# Inference: {r['model']} latency, throughput, streamed real-time factor, memory",
        "",
        f"Model: `{r['config']}` ({r['model']}, its front-end), **random init** (timing only; weights do "
        f"not change the cost). Inputs: 3 s {r['clips']} clips, waveform in and logits out (front-end + "
        f"network) in both runtimes; the ONNX file is `ser-zoo export`'s (opset 17, front-end inside), max "
        f"abs logit difference {r['onnx_parity_max_abs_logit_diff']:.1e} on these clips (random-init logits "
        f"are small; with a trained model's logit spread `tests/test_export.py` measures 1.2e-4). The "
        f"machine's load average was {r['load_average_at_start'][0]:.2f} at the start (other jobs compete "
        "for the 2 cores, so absolute figures are pessimistic); the runtimes are timed in turn, run by run, "
        "so both see the same load.",
        "",
        "## Latency per 3 s clip, 1 thread",
        "",
        "| runtime | median ms | p90 ms | runs (after 5 warm-up) |",
        "|---|---:|---:|---:|",
        *[f"| {k} | {v['median_ms']:.1f} | {v['p90_ms']:.1f} | {v['runs']} |" for k, v in lat.items()],
        "",
        f"## Batch throughput, batch {BATCH}",
        "",
        f"| runtime, threads | clips/s | median s per batch ({args.batch_runs} runs after 1 warm-up) |",
        "|---|---:|---:|",
        *[f"| {k} | {v['clips_per_s']:.1f} | {v['median_batch_s']:.2f} |" for k, v in thr.items()],
        "",
        "## Streamed timeline (`ser_zoo.infer.timeline`, window 3 s, hop 1 s, batch 16, PyTorch)",
        "",
        "| model | recording | windows | seconds | real-time factor | threads |",
        "|---|---:|---:|---:|---:|---:|",
        f"| {tl['model']} | {tl['audio_s'] / 60:.3g} min | {tl['windows']} | {tl['seconds']:.1f} | "
        f"{tl['rtf']:.3f} | {tl['threads']} |",
        *[
            f"| {m['model']} | {m['audio_s'] / 60:.3g} min | {m['windows']} | {m['seconds']:.1f} | "
            f"{m['rtf']:.3f} | {m['threads']} |"
            for m in r["memory"]
        ],
        "",
        "Real-time factor = processing seconds / audio seconds (below 1: faster than real time).",
        "",
        f"## Peak memory of the streamed timeline ({args.hour_model}, fresh process per recording)",
        "",
        "| recording | whole file as float32 MiB | RSS, model loaded | peak RSS, first 20 s alone | "
        "median RSS, first quarter | median RSS, last quarter | peak RSS, whole recording | "
        "RSS at the end, after malloc_trim | tracemalloc peak |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *[
            f"| {m['audio_s'] / 60:.3g} min | {m['float32_mib']:.0f} | {m['rss_model_mib']:.0f} | "
            f"{m['rss_peak_20s_mib']:.0f} | {m['rss_median_first_quarter_mib']:.0f} | "
            f"{m['rss_median_last_quarter_mib']:.0f} | {m['rss_peak_mib']:.0f} | "
            f"{m['rss_end_after_malloc_trim_mib'] or float('nan'):.0f} | {m['tracemalloc_peak_mib']:.1f} |"
            for m in r["memory"]
        ],
        "",
        "All in MiB. RSS is sampled every 0.25 s during the whole recording; the quarters are its first and "
        "last quarter of samples. `malloc_trim(0)` makes glibc return its free pages, so the last RSS column "
        "is what is still live after the recording (model, results), without allocator slack.",
        "",
        "Peak RSS is the kernel's high-water mark, reset (Linux `/proc/self/clear_refs`) after the model "
        "loads and again before the whole recording, so each column is that step's own peak; the first 20 s "
        "are 18 windows (a batch of 16 and one of 2). The timeline holds one batch of windows at a time. "
        + _flat_sentence(r["memory"])
        + " The memory runs use "
        f"`{args.hour_model}` to keep the 1-hour pass short; the timeline's reading and batching do not "
        "depend on the model. tracemalloc sees Python and NumPy allocations (windows, result rows), "
        "not PyTorch's.",
        "",
        f"Runtimes: onnxruntime {onnxruntime.__version__}, onnx {onnx.__version__}.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
