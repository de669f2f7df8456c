"""``ser-zoo predict`` output: one CSV row per clip with its true label, prediction and probabilities."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Optional

from lightning.pytorch.callbacks import BasePredictionWriter


class PredictionWriter(BasePredictionWriter):
    """Writes ``predictions.csv`` into the run's log dir (or ``output_dir``) when prediction ends."""

    def __init__(self, output_dir: Optional[str] = None, filename: str = "predictions.csv"):
        super().__init__(write_interval="epoch")
        self.output_dir, self.filename = output_dir, filename
        self.path: Optional[Path] = None

    def write_on_epoch_end(self, trainer, pl_module, predictions, batch_indices) -> None:
        if not trainer.is_global_zero or not predictions:
            return
        batches = predictions[0] if predictions and isinstance(predictions[0], list) else predictions
        loaders = trainer.predict_dataloaders
        dataset = (loaders[0] if isinstance(loaders, (list, tuple)) else loaders).dataset
        clips, labels = getattr(dataset, "clips", None), getattr(dataset, "labels", None)
        names = list(pl_module.class_names)
        out = Path(self.output_dir or trainer.log_dir or ".")
        out.mkdir(parents=True, exist_ok=True)
        self.path = out / self.filename
        with self.path.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["clip_id", "corpus", "speaker", "label", "pred", "prob", *[f"p_{n}" for n in names]])
            for b in batches:
                for i, probs, pred in zip(b["index"].tolist(), b["probs"].tolist(), b["pred"].tolist()):
                    clip = clips[i] if clips is not None else None
                    w.writerow(
                        [
                            clip.id if clip else i,
                            clip.corpus if clip else "",
                            clip.speaker if clip else "",
                            names[labels[i]] if labels is not None else "",
                            names[pred],
                            f"{probs[pred]:.4f}",
                            *[f"{p:.4f}" for p in probs],
                        ]
                    )
