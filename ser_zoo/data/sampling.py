"""Training batches a killed run can resume mid-epoch: a per-epoch seeded order and a loader whose position
is saved in the checkpoint.

Lightning restores its loops from a checkpoint but, for a plain DataLoader, restarts the interrupted epoch's
data from the top (and warns). ``ResumableLoader`` implements Lightning's stateful-loader interface
(``state_dict`` / ``load_state_dict``): the checkpoint records how many batches of which epoch were served,
and the resumed run skips exactly those. With ``EpochShuffle`` the order of epoch e depends only on (seed, e),
so the skipped batches are the ones the killed run trained on.
"""

from __future__ import annotations

import itertools
from typing import Any, Iterator, Optional, Sequence

import numpy as np
from torch.utils.data import DataLoader, Sampler

from ..errors import ConfigError
from ..seeding import derived_seed


def check_balance(balance: float) -> float:
    """``balance`` as a float in [0, 1], else a one-line ConfigError naming ``data.balance_corpora``."""
    if not 0.0 <= balance <= 1.0:
        raise ConfigError(
            f"data.balance_corpora={balance}; use 0 (corpora as they are) to 1 (each drawn equally often)"
        )
    return float(balance)


def balanced_order(groups: Sequence[str], balance: float, rng: np.random.Generator) -> np.ndarray:
    """One epoch's indices, as many as there are items, each group drawn in proportion to
    ``n_g ** (1 - balance)``.

    ``balance`` 0 keeps the groups' sizes, 1 draws every group equally often; in between is temperature
    sampling (as multilingual speech models mix languages). A group drawn more often than it has items repeats
    whole shuffled passes; one drawn less often gives a different subset each epoch.
    """
    _, member_of, sizes = np.unique(np.asarray(groups), return_inverse=True, return_counts=True)
    share = sizes.astype(float) ** (1.0 - balance)
    share *= len(member_of) / share.sum()
    quota = np.floor(share).astype(int)
    short = len(member_of) - int(quota.sum())
    quota[np.argsort(quota - share, kind="stable")[:short]] += 1  # the largest remainders round up
    picks = []
    for g, q in enumerate(quota):
        members = np.flatnonzero(member_of == g)
        passes = -(-int(q) // len(members))
        picks.append(np.concatenate([rng.permutation(members) for _ in range(passes)])[:q])
    return rng.permutation(np.concatenate(picks))


class EpochShuffle(Sampler):
    """Indices in an order drawn from (run seed, epoch), each paired with its epoch for the clip's crop.

    Lightning calls ``set_epoch`` at every epoch start (through its DDP wrapper too), so epoch e is ordered
    the same whether the run started at epoch 0 or resumed at e. With ``groups`` (each item's corpus) and
    ``balance`` > 0 the epoch is drawn by :func:`balanced_order` instead of permuted; it keeps its length.
    """

    def __init__(
        self, size: int, shuffle: bool = True, groups: Optional[Sequence[str]] = None, balance: float = 0.0
    ):
        if groups is not None and len(groups) != size:
            raise ValueError(f"{len(groups)} group labels for {size} items")
        self.size, self.shuffle, self.epoch = size, shuffle, 0
        self.groups, self.balance = groups, check_balance(balance)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[tuple[int, int]]:
        rng = np.random.default_rng(derived_seed(0, self.epoch))
        if not self.shuffle:
            order = range(self.size)
        elif self.groups is not None and self.balance > 0.0:
            order = balanced_order(self.groups, self.balance, rng)
        else:
            order = rng.permutation(self.size)
        return iter([(int(i), self.epoch) for i in order])


class _SkipFirst:
    """The loader's batch sampler, starting ``loader._skip`` batches in (read when an epoch's iteration
    starts)."""

    def __init__(self, batches: Any, loader: "ResumableLoader"):
        self.batches, self.loader = batches, loader

    def __len__(self) -> int:
        return len(self.batches)  # the whole epoch: Lightning counts the skipped batches as done

    def __iter__(self):
        skip, self.loader._skip = self.loader._skip, 0
        return itertools.islice(iter(self.batches), skip, None)


class ResumableLoader(DataLoader):
    """A DataLoader whose place in the epoch goes into Lightning checkpoints and is skipped to on resume.

    Skipping happens at the index level, so the skipped clips are never loaded. Iteration is lazy: the epoch's
    order is drawn at the first batch, after Lightning has called ``set_epoch``.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._position = {"epoch": 0, "batches": 0}
        self._resume: Optional[dict[str, int]] = None
        self._skip = 0

    @property
    def _index_sampler(self):
        return _SkipFirst(super()._index_sampler, self)

    def __iter__(self):
        return self._serve()

    def _serve(self):
        epoch = int(getattr(self.sampler, "epoch", 0))
        resume, self._resume = self._resume, None
        start = int(resume["batches"]) if resume and int(resume["epoch"]) == epoch else 0
        self._skip = start
        self._position = {"epoch": epoch, "batches": start}
        for batch in super().__iter__():
            self._position["batches"] += 1
            yield batch

    def state_dict(self) -> dict[str, int]:
        return dict(self._position)

    def load_state_dict(self, state: dict[str, int]) -> None:
        self._resume = dict(state)


def apply_pending_loader_state(trainer) -> None:
    """Hand the checkpoint's loader position to the train loader (call from ``on_train_start``).

    Lightning drops it when the train loader was built before the checkpoint's loops were restored, which
    ``trainer.estimated_stepping_batches`` (our one-cycle schedule) does:
    Lightning-AI/pytorch-lightning#20550. The loader iterates lazily, so handing the state over before the
    first batch is enough.
    """
    fit_loop = trainer.fit_loop
    pending = getattr(fit_loop, "_combined_loader_states_to_load", None)
    if pending and fit_loop._combined_loader is not None:
        fit_loop._combined_loader._load_state_dicts(pending)
        fit_loop._combined_loader_states_to_load = []
