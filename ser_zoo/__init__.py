"""ser-zoo: speech emotion recognition models, honest speaker-independent protocols, Lightning training.

The model and zoo API (``ser_zoo.create_model``, ``ser_zoo.load_pretrained``, ...) is imported on first use
(PEP 562), so the ``ser-zoo`` command answers ``--help`` and a mistyped option without loading torch, timm and
Lightning first.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import AudioError, ConfigError, SerZooError

__version__ = "0.1.0"

#: public name -> the submodule that defines it
_LAZY = {
    "create_model": ".models",
    "list_models": ".models",
    "model_entry": ".models",
    "register_model": ".models",
    "list_pretrained": ".zoo",
    "list_zoo": ".zoo",
    "load_pretrained": ".zoo",
    "SERNet": ".models.network",
}

__all__ = [
    "load_pretrained",
    "SERNet",
    "list_pretrained",
    "list_zoo",
    "create_model",
    "list_models",
    "model_entry",
    "register_model",
    "SerZooError",
    "AudioError",
    "ConfigError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
