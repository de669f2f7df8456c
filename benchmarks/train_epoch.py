"""One training epoch of the default recipe (resnet18, RAVDESS, ravdess-6fold fold 0): clips/s and data wait.

Runs the recipe through the same LightningCLI as ``ser-zoo fit`` for one epoch and times every training
batch with a callback: *data wait* is the time from the end of one step to the start of the next (the
loader fetching and collating the batch), *compute* the step itself (front-end, forward, backward,
optimiser). The data-wait share says whether the loader or the model bounds an epoch.
Run:  python benchmarks/train_epoch.py [--config configs/resnet18_ravdess.yaml] [--name train_epoch]
          [extra CLI overrides]
e.g. the first 16 steps of ExpoNet from the CREMA-D CNN study (an epoch takes over an hour here):
      python benchmarks/train_epoch.py --config configs/exponet_crema_d.yaml --name train_epoch_exponet \
          --trainer.limit_train_batches 16
"""

from __future__ import annotations

import argparse
import tempfile
import time

import lightning as L
from _env import write_result

from ser_zoo.lit.cli import build_cli


class StepTimer(L.Callback):
    """Splits each training step into waiting for the batch and computing on it."""

    def __init__(self) -> None:
        self.wait, self.compute, self.clips, self.epoch_s = [], [], 0, 0.0

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._epoch_start = self._last_end = time.perf_counter()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._start = time.perf_counter()
        self.wait.append(self._start - self._last_end)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self._last_end = time.perf_counter()
        self.compute.append(self._last_end - self._start)
        self.clips += int(batch["label"].shape[0])

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self.epoch_s = time.perf_counter() - self._epoch_start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/resnet18_ravdess.yaml")
    ap.add_argument("--name", default="train_epoch", help="results/<name>.json and .md")
    args, overrides = ap.parse_known_args()
    timer = StepTimer()
    with tempfile.TemporaryDirectory() as tmp:
        cli = build_cli(
            [
                "--config",
                args.config,
                "--trainer.max_epochs",
                "1",
                "--trainer.limit_val_batches",
                "0",
                "--early_stopping.check_on_train_epoch_end",
                "false",
                "--trainer.logger.init_args.save_dir",
                tmp,
                "--trainer.default_root_dir",
                tmp,
                *overrides,
            ],
            run=False,
        )
        cli.trainer.callbacks.append(timer)
        cli.trainer.fit(cli.model, datamodule=cli.datamodule)
        dm, model = cli.datamodule, cli.model
    wait, compute = sum(timer.wait), sum(timer.compute)
    step_total = wait + compute
    result = {
        "config": args.config,
        "overrides": overrides,
        "model": model.hparams.model,
        "protocol": dm.protocol.name,
        "fold": dm.hparams.fold,
        "batch_size": dm.hparams.batch_size,
        "num_workers": dm.hparams.num_workers,
        "clip_seconds": dm.hparams.clip_seconds,
        "train_clips": timer.clips,
        "steps": len(timer.compute),
        "epoch_seconds": round(timer.epoch_s, 2),
        "clips_per_s": round(timer.clips / timer.epoch_s, 2),
        "data_wait_s": round(wait, 3),
        "compute_s": round(compute, 2),
        "data_wait_share": round(wait / step_total, 4),
        "first_batch_wait_s": round(timer.wait[0], 3),
        "median_step_s": round(sorted(timer.compute)[len(timer.compute) // 2], 3),
    }
    r = result
    md = "\n".join(
        [
            f"# One training epoch: {r['model']} on {r['protocol']} fold {r['fold']}",
            "",
            f"Recipe `{r['config']}` (batch {r['batch_size']}, {r['clip_seconds']} s random crops, "
            f"{r['num_workers']} loader worker), one epoch"
            + (
                f" cut to its first {r['steps']} steps by `--trainer.limit_train_batches`"
                if any("limit_train_batches" in o for o in overrides)
                else ""
            )
            + ", validation off.",
            "",
            "| train clips | steps | epoch s | clips/s | median step s | data wait s | data-wait share |",
            "|---:|---:|---:|---:|---:|---:|---:|",
            f"| {r['train_clips']} | {r['steps']} | {r['epoch_seconds']:.1f} | {r['clips_per_s']:.1f} | "
            f"{r['median_step_s']:.2f} | {r['data_wait_s']:.2f} | {100 * r['data_wait_share']:.1f} % |",
            "",
            f"The first batch waited {r['first_batch_wait_s']:.2f} s (worker start-up); "
            "the loader reads crops from the memory-mapped waveform cache, so "
            + (
                "the model's compute bounds the epoch."
                if r["data_wait_share"] < 0.1
                else "waiting for data is a large share of the epoch: more loader workers would help."
            ),
        ]
    )
    print(md)
    print("wrote", write_result(args.name, result, md))


if __name__ == "__main__":
    main()
