"""The LightningModule: front-end + (augmentation hook) + network + torchmetrics, one-cycle LR."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Literal, Optional, Union

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from torchmetrics import MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassRecall,
)

from ..augment import Augmentation
from ..errors import ConfigError
from ..features import create_frontend
from ..features.pretrained_cache import attach_clip_source, clip_refs
from ..models import create_model, model_entry, takes_input_shape
from ..seeding import seed_step

log = logging.getLogger("ser_zoo")


def stage_metrics(num_classes: int) -> MetricCollection:
    """WA = accuracy, UA = mean per-class recall, F1 = macro-F1 (the SER reporting convention)."""
    return MetricCollection(
        {
            "wa": MulticlassAccuracy(num_classes, average="micro"),
            "ua": MulticlassRecall(num_classes, average="macro"),
            "f1": MulticlassF1Score(num_classes, average="macro"),
        }
    )


class SERModule(L.LightningModule):
    """Speech emotion classifier: waveform batch in, logits out, metrics per stage.

    Args:
        model: a registered model name (``ser-zoo zoo models`` / ``ser_zoo.list_models()``).
        model_kwargs: options passed to the model builder (e.g. ``pretrained``, ``weights``).
        frontend: front-end spec ``{"name": ..., **kwargs}``; default: the one the model declares.
        num_classes, class_names: set from the data module by the CLI.
        lr: peak learning rate (one-cycle) or initial one (plateau / none).
        scheduler: ``onecycle`` (default), ``plateau`` (ReduceLROnPlateau on val UA) or ``none``.
        optimizer: ``adamw`` (default) or ``adam`` (the seeds' choice).
        class_weights: weight the loss by inverse training-class frequency.
        example_seconds: clip length used to check at construction that front-end and model fit.
        init_from: a zoo checkpoint name or .safetensors path to start from (fine-tuning); a different class
            set keeps the backbone and re-initialises the head.
        augment: training-only augmentation (see ser_zoo.augment.pipeline for the YAML block).
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
    ):
        super().__init__()
        self.save_hyperparameters()
        entry = model_entry(model)
        self.frontend_spec = dict(frontend or entry.frontend)
        self.frontend = create_frontend(self.frontend_spec)
        self.augment = Augmentation(augment, sample_rate)
        model_kwargs = dict(model_kwargs or {})
        if takes_input_shape(model) and "input_shape" not in model_kwargs:
            model_kwargs["input_shape"] = tuple(
                self.frontend.output_shape(int(sample_rate * example_seconds))
            )
        try:
            self.net = create_model(model, num_classes, **model_kwargs)
        except (
            RuntimeError,
            ValueError,
        ) as e:  # a fixed-input net sized from a front-end output it cannot take
            raise ConfigError(
                f"model '{model}' cannot take front-end '{self.frontend_spec.get('name')}' output of "
                f"shape {model_kwargs.get('input_shape')}: {str(e).splitlines()[0]}"
            ) from None
        self.class_names = list(class_names or [str(i) for i in range(num_classes)])
        if len(self.class_names) != num_classes:
            raise ConfigError(f"class_names has {len(self.class_names)} names but num_classes={num_classes}")
        self._check_fit(entry.input_kind, int(sample_rate * example_seconds))
        self._init_card: Optional[dict[str, Any]] = None  # the zoo card of the fine-tuning start
        if init_from:
            from ..zoo import init_from_pretrained

            fresh, self._init_card = init_from_pretrained(self, init_from)
            if fresh:
                log.warning(
                    "init_from %s: new class set, head re-initialised (%s)", init_from, ", ".join(fresh)
                )
        self.train_metrics, self.val_metrics, self.test_metrics = (
            stage_metrics(num_classes) for _ in range(3)
        )
        self.confmat = MulticlassConfusionMatrix(num_classes)
        self.register_buffer("loss_weight", torch.ones(num_classes), persistent=False)
        self.test_results: dict[str, Any] = {}

    def _check_fit(self, input_kind: str, num_samples: int) -> None:
        """Fail at construction, naming both sides, when the front-end's output cannot feed the model."""
        name, fe = self.hparams.model, self.frontend_spec.get("name")
        if getattr(self.frontend, "kind", input_kind) != input_kind:
            raise ConfigError(
                f"model '{name}' takes {input_kind} input but front-end '{fe}' gives {self.frontend.kind}"
            )
        shape = tuple(self.frontend.output_shape(num_samples))
        try:
            was_training = self.net.training
            self.net.eval()
            with torch.no_grad():
                self.net(torch.zeros(1, *shape))
            self.net.train(was_training)
        except (RuntimeError, ValueError) as e:
            raise ConfigError(
                f"model '{name}' cannot take front-end '{fe}' output of shape {shape}: "
                f"{str(e).splitlines()[0]}"
            ) from None

    # -- forward ---------------------------------------------------------------------------------
    def augment_waveform(
        self, wave: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Training-only hook on the device-side waveform batch (the recipe's ``augment`` block)."""
        return self.augment.waveforms(wave, lengths)

    def augment_features(self, feats: torch.Tensor) -> torch.Tensor:
        """Training-only hook on the device-side feature batch (SpecAugment masks)."""
        return self.augment.features(feats)

    def forward(
        self, wave: torch.Tensor, lengths: Optional[torch.Tensor] = None, **extra: torch.Tensor
    ) -> torch.Tensor:
        """Logits for a waveform batch; ``extra`` holds per-clip inputs a net declares (e.g. ``gender``)."""
        return self.net(self.frontend(wave, lengths), **self._extra_inputs({"lengths": lengths, **extra}))

    def _extra_inputs(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Per-clip side inputs the net lists in ``extra_inputs`` (absent ones are left to the net's default)."""
        return {k: batch[k] for k in getattr(self.net, "extra_inputs", ()) if batch.get(k) is not None}

    def _logits(self, batch: dict[str, torch.Tensor], train: bool):
        """Logits, plus mixup's (partner, own-label weight) in training when mixup is on (else None)."""
        wave, lengths, mix = batch["audio"], batch["lengths"], None
        if train:
            wave, lengths = self.augment_waveform(wave, lengths)
            wave, lengths, mix = self.augment.mixup(wave, lengths)
        feats = self._features(wave, lengths, batch)
        if train:
            feats = self.augment_features(feats)
        return self.net(feats, **self._extra_inputs({**batch, "lengths": lengths})), mix

    def _features(self, wave: torch.Tensor, lengths: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
        """Front-end output; frozen pretrained parts read their per-clip cache when ``wave`` is the batch's own
        (no waveform augmentation or mixup changed it), so an epoch does not rerun CREPE or GE2E."""
        if wave is batch.get("audio") and "clip" in batch:
            with clip_refs(self.frontend, batch["clip"], batch["start"]):
                return self.frontend(wave, lengths)
        return self.frontend(wave, lengths)

    @torch.no_grad()
    def predict_batch(self, waves: list[np.ndarray]) -> list[dict[str, Any]]:
        """Predictions for mono waveforms already at the model's sample rate (see ``predict``)."""
        sr = self.hparams.sample_rate
        width = max(len(w) for w in waves)
        if takes_input_shape(self.hparams.model):
            width = int(sr * self.hparams.example_seconds)
            waves = [w[max(0, (len(w) - width) // 2) :][:width] for w in waves]
        lengths = torch.tensor([len(w) for w in waves])
        batch = torch.zeros(len(waves), width)
        for i, w in enumerate(waves):
            batch[i, : len(w)] = torch.from_numpy(np.asarray(w, dtype=np.float32))
        was_training = self.training
        self.eval()
        probs = self(batch.to(self.device), lengths.to(self.device)).softmax(-1).cpu()
        self.train(was_training)
        return [
            {
                "label": self.class_names[int(p.argmax())],
                "prob": float(p.max()),
                "probs": dict(zip(self.class_names, map(float, p))),
            }
            for p in probs
        ]

    @torch.no_grad()
    def predict(self, audio: Union[str, Path, np.ndarray, torch.Tensor], sample_rate: Optional[int] = None):
        """Emotion of a file path or a waveform ((T,) or (B, T) at ``sample_rate``, default the model's).

        Returns ``{"label", "prob", "probs": {class: p}}``, or a list of them for a (B, T) batch. Models with a
        fixed-size input see the centre ``example_seconds`` (zero-padded if shorter); the others the whole clip.
        """
        from ..audio import load_audio, prepare_waveform

        sr = self.hparams.sample_rate
        if isinstance(audio, (str, Path)):
            waves, single = [load_audio(audio, sr)], True
        else:
            arr = audio.detach().cpu().numpy() if isinstance(audio, torch.Tensor) else np.asarray(audio)
            single = arr.ndim == 1
            waves = [prepare_waveform(row, sample_rate or sr, sr) for row in (arr[None] if single else arr)]
        out = self.predict_batch(waves)
        return out[0] if single else out

    # -- steps -----------------------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        dm = self.trainer.datamodule if self._trainer is not None else None
        attach_clip_source(self.frontend, getattr(dm, "full_clip", None))  # whole clips for cached front-ends
        crop = getattr(getattr(dm, "hparams", None), "eval_crop", None)
        if takes_input_shape(self.hparams.model) and crop == "full":
            raise ConfigError(
                f"model '{self.hparams.model}' has dense layers over a fixed-size input, so it cannot "
                "take whole clips; set data.eval_crop: center"
            )
        if (
            self._init_card is not None
            and stage in ("fit", "test")
            and hasattr(dm, "stage_clips")
            and "test" in getattr(dm, "datasets", {})
        ):
            from ..zoo.heard import check_unheard

            check_unheard(self._init_card, dm)

    def on_fit_start(self) -> None:
        dm = getattr(self.trainer, "datamodule", None)
        if self.hparams.class_weights and dm is not None and "train" in getattr(dm, "datasets", {}):
            counts = torch.bincount(
                torch.tensor(dm.datasets["train"].labels), minlength=self.hparams.num_classes
            )
            self.loss_weight = (counts.sum() / (counts.clamp(min=1) * len(counts))).float().to(self.device)

    def _shared_step(self, batch, stage: str) -> torch.Tensor:
        logits, mix = self._logits(batch, train=stage == "train")
        loss = self._loss(logits, batch["label"])
        if mix is not None:
            partner, lam = mix
            loss = (lam * loss + (1 - lam) * self._loss(logits, batch["label"][partner])).mean()
        else:
            loss = loss.mean()
        metrics = getattr(self, f"{stage}_metrics")
        metrics.update(logits, batch["label"])
        if stage == "test":
            self.confmat.update(logits, batch["label"])
        bs = batch["label"].shape[0]
        self.log(
            f"{stage}/loss",
            loss,
            prog_bar=True,
            batch_size=bs,
            on_step=stage == "train",
            on_epoch=True,
            sync_dist=True,
        )  # mean over every process under DDP (the metrics sync through torchmetrics)
        self.log_dict(
            {f"{stage}/{k}": v for k, v in metrics.items()},
            prog_bar=stage != "train",
            batch_size=bs,
            on_step=False,
            on_epoch=True,
        )
        return loss

    def _loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-clip cross-entropy (class weights and label smoothing from the recipe), normalised like the mean."""
        per_clip = F.cross_entropy(
            logits,
            target,
            weight=self.loss_weight,
            reduction="none",
            label_smoothing=self.hparams.label_smoothing,
        )
        return per_clip * (len(target) / self.loss_weight[target].sum())

    def on_train_start(self) -> None:
        from ..data.sampling import apply_pending_loader_state

        apply_pending_loader_state(self.trainer)  # mid-epoch resume: skip the batches already trained on

    def on_train_batch_start(self, batch, batch_idx: int) -> None:
        """Dropout, augmentation and mixup draw from (seed, epoch, step, rank): a resumed run replays them."""
        seed_step(self.current_epoch, batch_idx, self.global_rank)

    def training_step(self, batch, batch_idx):
        return self._shared_step(batch, "train")

    def validation_step(self, batch, batch_idx):
        self._shared_step(batch, "val")

    def test_step(self, batch, batch_idx):
        self._shared_step(batch, "test")

    def predict_step(self, batch, batch_idx):
        probs = self._logits(batch, train=False)[0].softmax(-1)
        return {"index": batch["index"], "probs": probs, "pred": probs.argmax(-1)}

    def on_test_epoch_start(self) -> None:
        self.confmat.reset()

    def on_test_epoch_end(self) -> None:
        cm = self.confmat.compute().cpu()
        recall = (cm.diag() / cm.sum(1).clamp(min=1)).tolist()
        self.test_results = {
            "confusion_matrix": cm.tolist(),
            "class_names": self.class_names,
            "per_class_recall": dict(zip(self.class_names, recall)),
        }
        log_dir = self.trainer.log_dir if self.trainer is not None else None
        if log_dir and self.trainer.is_global_zero:
            from ..plots import plot_confusion_matrix  # matplotlib only when a test actually runs

            out = Path(log_dir)
            out.mkdir(parents=True, exist_ok=True)
            self.test_results["confusion_matrix_png"] = str(
                plot_confusion_matrix(cm, self.class_names, out / "confusion_matrix.png")
            )
            (out / "test_confusion.json").write_text(json.dumps(self.test_results, indent=1))

    # -- checkpoints -----------------------------------------------------------------------------
    @classmethod
    def load_from_checkpoint(
        cls,
        checkpoint_path,
        map_location=None,
        hparams_file=None,
        strict=None,
        weights_only: Optional[bool] = None,
        **kwargs,
    ):
        """Lightning's loader behind a check of the file (see ``lit/safe_ckpt.py``), ``weights_only=True`` unless
        a caller asks otherwise: a truncated, damaged or code-carrying ``.ckpt`` fails with one line naming it."""
        import pickle

        from .safe_ckpt import check_checkpoint, unpickle_refused

        path = (
            check_checkpoint(checkpoint_path) if isinstance(checkpoint_path, (str, Path)) else checkpoint_path
        )
        # A fine-tuned checkpoint holds all its weights: its zoo starting point is neither loaded again nor needed.
        kwargs.setdefault("init_from", None)
        try:
            return super().load_from_checkpoint(
                path,
                map_location=map_location,
                hparams_file=hparams_file,
                strict=strict,
                weights_only=True if weights_only is None else weights_only,
                **kwargs,
            )
        except pickle.UnpicklingError as e:
            raise unpickle_refused(path, e) from None

    # -- optimisation ----------------------------------------------------------------------------
    def configure_optimizers(self):
        h = self.hparams
        opt_cls = torch.optim.AdamW if h.optimizer == "adamw" else torch.optim.Adam
        opt = opt_cls(self.parameters(), lr=h.lr, weight_decay=h.weight_decay)
        if h.scheduler == "onecycle":
            sched = torch.optim.lr_scheduler.OneCycleLR(
                opt,
                max_lr=h.lr,
                pct_start=h.pct_start,
                total_steps=int(self.trainer.estimated_stepping_batches),
            )
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
        if h.scheduler == "plateau":
            sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
                opt, mode="max", factor=0.5, patience=h.plateau_patience, min_lr=h.min_lr
            )
            return {
                "optimizer": opt,
                "lr_scheduler": {"scheduler": sched, "monitor": "val/ua", "interval": "epoch"},
            }
        return opt
