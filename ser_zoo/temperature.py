"""A checkpoint's or card's ``calibration`` block read back: the temperature its probabilities divide by.

Apart from ``ser_zoo.calibration`` (which fits T and measures calibration error with torchmetrics) so that
loading a model for inference imports neither torchmetrics nor Lightning.
"""

from __future__ import annotations

import math
from typing import Any, Optional

from .errors import SerZooError

#: the key of a ``.ckpt`` and of a zoo card that holds the calibration block (``{"temperature": T, ...}``)
KEY = "calibration"


def temperature_of(block: Optional[dict[str, Any]], where: str) -> float:
    """The temperature of a checkpoint's or card's calibration block; 1.0 (uncalibrated) when it has none."""
    if block is None:
        return 1.0
    t = block.get("temperature") if isinstance(block, dict) else None
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t <= 0:
        raise SerZooError(
            f"{where}: calibration temperature {t!r} is not a positive number; run ser-zoo calibrate again"
        )
    return float(t)
