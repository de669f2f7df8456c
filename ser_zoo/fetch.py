"""Zoo weights fetched on first use from the URL their card names, into ``$SER_ZOO_HOME/checkpoints``.

The download is ``ser_zoo.data.download``'s: a ``.part`` file that an interrupted run resumes (HTTP
Range), retries, a progress bar, and a rename into the cache only once the file's sha256 matches the card, so
a partial, truncated or substituted download never becomes a cached file. A file lock keeps two processes from
writing the same file. After that the weights load offline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from filelock import FileLock

from .data.download import download_file
from .errors import SerZooError
from .zoo_paths import OFFLINE_VARIABLES, is_offline, zoo_home


def cached_weights(card: dict[str, Any]) -> Path:
    """Where a card's weights are cached: named by checkpoint and sha256, so new weights never meet old."""
    return zoo_home() / "checkpoints" / f"{card['name']}-{card['sha256'][:12]}.safetensors"


def fetch_weights(card: dict[str, Any], progress: bool = True, verify_cached: bool = False) -> Path:
    """The cached weights of ``card``, downloaded first when missing (and re-downloaded when ``verify_cached``
    finds the cached file altered)."""
    dest = cached_weights(card)
    if dest.is_file() and (not verify_cached or is_offline()):
        return dest  # load_pretrained checks its sha256 before reading it
    name, url = card["name"], card.get("url")
    if not url:
        raise SerZooError(
            f"zoo checkpoint '{name}': its weights are not beside its card and the card names no URL; "
            "give the .safetensors path instead"
        )
    if is_offline():
        raise SerZooError(
            f"zoo checkpoint '{name}' is not cached ({dest}) and {'/'.join(OFFLINE_VARIABLES)} forbids "
            f"downloading; run `ser-zoo zoo download {name}` where there is a network and copy "
            f"{zoo_home()} here"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{dest}.lock"):
        try:
            return download_file(url, dest, checksum=f"sha256:{card['sha256']}", progress=progress)
        except SerZooError as e:
            raise SerZooError(f"zoo checkpoint '{name}': {e}") from None
