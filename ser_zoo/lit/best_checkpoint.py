"""Test the best-on-validation checkpoint with the weights that validation scored, right after its fit.

With a weight-averaging callback (``EMAWeightAveraging``, SWA) validation scores the averaged weights and the
checkpoint's ``state_dict`` holds them, the raw ones riding along as ``current_model_state`` so a fit can
resume. Lightning's callback, still attached after ``fit``, loads those raw weights back on ``test``: the test
would score a model that no validation ever chose. Dropping it first makes the test read the averaged weights,
as a separate ``ser-zoo test --ckpt_path`` does.
"""

from __future__ import annotations

from lightning.pytorch.callbacks import WeightAveraging


def score_best_checkpoint(trainer, model, datamodule) -> dict:
    """``trainer.test`` of the fit's best checkpoint (else of the model as it stands): its metrics."""
    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else None
    trainer.callbacks = [c for c in trainer.callbacks if not isinstance(c, WeightAveraging)]
    [metrics] = trainer.test(model, datamodule=datamodule, ckpt_path=best or None, verbose=False)
    return metrics
