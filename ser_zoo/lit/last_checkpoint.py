"""``last.ckpt`` that really is the latest state: written after every validation and every N training steps.

Lightning 2.6 writes ``ModelCheckpoint(save_last=True)`` only when a top-k checkpoint is saved at the same
step, so once val UA stops improving, ``last.ckpt`` is the best epoch, not the latest, and a resume would go
back in time. This callback owns ``last.ckpt`` instead (no monitor, one file, overwritten through
Lightning's atomic save), so ``ser-zoo fit ... --ckpt_path last`` after a kill loses at most
``every_n_train_steps`` steps.
"""

from __future__ import annotations

from typing import Any, Optional

from lightning.pytorch.callbacks import ModelCheckpoint


class LastCheckpoint(ModelCheckpoint):
    """``<checkpoint dir>/last.ckpt`` after each validation (epoch end) and every ``every_n_train_steps``.

    Args:
        every_n_train_steps: mid-epoch save interval in optimizer steps (0: epoch ends only).
        dirpath: default: the run's ``checkpoints/`` folder, beside the best-on-validation checkpoint.
    """

    def __init__(self, every_n_train_steps: int = 50, dirpath: Optional[str] = None):
        super().__init__(
            dirpath=dirpath,
            filename=self.CHECKPOINT_NAME_LAST,
            monitor=None,
            save_top_k=1,
            save_last=False,
            every_n_train_steps=max(0, every_n_train_steps) or None,
            every_n_epochs=1 if every_n_train_steps <= 0 else None,
            enable_version_counter=False,
        )
        # ModelCheckpoint takes one trigger at construction but honours both: epoch ends and every N steps
        self._every_n_epochs = 1

    def on_train_batch_end(self, trainer, pl_module, outputs: Any, batch: Any, batch_idx: int) -> None:
        # the epoch-end save follows right after validation; saving here too would make Lightning skip that
        # one (same global step), so a resume would miss this epoch's validation, early-stopping and
        # best-model update
        if trainer.fit_loop.epoch_loop.batch_progress.is_last_batch:
            return
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
