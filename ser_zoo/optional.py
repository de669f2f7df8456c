"""Optional dependencies, imported only when a feature needs them, with one line naming the extra to
install."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import ModuleType

import torch

from .errors import ConfigError


def import_optional(module: str, extra: str = "pretrained", feature: str = "") -> ModuleType:
    """``import module``; a missing package raises ConfigError saying ``pip install 'ser-zoo[extra]'``.

    Some of these packages change torch's global thread count at import (silero-vad sets it to 1); the count
    is restored so importing a front-end never slows the rest of the process down.
    """
    threads = torch.get_num_threads()
    try:
        return importlib.import_module(module)
    except ImportError as e:
        what = f"{feature} needs " if feature else ""
        raise ConfigError(
            f"{what}the '{module.split('.')[0]}' package ({e.name or module} is not installed); "
            f"install it with: pip install 'ser-zoo[{extra}]'"
        ) from None
    finally:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


def package_file(package: str, relative: str, extra: str = "pretrained", feature: str = "") -> Path:
    """A data file shipped inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        what = f"{feature} needs " if feature else ""
        raise ConfigError(
            f"{what}the '{package}' package, which is not installed; "
            f"install it with: pip install 'ser-zoo[{extra}]'"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise ConfigError(
            f"{path} is missing from the installed '{package}'; reinstall it: "
            f"pip install --force-reinstall 'ser-zoo[{extra}]'"
        )
    return path
