"""Where an encoder's weights come from, and reading them without surprises.

``model_kwargs.weights`` names one of:

* a local Hugging Face model folder, or a file in one (``config.json`` beside ``model.safetensors`` or
  ``pytorch_model.bin``, sharded or not): its ``config.json`` decides the architecture, so any size loads;
* a state-dict file (``.safetensors``, ``.pt``, ``.pth``, ``.bin``) in torchaudio's layout (what torchaudio's
  bundles download) or, for Whisper, transformers' ``WhisperEncoder`` layout, loaded into the model's named
  architecture or ``model_kwargs.arch``;
* an http(s) or file URL of such a file, downloaded once into the ser-zoo cache (``models.transfer``);
* a torchaudio bundle name such as ``WAVLM_BASE_PLUS``, which torchaudio downloads when the machine is online.

Nothing else is ever fetched. A file that does not fit the architecture fails with one line naming it, never a
silent partial load; tensors are read with safetensors or ``torch.load(weights_only=True)``, never unpickled.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import torch
from torch import nn

from ...errors import ConfigError, SerZooError
from ..transfer import resolve_weights

#: A folder's weight files, in the order transformers prefers them.
HF_WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
BUNDLE_NAME = re.compile(r"^[A-Z][A-Z0-9_]+$")


@dataclass(frozen=True)
class Location:
    """What ``weights`` names: ``kind`` is ``"hf"`` (a folder), ``"file"`` or ``"bundle"`` (``name``)."""

    kind: str
    path: Optional[Path] = None
    name: str = ""


def locate(weights: str) -> Location:
    """A Hugging Face folder, a state-dict file (a URL downloaded first) or a torchaudio bundle name."""
    if urllib.parse.urlparse(weights).scheme in ("http", "https", "file"):
        return Location("file", resolve_weights(weights))
    path = Path(os.path.expandvars(weights)).expanduser()
    if not path.exists() and BUNDLE_NAME.match(weights):
        return Location("bundle", name=weights)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise SerZooError(
                f"weights folder {path} has no config.json; give a Hugging Face model folder (config.json "
                "beside model.safetensors or pytorch_model.bin) or a state-dict file"
            )
        return Location("hf", path)
    if path.is_file():
        if path.name == "config.json" or (
            path.name in HF_WEIGHT_FILES and (path.parent / "config.json").is_file()
        ):
            return Location("hf", path.parent)
        return Location("file", path)
    raise SerZooError(
        f"weights not found: {path}; give a Hugging Face model folder, a state-dict file, an http(s) URL or "
        "a torchaudio bundle name such as WAVLM_BASE_PLUS"
    )


def read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise SerZooError(f"{path}: not a readable JSON file ({str(e).splitlines()[0]})") from None


def read_tensors(path: Path, keep: Callable[[str], bool] = lambda k: True) -> dict[str, torch.Tensor]:
    """The tensors of one state-dict file (safetensors, or a torch file read with ``weights_only``)."""
    try:
        if path.suffix == ".safetensors":
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as f:
                return {k: f.get_tensor(k) for k in f.keys() if keep(k)}
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:  # a legacy (non-zip) torch file cannot be memory-mapped
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch and safetensors raise many types; the message names the file
        raise SerZooError(
            f"cannot read weights {path} ({str(e).strip().splitlines()[0][:160]}); give a safetensors or "
            "torch state dict, or a Hugging Face model folder"
        ) from None
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise SerZooError(f"weights {path} hold no state dict (a mapping of names to tensors)")
    return {k: v for k, v in obj.items() if keep(k)}


def folder_tensors(folder: Path, keep: Callable[[str], bool] = lambda k: True) -> dict[str, torch.Tensor]:
    """A Hugging Face folder's tensors (its weights sharded or not); only those ``keep`` accepts are read."""
    for name in HF_WEIGHT_FILES:
        path = folder / name
        if not path.is_file():
            continue
        if name.endswith(".index.json"):
            shards = sorted(set(read_json(path).get("weight_map", {}).values()))
            return {k: v for shard in shards for k, v in read_tensors(folder / shard, keep).items()}
        return read_tensors(path, keep)
    raise SerZooError(f"{folder}: no weights file (looked for {', '.join(HF_WEIGHT_FILES)})")


def load_exact(
    module: nn.Module, state: dict[str, torch.Tensor], source: Any, model: str, hint: str = ""
) -> None:
    """Load every tensor of ``module`` from ``state``, or fail with one line naming ``source``."""
    try:
        missing, unexpected = module.load_state_dict(state, strict=False)
    except RuntimeError as e:  # a size mismatch: another size or family of model
        detail = " ".join(str(e).split())
        detail = detail.split("size mismatch for ", 1)[-1][:200]
        raise SerZooError(
            f"weights {source} do not fit model '{model}': size mismatch for {detail}{hint}"
        ) from None
    if missing or unexpected:
        example = sorted(missing)[:2] or sorted(unexpected)[:2]
        raise SerZooError(
            f"weights {source} do not fit model '{model}': {len(missing)} missing and {len(unexpected)} "
            f"unexpected keys (e.g. {example}){hint}"
        )


@contextlib.contextmanager
def quiet_loggers(*names: str) -> Iterator[None]:
    """Silence the given loggers meanwhile (transformers and torchaudio narrate a load at warning level)."""
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def check_model_type(folder: Path, config: dict[str, Any], family: str, model: str, title: str) -> None:
    """A folder of another model family fails here, before anything is loaded."""
    found = config.get("model_type")
    if found != family:
        raise ConfigError(
            f"{folder}: config.json says model_type {found!r}, but model '{model}' is {title} "
            f"(model_type {family!r}); pick the zoo model of that family or another folder"
        )


def no_bundle(name: str, model: str) -> ConfigError:
    return ConfigError(
        f"model '{model}' has no torchaudio bundle {name!r}; give a Hugging Face model folder or a "
        "state-dict file instead"
    )
