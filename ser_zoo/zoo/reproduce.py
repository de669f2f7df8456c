"""Re-test a zoo checkpoint on the protocol fold its card names: the check that a published number holds."""

from __future__ import annotations

from typing import Any, Optional

from ..data.datamodule import SERDataModule
from ..errors import ConfigError
from ..models.ensemble import evaluate


def retest(model, root: Optional[str] = None, batch_size: int = 32) -> dict[str, Any]:
    """WA / UA / macro-F1 of a ``load_pretrained`` model on its card's test speakers (the bench's crop)."""
    card = getattr(model, "card", None) or {}
    if "protocol" not in card or "fold" not in card:
        raise ConfigError(
            f"zoo checkpoint '{card.get('name', '?')}' has no protocol/fold in its card; "
            "it cannot be re-tested"
        )
    dm = SERDataModule(
        root=root,
        protocol=card["protocol"],
        fold=int(card["fold"]),
        classes=card.get("classes"),
        batch_size=batch_size,
        num_workers=0,
        **card.get("eval", {}),
    )
    if list(dm.class_names) != list(model.class_names):
        raise ConfigError(
            f"zoo checkpoint '{card['name']}' predicts {model.class_names} but its protocol "
            f"{card['protocol']} gives {dm.class_names}"
        )
    dm.setup("test")
    return evaluate(model, dm, "test")
