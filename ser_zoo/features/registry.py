"""The front-end registry: ``@register_frontend`` fills it where each class is defined (timm's
``@register_model``), ``create_frontend`` builds one from a recipe's spec.

Importing ``ser_zoo.features`` imports every front-end module, so the registry is full before any lookup.
Registering a class imports nothing beyond its own module: optional packages (torchcrepe, resemblyzer) load
only when such a front-end is built.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, Callable, TypeVar, Union

from torch import nn

from ..errors import ConfigError

FRONTENDS: dict[str, type[nn.Module]] = {}

FrontEndClass = TypeVar("FrontEndClass", bound=type)


def register_frontend(name: str) -> Callable[[FrontEndClass], FrontEndClass]:
    """Class decorator: register a front-end under ``name``, the name recipes and checkpoints use."""

    def wrap(cls: FrontEndClass) -> FrontEndClass:
        if name in FRONTENDS and FRONTENDS[name] is not cls:
            raise ValueError(f"front-end '{name}' registered twice ({FRONTENDS[name].__qualname__}, {cls})")
        FRONTENDS[name] = cls
        return cls

    return wrap


def list_frontends() -> list[str]:
    """Every registered front-end name, sorted."""
    return sorted(FRONTENDS)


def create_frontend(spec: Union[str, Mapping[str, Any]]) -> nn.Module:
    """Build a front-end from a name or ``{"name": ..., **kwargs}``; a bad name or key is a ConfigError.

    Example:
        >>> create_frontend({"name": "mfcc", "n_mfcc": 13}).output_shape(16000)
        (1, 13, 101)
    """
    if isinstance(spec, str):
        name, kwargs = spec, {}
    elif isinstance(spec, Mapping):
        kwargs = dict(spec)
        name = kwargs.pop("name", None)
    else:
        raise ConfigError(f"front-end spec must be a name or a dict with 'name', got {spec!r}")
    cls = FRONTENDS.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ConfigError(f"unknown front-end {name!r}; use one of {list_frontends()}")
    valid = list(inspect.signature(cls).parameters)
    bad = sorted(set(kwargs) - set(valid))
    if bad:
        raise ConfigError(
            f"front-end {name!r} has no option {', '.join(map(repr, bad))}; valid options: {valid}"
        )
    return cls(**kwargs)
