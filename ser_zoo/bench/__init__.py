"""Leaderboard runs: every fold of a protocol for each model, resumable, one CSV row per model x fold; suites
name those runs as data."""

from .runner import run_bench
from .suite import run_suite

__all__ = ["run_bench", "run_suite"]
