"""The LightningModule: front-end, training-only augmentation, network and metrics; one-cycle LR by default.

What surrounds a training step lives in callbacks the module brings itself: ``DataModuleFacts`` hands it
what the data module knows once set up, ``ReplayableTraining`` makes each step's random draws replayable.
``ConfusionMatrixWriter`` saves the test confusion matrix; fit checkpoints load with
``ser_zoo.lit.load_module`` (checked, ``weights_only``). The front-end, network and forward pass are
``ser_zoo.models.network.Classifier``'s, shared with ``SERNet``, the Lightning-free network inference loads.
"""

from __future__ import annotations

import contextlib
from typing import Any, Literal, Optional

import lightning as L
import torch
import torch.nn.functional as F
from torch.optim.lr_scheduler import OneCycleLR, ReduceLROnPlateau
from torchmetrics import MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassRecall,
)

from ..augment import Augmentation
from ..errors import ConfigError
from ..features.pretrained_cache import clip_refs
from ..finetune import init_from_pretrained
from ..models.encoders import optimizer_groups
from ..models.network import Classifier
from ..temperature import KEY as CALIBRATION
from ..temperature import temperature_of
from .callbacks import DataModuleFacts, ReplayableTraining


def stage_metrics(num_classes: int) -> MetricCollection:
    """WA = accuracy, UA = mean per-class recall, F1 = macro-F1 (the SER reporting convention)."""
    return MetricCollection(
        {
            "wa": MulticlassAccuracy(num_classes, average="micro"),
            "ua": MulticlassRecall(num_classes, average="macro"),
            "f1": MulticlassF1Score(num_classes, average="macro"),
        }
    )


