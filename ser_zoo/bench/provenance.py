"""Where a benchmark number came from: the git commit, the machine and the library versions."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def git_commit() -> str:
    """The short hash of the checked-out commit (``unknown`` outside a git checkout)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        )
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def git_commit_marked_dirty() -> str:
    """The short hash, with ``+dirty`` when tracked code (results aside) differs from it."""
    try:
        sha = git_commit()
        dirty = subprocess.run(
            [
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":(exclude)benchmarks/results",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout  # earlier results are outputs, not the code measured
        return sha + ("+dirty" if dirty.strip() else "")
    except OSError:
        return "unknown"


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


def environment() -> dict:
    """Date, machine, library versions, commit and command line, recorded beside a benchmark result."""
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
        "git_commit": git_commit_marked_dirty(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }
