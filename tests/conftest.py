"""Shared fixtures: the real corpora beside the repo (skipped cleanly when absent), a private cache."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(os.environ.get("SER_ZOO_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
SR = 16000
REAL_CLIP = SHARED_DATA / "ravdess" / "Actor_01" / "03-01-01-01-01-01-01.flac"


@pytest.fixture(scope="session")
def data_root() -> Path:
    if not (SHARED_DATA / "manifest.csv").is_file():
        pytest.skip(f"real corpora not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session", autouse=True)
def _cache_dir(tmp_path_factory):
    """Tests share one waveform cache (built once per session), never the user's."""
    cache = os.environ.get("SER_ZOO_TEST_CACHE") or str(tmp_path_factory.mktemp("cache"))
    os.environ["SER_ZOO_CACHE"] = cache
    return cache


def smoke_fit(
    data_root,
    tmp_path,
    model: str,
    *,
    model_kwargs=None,
    frontend=None,
    protocol: str = "ravdess-6fold",
    fold: int = 0,
    clip_seconds: float = 3.0,
    limit_clips: int = 16,
    batch_size: int = 8,
    **module_kwargs,
):
    """One epoch of ``model`` on a small real subset, then a test pass; returns (module, test metrics).

    The seed-zoo tests call this so every registered model is shown to train through the same
    LightningModule and data module a recipe uses.
    """
    import lightning as L

    from ser_zoo.data.datamodule import SERDataModule
    from ser_zoo.lit.module import SERModule

    L.seed_everything(0, verbose=False)
    dm = SERDataModule(
        root=str(data_root),
        protocol=protocol,
        fold=fold,
        limit_clips=limit_clips,
        batch_size=batch_size,
        num_workers=0,
        clip_seconds=clip_seconds,
    )
    module = SERModule(
        model=model,
        model_kwargs=model_kwargs,
        frontend=frontend,
        num_classes=dm.num_classes,
        class_names=dm.class_names,
        example_seconds=clip_seconds,
        **module_kwargs,
    )
    trainer = L.Trainer(
        max_epochs=1,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(tmp_path),
    )
    trainer.fit(module, datamodule=dm)
    [metrics] = trainer.test(module, datamodule=dm, verbose=False)
    return module, metrics


def synthetic(seconds: float = 1.5, seed: int = 0) -> np.ndarray:
    """Chirp + its square (skew) + noise + DC: non-trivial for every feature."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    chirp = np.sin(2 * np.pi * (200 * t + 1500 * t**2))
    return (0.5 * chirp + 0.1 * chirp**2 + 0.05 * rng.standard_normal(t.size) + 0.01).astype(np.float32)


def real_clip() -> np.ndarray:
    """A RAVDESS clip as mono float32 (skips when the corpora are absent)."""
    if not REAL_CLIP.is_file():
        pytest.skip(f"real clip not found at {REAL_CLIP}")
    import soundfile as sf

    y, sr = sf.read(str(REAL_CLIP), dtype="float32", always_2d=True)
    assert sr == SR
    return np.ascontiguousarray(y.mean(axis=1))


def benchmark_script(name: str):
    """``benchmarks/<name>.py`` as a module, for tests of its functions (benchmarks/ is not a package)."""
    import importlib.util

    script = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    if str(script.parent) not in sys.path:  # the scripts import their neighbour _env, as when run there
        sys.path.append(str(script.parent))
    spec = importlib.util.spec_from_file_location(name, script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