class SERModule(Classifier, L.LightningModule):
    """Speech emotion classifier to train: waveform batch in, logits out, metrics per stage (the same network
    as ``SERNet``, key for key, plus augmentation, loss, metrics and optimiser).

    Args:
        model: a registered model name (``ser-zoo models`` / ``ser_zoo.list_models()``).
        model_kwargs: options passed to the model builder (e.g. ``pretrained``, ``weights``).
        frontend: front-end spec ``{"name": ..., **kwargs}``; default: the one the model declares.
        num_classes, class_names: set from the data module by the CLI.
        optimizer: ``adamw`` (default) or ``adam`` (what the ported CNN projects trained with).
        lr: peak learning rate (one-cycle) or initial one (plateau / none).
        scheduler: ``onecycle`` (default), ``plateau`` (ReduceLROnPlateau on val UA) or ``none``.
        class_weights: weight the loss by inverse training-class frequency (counted by ``DataModuleFacts``).
        sample_rate, example_seconds: the clip used to check at construction that front-end and model fit.
        init_from: a zoo checkpoint name or .safetensors path to start from (fine-tuning); a different class
            set keeps the backbone and re-initialises the head.
        augment: training-only augmentation (see ser_zoo.augment.pipeline for the YAML block).
        side_frontend: a second front-end giving one vector per clip (e.g. ``{"name": "voice_embedding"}``,
            the GE2E embedding) whose linear head's logits are added to the net's: late fusion learnt end to
            end, for any model.
        channels_last: keep the net's weights and its 4-d inputs in NHWC memory layout
            (``torch.channels_last``, as timm's ``train.py --channels-last``), which oneDNN convolutions run
            faster on a CPU (docs/training.md); the figures change by float rounding only.
    """

    def __init__(
        self,
        model: str = "resnet18",
        model_kwargs: Optional[dict[str, Any]] = None,
        frontend: Optional[dict[str, Any]] = None,
        num_classes: int = 8,
        class_names: Optional[list[str]] = None,
        optimizer: Literal["adamw", "adam"] = "adamw",
        lr: float = 1e-3,
        weight_decay: float = 1e-2,
        scheduler: Literal["onecycle", "plateau", "none"] = "onecycle",
        pct_start: float = 0.3,
        plateau_patience: int = 3,
        min_lr: float = 1e-7,
        class_weights: bool = False,
        label_smoothing: float = 0.0,
        sample_rate: int = 16000,
        example_seconds: float = 3.0,
        init_from: Optional[str] = None,
        augment: Optional[dict[str, Any]] = None,
        side_frontend: Optional[dict[str, Any]] = None,
        channels_last: bool = False,
    ):
        super().__init__()
        self.save_hyperparameters()
        self._build_parts()
        self.augment = Augmentation(augment, sample_rate, self.class_names)
        self.train_metrics, self.val_metrics, self.test_metrics = (
            stage_metrics(num_classes) for _ in range(3)
        )
        self.confmat = MulticlassConfusionMatrix(num_classes)
        self.register_buffer("loss_weight", torch.ones(num_classes), persistent=False)
        self.test_results: dict[str, Any] = {}
        if init_from:
            init_from_pretrained(self, init_from)

    def _logits(self, batch: dict[str, Any], train: bool):
        """Logits, plus mixup's (partner, own-label weight) in training when mixup is on (else None).

        Frozen pretrained front-ends and encoders read their per-clip cache while the waveform is the batch's
        own (no waveform augmentation or mixup changed it), so an epoch does not rerun CREPE, GE2E or WavLM.
        """
        wave, lengths, mix = batch["audio"], batch["lengths"], None
        if train:
            wave, lengths = self.augment.waveforms(wave, lengths, batch["label"])
            wave, lengths, mix = self.augment.mixup(wave, lengths)
        own = wave is batch["audio"] and "clip" in batch
        with clip_refs(self, batch["clip"], batch["start"]) if own else contextlib.nullcontext():
            feats = self.frontend(wave, lengths)
            if train:
                feats = self.augment.features(feats)
            return self._classify(feats, wave, lengths, {**batch, "lengths": lengths}), mix

    def _loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-clip cross-entropy (class weights, label smoothing), scaled so its mean is the usual loss."""
        per_clip = F.cross_entropy(
            logits,
            target,
            weight=self.loss_weight,
            reduction="none",
            label_smoothing=self.hparams.label_smoothing,
        )
        return per_clip * (len(target) / self.loss_weight[target].sum())

    def _shared_step(self, batch: dict[str, Any], stage: str) -> torch.Tensor:
        logits, mix = self._logits(batch, train=stage == "train")
        target = batch["label"]
        if mix is None:
            loss = self._loss(logits, target).mean()
        else:
            partner, lam = mix
            loss = (lam * self._loss(logits, target) + (1 - lam) * self._loss(logits, target[partner])).mean()
        metrics = getattr(self, f"{stage}_metrics")
        metrics.update(logits, target)
        if stage == "test":
            self.confmat.update(logits, target)
        n, train = len(target), stage == "train"
        # the loss is averaged over every process under DDP; the metrics sync through torchmetrics
        self.log(
            f"{stage}/loss", loss, prog_bar=True, batch_size=n, on_step=train, on_epoch=True, sync_dist=True
        )
        self.log_dict(
            {f"{stage}/{k}": v for k, v in metrics.items()},
            prog_bar=not train,
            batch_size=n,
            on_step=False,
            on_epoch=True,
        )
        return loss

    def training_step(self, batch, batch_idx):
        return self._shared_step(batch, "train")

    def validation_step(self, batch, batch_idx):
        self._shared_step(batch, "val")

    def test_step(self, batch, batch_idx):
        self._shared_step(batch, "test")

    def predict_step(self, batch, batch_idx):
        """Probabilities through a calibrated checkpoint's temperature (``ser-zoo calibrate``), else 1."""
        probs = (self._logits(batch, train=False)[0] / self.temperature).softmax(-1)
        return {"index": batch["index"], "probs": probs, "pred": probs.argmax(-1)}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.temperature = temperature_of(checkpoint.get(CALIBRATION), "checkpoint")

    def on_test_epoch_start(self) -> None:
        self.confmat.reset()

    def on_test_epoch_end(self) -> None:
        """``test_results``: confusion matrix and per-class recall (``ConfusionMatrixWriter`` saves them)."""
        cm = self.confmat.compute().cpu()
        recall = (cm.diag() / cm.sum(1).clamp(min=1)).tolist()
        self.test_results = {
            "confusion_matrix": cm.tolist(),
            "class_names": self.class_names,
            "per_class_recall": dict(zip(self.class_names, recall)),
        }

    def configure_optimizers(self):
        h = self.hparams
        opt_cls = torch.optim.AdamW if h.optimizer == "adamw" else torch.optim.Adam
        opt = opt_cls(optimizer_groups(self, h.lr), lr=h.lr, weight_decay=h.weight_decay)
        if h.scheduler == "onecycle":  # each group peaks at its own rate (layer-wise decay in encoders)
            steps, peaks = int(self.trainer.estimated_stepping_batches), [g["lr"] for g in opt.param_groups]
            sched = OneCycleLR(opt, peaks, total_steps=steps, pct_start=h.pct_start)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
        if h.scheduler == "plateau":  # stepped once per epoch, Lightning's default interval
            sched = ReduceLROnPlateau(
                opt, mode="max", factor=0.5, patience=h.plateau_patience, min_lr=h.min_lr
            )
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "monitor": "val/ua"}}
        return opt

    def on_train_start(self) -> None:
        """A resumed one-cycle run keeps its cycle: a longer schedule would step past the end of it."""
        for config in self.trainer.lr_scheduler_configs:
            sched, wanted = config.scheduler, int(self.trainer.estimated_stepping_batches)
            if isinstance(sched, OneCycleLR) and sched.total_steps < wanted:
                raise ConfigError(
                    f"the resumed run's one-cycle schedule ends at step {sched.total_steps} but "
                    f"trainer.max_epochs asks for {wanted}; resume with the max_epochs it started with, or "
                    "fine-tune a new run from it (ser-zoo zoo export, then --model.init_from)"
                )

    def configure_callbacks(self):
        """The callbacks the module relies on (once per Trainer), so a hand-built Trainer has them too."""
        present = {type(c) for c in self.trainer.callbacks}
        return [cb() for cb in (DataModuleFacts, ReplayableTraining) if cb not in present]
