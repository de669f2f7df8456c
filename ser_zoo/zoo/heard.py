"""Which speakers a zoo checkpoint heard: a protocol fold's, a saved fit's, and its ``init_from`` start's.

A card lists every speaker whose clips trained or validated the weights, so that fine-tuning from it never
tests on one of them (``check_unheard``, which lives in ``ser_zoo.finetune`` beside the fit's own check).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Union

from ..data.clips import default_data_root
from ..data.sources import as_list, class_names, keep_classes, read_sources
from ..data.splits import get_protocol, with_folds
from ..errors import ConfigError
from ..finetune import check_unheard
from ..weights import load_card

__all__ = ["check_unheard", "fold_heard_speakers", "saved_heard_speakers"]


def fold_heard_speakers(
    protocol: str,
    fold: int,
    classes: Optional[str],
    root: Union[str, Path],
    init_from: Optional[str] = None,
    corpora: Optional[Union[str, list[str]]] = None,
    folds: Optional[int] = None,
    label_map: Optional[dict[str, str]] = None,
) -> list[str]:
    """Training and validation speakers of a protocol fold (on ``corpora``, your own folders and manifests
    included, when given), plus everything its ``init_from`` start heard."""
    p = get_protocol(protocol) if folds is None else with_folds(get_protocol(protocol), folds)
    table = read_sources(as_list(corpora) or p.corpora, root, label_map)
    clips = keep_classes(table.clips, class_names(table, classes, p.classes), say=False)
    split = p.split(clips, fold)
    heard = {clips[i].speaker for i in [*split.train, *split.val]}
    if init_from:
        start = load_card(init_from)
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
    """The speakers behind a loaded ``ser-zoo fit`` / ``bench`` checkpoint dict: its saved data module's
    protocol, fold and classes, plus its ``init_from`` start. ``root`` is this machine's data root (the saved
    one may be another machine's)."""
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
        data.get("corpora"),
        data.get("folds"),
        data.get("label_map"),
    )
