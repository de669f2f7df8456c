"""Zoo checkpoints on disk, read without Lightning: a name's card, and its weights checked against the card.

A zoo checkpoint is ``<name>.safetensors`` beside ``<name>.json`` (its card: everything needed to rebuild the
module, and the weights' sha256). The weights are read only after their sha256 matches the card, and with
safetensors, which cannot execute code. ``ser_zoo.zoo`` builds modules from these; ``ser_zoo.finetune``
starts a fit from them. Neither imports the LightningModule's package, so the LightningModule can use both.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Optional, Union

import torch
from safetensors.torch import load_file

from .errors import ConfigError, SerZooError

ZOO_DIR = Path(__file__).resolve().parents[1] / "checkpoints"


def zoo_folder(zoo_dir: Optional[Union[str, Path]] = None) -> Path:
    """``zoo_dir``, else the repository's ``checkpoints/`` (``ZOO_DIR``, read at call time: tests move it)."""
    return Path(zoo_dir or ZOO_DIR)


def sha256_file(path: Union[str, Path]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def list_zoo(zoo_dir: Optional[Union[str, Path]] = None) -> list[dict[str, Any]]:
    """The cards of every checkpoint in the zoo folder."""
    return [json.loads(p.read_text()) for p in sorted(zoo_folder(zoo_dir).glob("*.json"))]


def resolve(name_or_path: str, zoo_dir: Optional[Union[str, Path]] = None) -> tuple[Path, dict[str, Any]]:
    """(weights path, card) for a zoo name or a path to a ``.safetensors`` / ``.json`` file."""
    p = Path(name_or_path)
    if p.suffix in (".safetensors", ".json"):
        card_path = p.with_suffix(".json")
    else:
        card_path = zoo_folder(zoo_dir) / f"{p.name}.json"
    if not card_path.is_file():
        names = [c["name"] for c in list_zoo(zoo_dir)]
        raise ConfigError(
            f"no zoo checkpoint '{name_or_path}' (looked for {card_path}); available: {names} "
            "or give a path to a .safetensors file with its .json card beside it"
        )
    card = json.loads(card_path.read_text())
    return card_path.with_suffix(".safetensors"), card


def verified_state_dict(weights: Path, card: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The state dict in fp32, after checking the file's sha256 against its card."""
    if not weights.is_file():
        raise SerZooError(f"{weights}: weights file missing; re-fetch the checkpoint")
    digest = sha256_file(weights)
    if digest != card["sha256"]:
        raise SerZooError(
            f"{weights}: sha256 {digest[:12]}… does not match its card ({card['sha256'][:12]}…); "
            "the file is truncated or altered, re-fetch it"
        )
    try:
        state = load_file(str(weights))
    except Exception as e:
        raise SerZooError(f"{weights}: not a readable safetensors file ({str(e).splitlines()[0]})") from None
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
