"""Fine-tuning from a zoo checkpoint (``model.init_from``): which weights carry over, whom they heard.

A new class set keeps the backbone and replaces the head, keeping the rows of the classes the checkpoint
shares with it (matched by name: your labels mapped onto the emotion vocabulary meet the zoo's). A card lists
every speaker whose clips trained or validated the weights (its own fold's, and those of the checkpoint it
started from); a fit from those weights that tests on one of them has seen its test speakers and is no longer
speaker-independent, so ``check_unheard`` stops it before training.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, NamedTuple, Optional, Union

import torch
from torch import nn

from .errors import ConfigError
from .models.speaker_normalized import is_speaker_normalized
from .weights import resolve, verified_state_dict

log = logging.getLogger("ser_zoo")

#: state-dict prefixes of the LightningModule's metrics, which a zoo checkpoint does not carry
METRIC_PREFIXES = ("train_", "val_", "test_", "confmat")


class FineTuneStart(NamedTuple):
    """What a fine-tuning start loaded: the head tensors replaced, the card of the weights, and the classes
    whose head rows came from the checkpoint (the other rows are freshly initialised)."""

    fresh: list[str]
    card: dict[str, Any]
    kept_classes: list[str] = []


def init_from_pretrained(
    module: nn.Module, name_or_path: str, zoo_dir: Optional[Union[str, Path]] = None
) -> FineTuneStart:
    """Fine-tuning start: copy every zoo tensor whose shape fits; a new class set only replaces the head.

    ``module`` is a ``SERModule`` (anything with ``hparams.model``, ``class_names`` and the zoo checkpoint's
    state-dict keys). Tensors whose shapes differ must be classifier ones (leading dimension = the old class
    count); anything else means a different architecture and fails. When the class lists differ, the head's
    rows of the classes both share are copied by name and the others keep their fresh initialisation. Returns
    the head tensors replaced, the card (whose heard speakers the fit checks against its test fold) and the
    classes whose rows were kept.
    """
    weights, card = resolve(name_or_path, zoo_dir)
    if is_speaker_normalized(card):
        raise ConfigError(
            f"init_from '{name_or_path}' is a speaker-normalised linear classifier, not a network to "
            "fine-tune; start from a network checkpoint (ser-zoo zoo list), e.g. general6"
        )
    if card["model"] != module.hparams.model:
        raise ConfigError(
            f"init_from '{name_or_path}' is a {card['model']} but the recipe builds "
            f"{module.hparams.model}; set model.model: {card['model']}"
        )
    state = verified_state_dict(weights, card)
    own = module.state_dict()
    old_names, new_names = list(card["class_names"]), list(getattr(module, "class_names", None) or [])
    if new_names == [str(i) for i in range(len(new_names))]:  # SERModule's placeholders: no names to match
        new_names = []
    fresh = []
    for k, v in list(state.items()):
        if k in own and own[k].shape != v.shape:
            if v.shape[0] != len(old_names) or own[k].shape[1:] != v.shape[1:]:
                raise ConfigError(
                    f"init_from '{name_or_path}': {k} has shape {tuple(v.shape)} but the model "
                    f"expects {tuple(own[k].shape)}; the front-end or model options differ from the card"
                )
            fresh.append(k)
    if new_names and new_names != old_names and not fresh:  # as many classes, other names or order
        fresh = head_tensors(own, len(new_names))
    kept = [c for c in new_names if c in old_names] if fresh else []
    for k in fresh:
        state[k] = shared_rows(own[k], state[k], new_names, old_names)
    missing, unexpected = module.load_state_dict(state, strict=False)
    missing = [k for k in missing if k not in fresh and not k.startswith(METRIC_PREFIXES)]
    if missing or unexpected:
        raise ConfigError(
            f"init_from '{name_or_path}' does not fit: missing {missing[:3]}, unexpected {unexpected[:3]}"
        )
    if fresh:
        log.warning(
            "init_from %s: new class set, head replaced (%s); rows kept for %s, fresh for %s",
            name_or_path,
            ", ".join(fresh),
            ", ".join(kept) or "no class",
            ", ".join(c for c in new_names if c not in kept) or "no class",
        )
    return FineTuneStart(fresh, card, kept)


def head_tensors(state: dict[str, torch.Tensor], num_classes: int) -> list[str]:
    """The classifier's tensors: those of the last layer (in the module's order) whose weight has one row per
    class."""
    layers = [
        k.rsplit(".", 1)[0]
        for k, v in state.items()
        if k.endswith(".weight") and v.dim() >= 1 and not k.startswith(METRIC_PREFIXES)
    ]
    heads = [name for name in layers if state[f"{name}.weight"].shape[0] == num_classes]
    if not heads:
        return []
    return [k for k in state if k.rsplit(".", 1)[0] == heads[-1] and state[k].dim() >= 1]


def shared_rows(
    fresh: torch.Tensor, trained: torch.Tensor, new_names: list[str], old_names: list[str]
) -> torch.Tensor:
    """``fresh`` (the new head's initial tensor) with the rows of the classes ``old_names`` shares copied from
    ``trained``; a class list unknown on either side keeps every fresh row."""
    out = fresh.detach().clone()
    old_row = {name: i for i, name in enumerate(old_names)}
    for i, name in enumerate(new_names):
        if name in old_row:
            out[i] = trained[old_row[name]].to(out.dtype)
    return out


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
