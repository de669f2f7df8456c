"""The model catalogue ``ser-zoo models`` prints: each registered model with its front-end, size and
provenance, then the scikit-learn baselines."""

from __future__ import annotations

import textwrap
from typing import Any

from ..errors import ConfigError
from .registry import PARAM_COUNT_CLASSES, PARAM_COUNT_SAMPLES, list_models, model_entry
from .sources import TIMM

INPUT_SHAPES = {
    "image": "image (B, C, F, T)",
    "sequence": "sequence (B, C, N)",
    "vector": "vector (B, D)",
    "waveform": "waveform (B, T) and its lengths",
}
WIDTH, INDENT = 110, 14


def frontend_label(spec: Any) -> str:
    """A front-end spec as a call: ``{"name": "mfcc", "n_mfcc": 40}`` -> ``mfcc(n_mfcc=40)``."""
    if isinstance(spec, dict) and "name" in spec:
        args = ", ".join(f"{k}={frontend_label(v)}" for k, v in spec.items() if k != "name")
        return f"{spec['name']}({args})" if args else spec["name"]
    if isinstance(spec, (list, tuple)):
        return "[" + ", ".join(frontend_label(v) for v in spec) + "]"
    return repr(spec)


def _field(label: str, text: str) -> str:
    return textwrap.fill(
        text, WIDTH, initial_indent=f"  {label:<{INDENT - 2}}", subsequent_indent=" " * INDENT
    )


def _params(entry) -> str:
    try:
        return f"{entry.num_params:,}"
    except ConfigError as e:  # an optional package is missing (transformers, for the Whisper encoders)
        return f"not counted: {e}"


def model_block(name: str) -> str:
    """One model's entry: name, description, front-end, input kind, parameters and provenance."""
    entry = model_entry(name)
    src = entry.source
    lines = [
        name,
        _field("", entry.description),
        _field("front-end", frontend_label(entry.frontend)),
        _field("input", INPUT_SHAPES.get(entry.input_kind, entry.input_kind)),
        _field("params", _params(entry)),
        _field("source", str(src)),
        _field("url", src.url or "none"),
        _field("licence", src.licence),
    ]
    if src.note:
        lines.append(_field("note", src.note))
    return "\n".join(lines)


def baseline_lines() -> list[str]:
    """The scikit-learn baselines: name, estimator as configured, and where each comes from."""
    from .classical import BASELINE_ORIGINS, BASELINES, DEFAULT_FEATURES  # scikit-learn loads only here

    lines = [
        f"scikit-learn baselines (BSD-3-Clause) on clip vectors ({DEFAULT_FEATURES});",
        "run with `ser-zoo bench --models NAME`:",
    ]
    for name, make in sorted(BASELINES.items()):
        lines.append(f"{name:<20} {' '.join(repr(make()).split())}")
        lines.append(f"{'':<20} {BASELINE_ORIGINS[name]}")
    return lines


def model_table() -> str:
    """Every registered model, one block each, then the scikit-learn baselines (``ser-zoo models``)."""
    header = (
        f"Registered models. params: the model built for its own front-end on a "
        f"{PARAM_COUNT_SAMPLES // 16000} s 16 kHz clip, {PARAM_COUNT_CLASSES} classes. Any timm image model "
        f"also runs as timm/<name> ({TIMM.title}, {TIMM.licence}, {TIMM.url})."
    )
    blocks = [textwrap.fill(header, WIDTH)] + [model_block(name) for name in list_models()]
    return "\n\n".join(blocks + ["\n".join(baseline_lines())])
