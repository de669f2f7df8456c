"""A timm-style model registry: ``@register_model`` fills it, ``create_model`` builds from it.

Each entry declares the front-end it expects, so a recipe can name only the model and still get
consistent features.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import inspect
from typing import Any, Callable

from torch import nn

from ..errors import ConfigError


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    name: str
    builder: Callable[..., nn.Module]
    frontend: dict[str, Any]  # default front-end spec: {"name": ..., **kwargs}
    input_kind: str  # "image" (B, C, F, T), "sequence" (B, C, N) or "vector" (B, D)
    description: str
    source: str  # which seed or paper it reproduces


_REGISTRY: dict[str, ModelEntry] = {}
_PREFIXES: dict[str, Callable[[str], ModelEntry]] = {}  # "timm/" -> entry factory for any timm backbone


def register_prefix(prefix: str, factory: Callable[[str], ModelEntry]) -> None:
    """Names ``prefix + rest`` resolve through ``factory(rest)``: a whole model family without one entry each."""
    _PREFIXES[prefix] = factory


def register_model(
    name: str, *, frontend: dict[str, Any], input_kind: str = "image", description: str = "", source: str = ""
):
    """Decorator: register ``fn(num_classes, **kwargs) -> nn.Module`` under ``name``."""

    def wrap(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY:
            raise ValueError(f"model '{name}' registered twice")
        _REGISTRY[name] = ModelEntry(
            name, fn, dict(frontend), input_kind, description or (fn.__doc__ or "").strip(), source
        )
        return fn

    return wrap


def list_models(pattern: str = "*") -> list[str]:
    """Registered model names matching a shell-style pattern, e.g. ``list_models("resnet*")``."""
    return sorted(n for n in _REGISTRY if fnmatch.fnmatch(n, pattern))


def model_entry(name: str) -> ModelEntry:
    for prefix, factory in _PREFIXES.items():
        if name.startswith(prefix) and name not in _REGISTRY:
            return factory(name[len(prefix) :])
    if name not in _REGISTRY:
        raise ConfigError(f"unknown model '{name}'; use one of {list_models()} or 'timm/<backbone>'")
    return _REGISTRY[name]


def takes_input_shape(name: str) -> bool:
    """Models with dense layers over a fixed-size input take ``input_shape`` (C, F, T) / (C, N) / (D,);
    the LightningModule fills it from its front-end so a recipe never states it by hand."""
    return "input_shape" in inspect.signature(model_entry(name).builder).parameters


def create_model(name: str, num_classes: int, **kwargs: Any) -> nn.Module:
    """Build a registered model; unknown keyword arguments fail with the valid ones listed."""
    entry = model_entry(name)
    params = inspect.signature(entry.builder).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(kwargs) - set(params))
        if unknown:
            valid = [p for p in params if p != "num_classes"]
            raise ConfigError(f"model '{name}' has no option(s) {unknown}; valid options: {valid}")
    return entry.builder(num_classes=num_classes, **kwargs)
