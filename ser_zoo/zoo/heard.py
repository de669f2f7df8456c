"""Which speakers a zoo checkpoint heard, so that fine-tuning from it never tests on one of them.

A card lists every speaker whose clips trained or validated the weights: its own fold's, and those of the
checkpoint it started from. A fit that starts from those weights and tests on one of those speakers has
seen its test speakers through the weights and is no longer speaker-independent, so it stops before training.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Optional, Union

from ..errors import ConfigError

log = logging.getLogger("ser_zoo")


def fold_heard_speakers(
    protocol: str, fold: int, classes: Optional[str], root: Union[str, Path], init_from: Optional[str] = None
) -> list[str]:
    """Training and validation speakers of a protocol fold, plus everything the ``init_from`` checkpoint heard."""
    from ..data.corpora import filter_classes, read_corpora
    from ..data.labels import resolve_classes
    from ..data.splits import get_protocol
    from .checkpoints import resolve

    p = get_protocol(protocol)
    clips = filter_classes(read_corpora(p.corpora, root), tuple(resolve_classes(classes or p.classes)))
    split = p.split(clips, fold)
    heard = {clips[i].speaker for i in [*split.train, *split.val]}
    if init_from:
        start = resolve(init_from)[1]
        if "heard_speakers" not in start:
            raise ConfigError(
                f"zoo checkpoint '{start['name']}' does not list the speakers it heard; refresh its "
                "card first (benchmarks/publish_zoo.py --refresh_card)"
            )
        heard |= set(start["heard_speakers"])
    return sorted(heard)


def saved_heard_speakers(
    saved: dict[str, Any], where: Union[str, Path], root: Optional[Union[str, Path]] = None
) -> list[str]:
    """The speakers behind a loaded ``ser-zoo fit`` / ``bench`` checkpoint dict: its saved data module's protocol, fold
    and classes, plus its ``init_from`` start. ``root`` is this machine's data root (the saved one may be another's)."""
    from ..data.datamodule import default_data_root

    data, hp = saved.get("datamodule_hyper_parameters") or {}, saved.get("hyper_parameters") or {}
    if "protocol" not in data or "fold" not in data:
        raise ConfigError(
            f"{where}: no data-module settings saved in it, so the speakers it heard are unknown; use a "
            "checkpoint written by ser-zoo fit or ser-zoo bench"
        )
    return fold_heard_speakers(
        data["protocol"],
        int(data["fold"]),
        data.get("classes"),
        root or default_data_root(),
        hp.get("init_from"),
    )


def check_unheard(card: dict[str, Any], dm: Any, role: str = "model.init_from") -> None:
    """Fail, naming them, when the test speakers of a set-up data module's fold are among those the checkpoint heard.

    ``dm`` is a set-up :class:`~ser_zoo.data.SERDataModule` (anything with ``stage_clips``, ``protocol`` and
    ``hparams.fold``); ``role`` names how the checkpoint is used, for the message.
    """
    test_speakers = {c.speaker for c in dm.stage_clips("test")}
    where = f"{dm.protocol.name} fold {dm.hparams.fold}"
    if "heard_speakers" not in card:
        log.warning(
            "zoo checkpoint '%s' does not list the speakers it heard: cannot check that %s tests on unheard "
            "speakers",
            card.get("name", "?"),
            where,
        )
        return
    overlap = sorted(set(card["heard_speakers"]) & set(test_speakers))
    if overlap:
        shown = ", ".join(overlap[:5]) + (f" and {len(overlap) - 5} more" if len(overlap) > 5 else "")
        raise ConfigError(
            f"{role} '{card['name']}' heard {len(overlap)} of the test speakers of {where} ({shown}); "
            "the result would not be speaker-independent: pick a fold whose test speakers it never "
            f"heard (its card lists heard_speakers) or drop it from {role}"
        )
