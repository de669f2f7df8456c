"""Machine, library versions and git commit recorded beside every benchmark result."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _mem_gib() -> float:
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        return round(kb / 2**20, 1)
    except (OSError, ValueError, IndexError):
        return float("nan")


def _git_commit() -> str:
    try:
        root = Path(__file__).resolve().parents[1]
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout
        dirty = subprocess.run(
            [
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":(exclude)benchmarks/results",
            ],  # earlier results are outputs, not the code measured
            cwd=root,
            capture_output=True,
            text=True,
        ).stdout
        return sha.strip() + ("+dirty" if dirty.strip() else "")
    except OSError:
        return "unknown"


def environment() -> dict:
    import librosa
    import numpy
    import torch
    import torchaudio

    versions = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchaudio": torchaudio.__version__,
        "librosa": librosa.__version__,
        "numpy": numpy.__version__,
    }
    for mod in ("lightning", "timm", "torchvision"):
        try:
            versions[mod] = __import__(mod).__version__
        except ImportError:
            pass
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": {
            "cpu": _cpu_model(),
            "cores": os.cpu_count(),
            "ram_gib": _mem_gib(),
            "gpu": device,
            "torch_threads": torch.get_num_threads(),
            "os": platform.platform(),
        },
        "versions": versions,
        "git_commit": _git_commit(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }


def write_result(name: str, result: dict, markdown: str) -> Path:
    """Write results/<name>.json (numbers + environment) and results/<name>.md (the human table)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    env = environment()
    payload = {**result, "environment": env}
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=1) + "\n")
    m = env["machine"]
    v = env["versions"]
    footer = (
        f"\n\nMachine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, GPU: {m['gpu'] or 'none'}; "
        f"torch threads {m['torch_threads']}.  \nVersions: "
        + ", ".join(f"{k} {val}" for k, val in v.items())
        + f".  \nCommit {env['git_commit']}, {env['date']}.  \nCommand: `{env['command']}`\n"
    )
    path = RESULTS / f"{name}.md"
    path.write_text(markdown.rstrip() + footer)
    return path


def speed_rows(seconds: dict[str, float], n: int, baseline: str, key: str) -> dict[str, dict]:
    """Per-pipeline seconds, clips/s and speed-up over ``baseline`` (stored under ``key``)."""
    base = seconds[baseline]
    return {
        k: {"seconds": round(v, 3), "clips_per_s": round(n / v, 1), key: round(base / v, 2)}
        for k, v in seconds.items()
    }


def speed_table(rows: dict[str, dict], key: str, against: str) -> list[str]:
    """The markdown table of ``speed_rows``."""
    lines = [f"| pipeline | seconds | clips/s | speed-up vs {against} |", "|---|---:|---:|---:|"]
    return lines + [
        f"| {k} | {v['seconds']:.2f} | {v['clips_per_s']:.0f} | {v[key]:.2f}x |" for k, v in rows.items()
    ]
