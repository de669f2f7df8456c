"""A timm-style model registry: ``@register_model`` fills it, ``create_model`` builds from it.

Each entry declares the front-end it expects, so a recipe can name only the model and still get
consistent features, and where the architecture comes from (paper or repository, URL, licence), like a
timm pretrained cfg.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import inspect
from typing import Any, Callable

import torch
from torch import nn

from ..errors import ConfigError
from ..suggest import hint
from .sources import ModelSource

#: The example a parameter count is taken on: the entry's own front-end on 3 s at 16 kHz, 8 classes
#: (RAVDESS's full set, SERModule's default). Only models sized from their input depend on the clip length.
PARAM_COUNT_SAMPLES, PARAM_COUNT_CLASSES = 3 * 16000, 8


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    """One registered model: how to build it, what it reads, and where it comes from.

    Args:
        name (str): Registry name, e.g. ``"mfcc_cnn"``.
        builder (Callable[..., nn.Module]): ``builder(num_classes, **kwargs)`` returns the network.
        frontend (dict): Default front-end spec ``{"name": ..., **kwargs}``.
        input_kind (str): ``"image"`` (B, C, F, T), ``"sequence"`` (B, C, N) or ``"vector"`` (B, D).
        description (str): One line on what the network is.
        source (ModelSource): Paper or repository, URL and licence of the architecture.
    """

    name: str
    builder: Callable[..., nn.Module]
    frontend: dict[str, Any]
    input_kind: str
    description: str
    source: ModelSource

    @functools.cached_property
    def num_params(self) -> int:
        """Parameters of the model built for its default front-end, a 3 s 16 kHz clip and 8 classes
        (computed on first use: building VGG16 takes a moment)."""
        kwargs: dict[str, Any] = {}
        if "input_shape" in inspect.signature(self.builder).parameters:
            from ..features import create_frontend

            kwargs["input_shape"] = tuple(create_frontend(self.frontend).output_shape(PARAM_COUNT_SAMPLES))
        with torch.device("meta"):  # shapes only: no weights allocated or initialised
            model = self.builder(num_classes=PARAM_COUNT_CLASSES, **kwargs)
        return sum(p.numel() for p in model.parameters())


_REGISTRY: dict[str, ModelEntry] = {}
_PREFIXES: dict[str, Callable[[str], ModelEntry]] = {}  # "timm/" -> entry factory for any timm backbone


def register_prefix(prefix: str, factory: Callable[[str], ModelEntry]) -> None:
    """Names ``prefix + rest`` resolve through ``factory(rest)``: a model family without one entry each."""
    _PREFIXES[prefix] = factory


def register_model(
    name: str,
    *,
    frontend: dict[str, Any],
    source: ModelSource,
    input_kind: str = "image",
    description: str = "",
):
    """Decorator: register ``fn(num_classes, **kwargs) -> nn.Module`` under ``name``, where ``fn`` is defined.

    Args:
        name (str): Registry name; registering it twice is an error.
        frontend (dict): Default front-end spec ``{"name": ..., **kwargs}``.
        source (ModelSource): Paper or repository, URL and licence of the architecture.
        input_kind (str, optional): ``"image"``, ``"sequence"`` or ``"vector"``. (Default: ``"image"``)
        description (str, optional): One line on the network; the first docstring line if empty.
            (Default: ``""``)
    """

    def wrap(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY:
            raise ValueError(f"model '{name}' registered twice")
        summary = (fn.__doc__ or "").strip().splitlines()[:1]
        _REGISTRY[name] = ModelEntry(
            name, fn, dict(frontend), input_kind, description or "".join(summary), source
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
        near = hint(name, list_models())
        raise ConfigError(f"unknown model '{name}'; {near}use one of {list_models()} or 'timm/<backbone>'")
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
