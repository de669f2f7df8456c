"""A benchmark's results/<name>.json and .md, with the machine, versions and commit beside the numbers."""

from __future__ import annotations

import json
from pathlib import Path

from ser_zoo.bench.provenance import environment

__all__ = ["RESULTS", "environment", "speed_rows", "speed_table", "write_result"]

RESULTS = Path(__file__).resolve().parent / "results"


def write_result(name: str, result: dict, markdown: str, command: str | None = None) -> Path:
    """Write results/<name>.json (numbers + environment) and results/<name>.md (the human table); ``command``
    names the measured command when it is not this process's own (a timed run this script started)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    env = environment()
    if command:
        env["command"] = command
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
