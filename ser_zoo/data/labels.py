"""The canonical emotion vocabulary and the class sets the protocols and the reproduced systems use."""

from __future__ import annotations

from ..errors import ConfigError
from ..suggest import hint

#: Canonical order; every corpus maps its own codes onto these names.
EMOTIONS: tuple[str, ...] = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")

#: Named class sets. ``emotions6`` is SER-FusionNet's four-corpus set (calm and surprised dropped),
#: ``emotions7`` the Mel/MFCC CNN and CRNN article's (calm dropped), ``emotions8`` RAVDESS's full set.
CLASS_SETS: dict[str, tuple[str, ...]] = {
    "emotions8": EMOTIONS,
    "emotions7": tuple(e for e in EMOTIONS if e != "calm"),
    "emotions6": tuple(e for e in EMOTIONS if e not in ("calm", "surprised")),
}


def resolve_classes(classes: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """A class-set name or an explicit list, validated against the vocabulary."""
    if isinstance(classes, str):
        if classes not in CLASS_SETS:
            raise ConfigError(
                f"unknown class set '{classes}'; {hint(classes, CLASS_SETS)}use one of {sorted(CLASS_SETS)} "
                "or a list of emotions"
            )
        return CLASS_SETS[classes]
    unknown = [c for c in classes if c not in EMOTIONS]
    if unknown or not classes:
        raise ConfigError(f"unknown emotions {unknown or '[]'} in classes; valid names: {list(EMOTIONS)}")
    return tuple(classes)
