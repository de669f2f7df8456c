"""Zoo checkpoints on disk, read without Lightning: a name's card, and its weights checked against the card.

A zoo checkpoint is ``<name>.safetensors`` beside ``<name>.json`` (its card: everything needed to rebuild the
module, where its weights are published, and their sha256). The cards ship inside the package; weights that
do not (all but the default model's) are fetched on first use into ``$SER_ZOO_HOME`` (``ser_zoo.fetch``), and
a source checkout reads them from ``checkpoints/``. ``hf-hub:ORG/NAME`` names a checkpoint on the Hugging Face
Hub (``ser_zoo.hub``). The weights are read only after their sha256 matches the card, and with safetensors,
which cannot execute code. ``ser_zoo.zoo`` builds modules from these; ``ser_zoo.finetune`` starts a fit from
them. Neither imports the LightningModule's package, so the LightningModule can use both.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Optional, Union

import torch
from safetensors.torch import load_file

from .errors import ConfigError, SerZooError
from .fetch import cached_weights, fetch_weights
from .hub import hub_checkpoint, is_hub_spec
from .suggest import hint
from .zoo_paths import data_dir, zoo_home

#: The cards: the installed package's ``ser_zoo/checkpoints``, or a source checkout's ``checkpoints/``.
ZOO_DIR = data_dir("checkpoints")


def zoo_folder(zoo_dir: Optional[Union[str, Path]] = None) -> Path:
    """``zoo_dir``, else the zoo's cards (``ZOO_DIR``, read at call time: tests move it)."""
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


def list_pretrained(zoo_dir: Optional[Union[str, Path]] = None) -> list[str]:
    """The names ``load_pretrained`` takes (``hf-hub:ORG/NAME`` aside)."""
    return [c["name"] for c in list_zoo(zoo_dir)]


def weights_status(card: dict[str, Any], zoo_dir: Optional[Union[str, Path]] = None) -> str:
    """Where a zoo checkpoint's weights are now: ``here`` (beside the card: in the package or the checkout),
    ``cached`` ($SER_ZOO_HOME) or ``download`` (fetched on first use)."""
    if (zoo_folder(zoo_dir) / f"{card['name']}.safetensors").is_file():
        return "here"
    return "cached" if cached_weights(card).is_file() else "download"


def load_card(name_or_path: str, zoo_dir: Optional[Union[str, Path]] = None) -> dict[str, Any]:
    """The card of a zoo name or a ``.safetensors`` / ``.json`` path, without fetching any weights (an
    ``hf-hub:`` checkpoint's come with its card)."""
    if is_hub_spec(name_or_path):
        return hub_checkpoint(name_or_path)[1]
    return json.loads(_card_path(name_or_path, zoo_dir).read_text())


def resolve(
    name_or_path: str,
    zoo_dir: Optional[Union[str, Path]] = None,
    progress: bool = True,
    verify_cached: bool = False,
) -> tuple[Path, dict[str, Any]]:
    """(weights path, card) for a zoo name, ``hf-hub:ORG/NAME`` or a path to a ``.safetensors`` / ``.json``
    file. A zoo name's weights are downloaded into the cache when neither beside its card nor cached (and
    again when ``verify_cached`` finds the cached file altered)."""
    if is_hub_spec(name_or_path):
        return hub_checkpoint(name_or_path)
    card_path = _card_path(name_or_path, zoo_dir)
    card = json.loads(card_path.read_text())
    weights = card_path.with_suffix(".safetensors")
    if weights.is_file() or Path(name_or_path).suffix in (".safetensors", ".json"):
        return weights, card
    return fetch_weights(card, progress=progress, verify_cached=verify_cached), card


def _card_path(name_or_path: str, zoo_dir: Optional[Union[str, Path]] = None) -> Path:
    p = Path(name_or_path)
    if p.suffix in (".safetensors", ".json"):
        card_path = p.with_suffix(".json")
    else:
        card_path = zoo_folder(zoo_dir) / f"{p.name}.json"
    if not card_path.is_file():
        names = [c["name"] for c in list_zoo(zoo_dir)]
        raise ConfigError(
            f"no zoo checkpoint '{name_or_path}' (looked for {card_path}); {hint(p.name, names)}"
            f"available: {names} or hf-hub:ORG/NAME, or a path to a .safetensors file with its .json card "
            "beside it"
        )
    return card_path


def verified_state_dict(weights: Path, card: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The state dict in fp32, after checking the file's sha256 against its card."""
    if not weights.is_file():
        raise SerZooError(f"{weights}: weights file missing; re-fetch the checkpoint")
    digest = sha256_file(weights)
    if digest != card["sha256"]:
        cached = zoo_home().resolve() in weights.resolve().parents
        fix = f"`ser-zoo zoo download {card['name']}` fetches it again" if cached else "re-fetch it"
        raise SerZooError(
            f"{weights}: sha256 {digest} does not match its card ({card['sha256']}); the file is truncated "
            f"or altered: {fix}"
        )
    try:
        state = load_file(str(weights))
    except Exception as e:
        raise SerZooError(f"{weights}: not a readable safetensors file ({str(e).splitlines()[0]})") from None
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
