"""Random draws as functions of (run seed, position), so a resumed or repeated run replays them exactly.

Lightning's checkpoints do not hold RNG states, so after a resume the global generators differ from an
uninterrupted run. Deriving each epoch's order, each clip's crop and each step's dropout/augmentation seed
from the run seed and the position in training makes them independent of where the process started.
"""

from __future__ import annotations

import os

import numpy as np
import torch


def run_seed() -> int:
    """The seed ``seed_everything`` set for this run (``PL_GLOBAL_SEED``; the CLI's default is 0)."""
    try:
        return int(os.environ.get("PL_GLOBAL_SEED", 0)) % 2**32
    except ValueError:
        return 0


def derived_seed(*position: int) -> int:
    """A 63-bit seed for ``(run seed, *position)``; different positions give independent streams."""
    state = np.random.SeedSequence([run_seed(), *(int(p) % 2**32 for p in position)]).generate_state(2)
    return int((int(state[0]) << 31) ^ int(state[1]))


def seed_step(epoch: int, batch_idx: int, rank: int = 0) -> None:
    """Reseed torch (CPU and every GPU) for one training step: dropout, augmentation and mixup draws."""
    torch.manual_seed(derived_seed(1, epoch, batch_idx, rank))
