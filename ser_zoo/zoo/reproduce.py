"""Re-test a zoo checkpoint on the protocol fold its card names: the check that a published number holds.

A card records the checkpoint's prediction for every test clip (``test_predictions``), so the number can be
checked in two cheap halves: the recorded predictions give the card's UA (no audio decoded), and the weights
still give the recorded predictions on a sample of the clips (a few seconds instead of a whole fold).
"""

from __future__ import annotations

import hashlib
from typing import Any, NamedTuple, Optional

from ..data.corpora import Clip
from ..data.datamodule import SERDataModule
from ..errors import ConfigError
from ..models.classical import classification_metrics
from ..models.ensemble import evaluate

#: predicted class indices are written one character each, so a card holds thousands of them compactly
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def card_data_module(card: dict, root: Optional[str] = None, **overrides: Any) -> SERDataModule:
    """The data module of the card's protocol fold, with the evaluation settings the bench row used."""
    if "protocol" not in card or "fold" not in card:
        raise ConfigError(
            f"zoo checkpoint '{card.get('name', '?')}' has no protocol/fold in its card; "
            "it cannot be re-tested"
        )
    kwargs = {"batch_size": 32, "num_workers": 0, **card.get("eval", {}), **overrides}
    return SERDataModule(
        root=root, protocol=card["protocol"], fold=int(card["fold"]), classes=card.get("classes"), **kwargs
    )


def retest(
    model, root: Optional[str] = None, batch_size: int = 32, limit_clips: Optional[int] = None
) -> dict[str, Any]:
    """WA / UA / macro-F1 of a ``load_pretrained`` model on its card's test speakers (the bench's crop), and
    its prediction per test clip id (``predicted``); ``limit_clips`` tests a fixed random subset only."""
    card = getattr(model, "card", None) or {}
    dm = card_data_module(card, root, batch_size=batch_size, limit_clips=limit_clips)
    if list(dm.class_names) != list(model.class_names):
        raise ConfigError(
            f"zoo checkpoint '{card['name']}' predicts {model.class_names} but its protocol "
            f"{card['protocol']} gives {dm.class_names}"
        )
    dm.setup("test")
    out = evaluate(model, dm, "test")
    out["predicted"] = dict(zip((c.id for c in dm.stage_clips("test")), out.pop("predictions")))
    return out


def _clips_digest(clip_ids: list[str]) -> str:
    return hashlib.sha256("\n".join(clip_ids).encode()).hexdigest()


def prediction_record(retested: dict[str, Any]) -> dict[str, str]:
    """The card's ``test_predictions``: the fold's test clips (a digest of their ids, in order) and the class
    index predicted for each, one character per clip."""
    ids = list(retested["predicted"])
    return {
        "clips_sha256": _clips_digest(ids),
        "predicted": "".join(_DIGITS[retested["predicted"][i]] for i in ids),
    }


class RecordedTest(NamedTuple):
    """A card's recorded test predictions beside the fold's clips and labels, in the fold's order."""

    clips: list[Clip]
    labels: list[int]
    predicted: list[int]
    class_names: list[str]


def recorded_test(card: dict, root: Optional[str] = None) -> RecordedTest:
    """The card's ``test_predictions`` matched to its protocol fold's test clips (no audio is run through the
    model); ConfigError when the card has none or the clips here are not the ones it recorded."""
    record = card.get("test_predictions")
    if not record:
        raise ConfigError(
            f"zoo checkpoint '{card.get('name', '?')}' records no test predictions; "
            "re-test it whole (ser_zoo.zoo.reproduce.retest) or republish it"
        )
    dm = card_data_module(card, root)
    dm.setup("test")
    clips = dm.stage_clips("test")
    ids = [c.id for c in clips]
    if _clips_digest(ids) != record["clips_sha256"] or len(ids) != len(record["predicted"]):
        raise ConfigError(
            f"zoo checkpoint '{card['name']}': the test clips of {card['protocol']} fold {card['fold']} "
            "are not the ones its card recorded (another data root or corpus version?)"
        )
    predicted = [_DIGITS.index(ch) for ch in record["predicted"]]
    return RecordedTest(clips, list(dm.datasets["test"].labels), predicted, list(dm.class_names))


def check_card(model, root: Optional[str] = None, sample: int = 64) -> dict[str, Any]:
    """Check a card's test figure without re-testing the whole fold.

    Returns ``ua``/``wa``/``f1`` computed from the card's recorded predictions against the fold's labels, and
    ``agree``/``sampled``: how many of ``sample`` fixed test clips the weights, run now, predict as recorded.
    """
    card = getattr(model, "card", None) or {}
    test = recorded_test(card, root)
    out = classification_metrics(test.predicted, test.labels, test.class_names)
    recorded = {c.id: p for c, p in zip(test.clips, test.predicted)}
    now = retest(model, root, limit_clips=sample)["predicted"]
    out["agree"] = sum(recorded[i] == p for i, p in now.items())
    out["sampled"] = len(now)
    return out
