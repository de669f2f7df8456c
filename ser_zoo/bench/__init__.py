"""Leaderboard runs: every fold of a protocol for each model, resumable, one CSV row per model x fold."""

from .runner import run_bench

__all__ = ["run_bench"]
