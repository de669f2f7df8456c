"""Callbacks around ``SERModule``: the data module's facts handed to it, replayable training steps, and the
test confusion-matrix files."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Optional, Sequence

import torch
from lightning.pytorch.callbacks import Callback

from ..data.datamodule import SERDataModule
from ..data.sampling import apply_pending_loader_state
from ..errors import ConfigError
from ..features.pretrained_cache import attach_clip_source
from ..finetune import check_unheard
from ..models import takes_input_shape
from ..seeding import seed_step
from ..weights import resolve

log = logging.getLogger("ser_zoo")


def inverse_frequency(labels: Sequence[int], num_classes: int) -> torch.Tensor:
    """Loss weights ``n / (classes * n_c)`` per class c (a class with no clip counts as one clip)."""
    counts = torch.bincount(torch.tensor(labels), minlength=num_classes)
    return (counts.sum() / (counts.clamp(min=1) * len(counts))).float()


class DataModuleFacts(Callback):
    """Hands ``SERModule`` what a set-up ``SERDataModule`` knows, and checks that the two fit each other.

    At each stage's setup (after the data module's): cached pretrained front-ends and encoders get the whole
    clips behind the batch keys; a model with a fixed-size input refuses ``eval_crop: full``; at fit,
    ``class_weights`` gets the training set's class frequencies; at fit and test, an ``init_from`` start must
    not have heard the fold's test speakers. ``SERModule.configure_callbacks`` adds this callback to any
    Trainer.
    """

    def setup(self, trainer, pl_module, stage: str) -> None:
        dm, h = trainer.datamodule, pl_module.hparams
        if not isinstance(dm, SERDataModule):
            self._without_data_module(h, stage)
            return
        attach_clip_source(pl_module, dm.full_clip)
        if takes_input_shape(h.model) and dm.hparams.eval_crop == "full":
            raise ConfigError(
                f"model '{h.model}' has dense layers over a fixed-size input, so it cannot take whole clips; "
                "set data.eval_crop: center"
            )
        if stage == "fit" and h.class_weights:
            weights = inverse_frequency(dm.datasets["train"].labels, h.num_classes)
            pl_module.loss_weight = weights.to(pl_module.loss_weight.device)
        if stage in ("fit", "test") and h.init_from:
            check_unheard(resolve(h.init_from)[1], dm)

    @staticmethod
    def _without_data_module(h, stage: str) -> None:
        """Loaders given directly: class frequencies are unknown and the speaker check cannot run."""
        if stage == "fit" and h.class_weights:
            raise ConfigError(
                "model.class_weights counts the training labels of a SERDataModule: pass one as "
                "trainer.fit(model, datamodule=...) or set class_weights: false"
            )
        if stage in ("fit", "test") and h.init_from:
            log.warning(
                "init_from %s: no SERDataModule, so the check that its test speakers were never heard "
                "by the start's weights cannot run",
                h.init_from,
            )


class ReplayableTraining(Callback):
    """A killed and resumed fit replays the uninterrupted one: dropout, augmentation and mixup draw from
    (seed, epoch, step, rank), and a mid-epoch resume skips the batches already trained on.

    ``SERModule.configure_callbacks`` adds this callback to any Trainer.
    """

    def on_train_start(self, trainer, pl_module) -> None:
        apply_pending_loader_state(trainer)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        seed_step(trainer.current_epoch, batch_idx, trainer.global_rank)


class ConfusionMatrixWriter(Callback):
    """After a test: ``confusion_matrix.png`` (row-normalised colours, counts) and ``test_confusion.json``
    (the module's ``test_results`` and the figure's path) in the run's log folder.

    Args:
        dirpath: where to write; default: ``trainer.log_dir`` (nothing is written when there is none).
    """

    def __init__(self, dirpath: Optional[str] = None):
        self.dirpath = dirpath
        self.png_path: Optional[Path] = None  # the last figure written

    def on_test_end(self, trainer, pl_module) -> None:
        out = self.dirpath or trainer.log_dir  # log_dir broadcasts under DDP: read it on every rank
        if not out or not trainer.is_global_zero:
            return
        from ..plots import plot_confusion_matrix  # matplotlib only when a test actually runs

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        results = pl_module.test_results
        cm, names = results["confusion_matrix"], results["class_names"]
        self.png_path = plot_confusion_matrix(cm, names, out / "confusion_matrix.png")
        saved = {**results, "confusion_matrix_png": str(self.png_path)}
        (out / "test_confusion.json").write_text(json.dumps(saved, indent=1))
