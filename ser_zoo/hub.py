"""Zoo checkpoints on the Hugging Face Hub: ``hf-hub:ORG/NAME`` (or ``hf-hub:ORG/NAME@REVISION``) is a
repository holding ``model.safetensors`` and ``card.json``, as ``ser-zoo zoo push`` uploads them.

Both files come through ``huggingface_hub`` (the ``hub`` extra) and its cache, so its settings apply as usual:
``HF_HOME`` / ``HF_HUB_CACHE`` (where), ``HF_TOKEN`` (private repositories), ``HF_HUB_OFFLINE=1`` (cache only,
as ``SER_ZOO_OFFLINE=1`` also asks) and ``HF_ENDPOINT`` (a mirror; read at call time here, so it also works
when set after ``huggingface_hub`` was imported).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional

from .errors import ConfigError, SerZooError
from .optional import import_optional
from .zoo_paths import HUB_CARD, HUB_WEIGHTS, is_offline

PREFIX = "hf-hub:"


def is_hub_spec(spec: str) -> bool:
    return str(spec).startswith(PREFIX)


def parse_hub_spec(spec: str) -> tuple[str, Optional[str]]:
    """``hf-hub:ORG/NAME@REVISION`` -> (``ORG/NAME``, ``REVISION`` or None)."""
    repo_id, _, revision = spec[len(PREFIX) :].partition("@")
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise ConfigError(f"{spec}: write a Hub checkpoint as hf-hub:ORG/NAME (optionally @REVISION)")
    return repo_id, revision or None


def hub_endpoint() -> Optional[str]:
    """``$HF_ENDPOINT`` now (None: huggingface_hub's own default)."""
    return os.environ.get("HF_ENDPOINT", "").rstrip("/") or None


def hub_checkpoint(spec: str) -> tuple[Path, dict[str, Any]]:
    """(weights file in the Hugging Face cache, card) of ``hf-hub:ORG/NAME``; downloads both unless cached."""
    hf = import_optional("huggingface_hub", extra="hub", feature=spec)
    repo_id, revision = parse_hub_spec(spec)
    where = dict(repo_id=repo_id, revision=revision, endpoint=hub_endpoint(), library_name="ser-zoo")
    try:
        card_file = hf.hf_hub_download(filename=HUB_CARD, local_files_only=is_offline(), **where)
        weights = hf.hf_hub_download(filename=HUB_WEIGHTS, local_files_only=is_offline(), **where)
    except hf.errors.LocalEntryNotFoundError:
        why = "offline mode is on" if is_offline() else "the Hub could not be reached"
        raise SerZooError(
            f"{spec}: not in the Hugging Face cache and {why}; load it once with a network "
            "(or `ser-zoo zoo download` it there) and copy the cache ($HF_HOME) here"
        ) from None
    except hf.errors.RepositoryNotFoundError:
        raise SerZooError(f"{spec}: no such Hub repository (or a private one: set HF_TOKEN)") from None
    except hf.errors.RevisionNotFoundError:
        raise SerZooError(f"{spec}: the repository has no revision {revision!r}") from None
    except hf.errors.RemoteEntryNotFoundError:
        raise SerZooError(
            f"{spec}: the repository has no {HUB_CARD} + {HUB_WEIGHTS}; is it a ser-zoo checkpoint "
            "(ser-zoo zoo push)?"
        ) from None
    except (hf.errors.HfHubHTTPError, OSError) as e:
        raise SerZooError(f"{spec}: download failed ({str(e).splitlines()[0]})") from None
    try:
        card = json.loads(Path(card_file).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SerZooError(f"{spec}: {HUB_CARD} is not a JSON card ({e})") from None
    missing = [k for k in ("name", "model", "frontend", "class_names", "sha256") if k not in card]
    if missing:
        raise SerZooError(f"{spec}: {HUB_CARD} lacks {', '.join(missing)}; is it a ser-zoo checkpoint?")
    return Path(weights), card
