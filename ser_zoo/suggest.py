"""``did you mean ...?`` for a misspelt name, worded the same for every option, config key, model, recipe,
zoo checkpoint, protocol and class set a user can mistype (difflib's ratio does the matching)."""

from __future__ import annotations

import difflib
from typing import Iterable, Optional


def close_matches(word: str, choices: Iterable[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """Up to ``n`` of ``choices`` close to ``word``, closest first."""
    return difflib.get_close_matches(word, list(choices), n=n, cutoff=cutoff)


def did_you_mean(
    word: Optional[str], choices: Iterable[str], n: int = 3, cutoff: float = 0.6, quote: bool = False
) -> str:
    """``did you mean X or Y?`` for the ``choices`` close to ``word``; ``""`` when none is (or no word).
    ``quote`` writes them as ``'X'`` (config keys, which a shell would not confuse with options)."""
    near = close_matches(word, choices, n, cutoff) if word else []
    return f"did you mean {' or '.join(repr(k) if quote else k for k in near)}?" if near else ""


def hint(
    word: Optional[str], choices: Iterable[str], n: int = 3, cutoff: float = 0.6, quote: bool = False
) -> str:
    """``did_you_mean`` as a clause to put before a message's last part: ``"did you mean X? "`` or ``""``."""
    text = did_you_mean(word, choices, n, cutoff, quote)
    return f"{text} " if text else ""
