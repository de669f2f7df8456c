"""Shared fixtures: the real corpora beside the repo (skipped cleanly when absent), a private cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(os.environ.get("SER_ZOO_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


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
