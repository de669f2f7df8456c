"""Fine-tuning from a zoo checkpoint (``model.init_from``): which weights carry over, whom they heard.

A new class set keeps the backbone and re-initialises the head. A card lists every speaker whose clips trained
or validated the weights (its own fold's, and those of the checkpoint it started from); a fit from those
weights that tests on one of them has seen its test speakers and is no longer speaker-independent, so
``check_unheard`` stops it before training.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, NamedTuple, Optional, Union

from torch import nn

from .errors import ConfigError
from .weights import resolve, verified_state_dict

log = logging.getLogger("ser_zoo")

#: state-dict prefixes of the LightningModule's metrics, which a zoo checkpoint does not carry
METRIC_PREFIXES = ("train_", "val_", "test_", "confmat")


class FineTuneStart(NamedTuple):
    """What a fine-tuning start loaded: the tensors left freshly initialised and the card of the weights."""

    fresh: list[str]
    card: dict[str, Any]


def init_from_pretrained(
    module: nn.Module, name_or_path: str, zoo_dir: Optional[Union[str, Path]] = None
) -> FineTuneStart:
    """Fine-tuning start: copy every zoo tensor whose shape fits; a new class set only replaces the head.

    ``module`` is a ``SERModule`` (anything with ``hparams.model`` and the zoo checkpoint's state-dict keys).
    Tensors whose shapes differ must be classifier ones (leading dimension = the old class count); anything
    else means a different architecture and fails. Returns the names left freshly initialised and the card
    (whose heard speakers the fit checks against its test fold).
    """
    weights, card = resolve(name_or_path, zoo_dir)
    if card["model"] != module.hparams.model:
        raise ConfigError(
            f"init_from '{name_or_path}' is a {card['model']} but the recipe builds "
            f"{module.hparams.model}; set model.model: {card['model']}"
        )
    state = verified_state_dict(weights, card)
    own = module.state_dict()
    old_classes = len(card["class_names"])
    fresh = []
    for k, v in list(state.items()):
        if k in own and own[k].shape != v.shape:
            if v.shape[0] != old_classes:
                raise ConfigError(
                    f"init_from '{name_or_path}': {k} has shape {tuple(v.shape)} but the model "
                    f"expects {tuple(own[k].shape)}; the front-end or model options differ from the card"
                )
            del state[k]
            fresh.append(k)
    missing, unexpected = module.load_state_dict(state, strict=False)
    missing = [k for k in missing if k not in fresh and not k.startswith(METRIC_PREFIXES)]
    if missing or unexpected:
        raise ConfigError(
            f"init_from '{name_or_path}' does not fit: missing {missing[:3]}, unexpected {unexpected[:3]}"
        )
    if fresh:
        log.warning("init_from %s: new class set, head re-initialised (%s)", name_or_path, ", ".join(fresh))
    return FineTuneStart(fresh, card)


def check_unheard(card: dict[str, Any], dm: Any, role: str = "model.init_from") -> None:
    """Fail, naming them, when the test speakers of a set-up data module's fold are among those the checkpoint
    heard.

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
