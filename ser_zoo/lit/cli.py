"""The training CLI: a ``LightningCLI`` over ``SERModule`` and ``SERDataModule`` with ser-zoo's callbacks.

It lives apart from ``ser_zoo.cli`` (the ``ser-zoo`` entry point) so that the entry point and the benchmark
runner both build trainers from it without importing each other.
"""

from __future__ import annotations

import logging
import pickle
import sys
import warnings
from pathlib import Path
from typing import Optional, Sequence

from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from ..checkpoint_file import check_checkpoint, unpickle_refused
from ..data.datamodule import SERDataModule
from ..recipes import resolve_config_args
from .callbacks import ConfusionMatrixWriter
from .last_checkpoint import LastCheckpoint
from .module import SERModule
from .parser import OneLineErrorParser
from .writer import PredictionWriter


class _NoCloudTip(logging.Filter):
    """Drops Lightning's start-of-run "💡 Tip" advertising its cloud logger: ser-zoo's runs log offline (CSV,
    optional TensorBoard or wandb), and the line is noise above every run's own output."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("💡 Tip")


logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_NoCloudTip())


class SERCLI(LightningCLI):
    """LightningCLI with data->model links, val-UA checkpointing / early stopping and a resumable last.ckpt.

    ``checkpoint`` keeps the best-on-validation model; ``last_checkpoint`` owns ``last.ckpt`` (every epoch
    end and every N steps, see ``lit/last_checkpoint.py``), so ``fit ... --ckpt_path last`` resumes a killed
    run. ``confusion_matrix`` writes the test confusion matrix (PNG and JSON) into the run folder. The data
    module's facts that exist only once it is set up reach the model through ``DataModuleFacts``, which the
    model brings itself.
    """

    def parse_arguments(self, parser: LightningArgumentParser, args) -> None:
        """As LightningCLI's, less its warning when ``args`` come beside a command line: ser-zoo's own
        commands (bench, demo) build trainers in-process on purpose, from the words they composed."""
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")
            super().parse_arguments(parser, args)

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.link_arguments("data.num_classes", "model.num_classes", apply_on="instantiate")
        parser.link_arguments("data.class_names", "model.class_names", apply_on="instantiate")
        parser.link_arguments("data.sample_rate", "model.sample_rate")
        parser.link_arguments("data.clip_seconds", "model.example_seconds")
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")  # first: trainer.checkpoint_callback
        parser.set_defaults(
            {
                "checkpoint.monitor": "val/ua",
                "checkpoint.mode": "max",
                "checkpoint.save_last": False,
                "checkpoint.filename": "best-epoch{epoch:02d}-ua{val/ua:.3f}",
                "checkpoint.auto_insert_metric_name": False,
            }
        )
        parser.add_lightning_class_args(LastCheckpoint, "last_checkpoint")
        parser.add_lightning_class_args(PredictionWriter, "prediction_writer")
        parser.add_lightning_class_args(ConfusionMatrixWriter, "confusion_matrix")
        parser.add_lightning_class_args(EarlyStopping, "early_stopping")
        parser.set_defaults(
            {"early_stopping.monitor": "val/ua", "early_stopping.mode": "max", "early_stopping.patience": 10}
        )

    def before_instantiate_classes(self) -> None:
        if self.subcommand == "fit":
            resume_in_place(self.config["fit"])

    def _instantiate_trainer(self, config: dict, callbacks: list):
        """``--trainer.enable_checkpointing false`` (a quick look, a profile) drops the checkpoint callbacks
        this CLI adds, instead of Lightning refusing the combination."""
        if config.get("enable_checkpointing") is False:
            callbacks = [c for c in callbacks if not isinstance(c, ModelCheckpoint)]
        return super()._instantiate_trainer(config, callbacks)

    def _parse_ckpt_path(self) -> None:
        """LightningCLI reads a ``--ckpt_path`` file's hparams before anything else: check the file first, so
        a truncated, damaged or code-carrying one fails with one line (names like ``last`` are checked on
        load)."""
        sub = self.config.get("subcommand")
        path = self.config[sub].get("ckpt_path") if sub else None
        if path and Path(path).is_file():
            check_checkpoint(path)
        try:
            super()._parse_ckpt_path()
        except pickle.UnpicklingError as e:
            raise unpickle_refused(path, e) from None


def resume_in_place(cfg) -> None:
    """``fit --ckpt_path last``: log into the newest run folder that holds a ``last.ckpt``.

    The logger would otherwise open a new ``version_N`` folder, where Lightning finds no ``last.ckpt`` and
    starts from scratch. With this, one command both starts a run and resumes it (e.g. a requeued cluster
    job).
    """
    if cfg.get("ckpt_path") != "last" or cfg.get("checkpoint.dirpath") or cfg.get("last_checkpoint.dirpath"):
        return
    logger = cfg.get("trainer.logger")
    args = getattr(logger, "init_args", None)
    if args is None or getattr(args, "version", None) is not None or not hasattr(args, "save_dir"):
        return
    runs = Path(str(args.save_dir)) / str(getattr(args, "name", None) or "lightning_logs")
    found = sorted(
        (int(p.parent.parent.name.split("_", 1)[1]), p)
        for p in runs.glob("version_*/checkpoints/last.ckpt")
        if p.parent.parent.name.split("_", 1)[1].isdigit()
    )
    if found:
        args.version = found[-1][0]


def build_cli(args: Optional[Sequence[str]] = None, run: bool = True) -> SERCLI:
    """The training CLI over ``args`` (None: ``sys.argv``); ``--config NAME`` names a shipped recipe."""
    if args is None:  # LightningCLI reads sys.argv itself (given both, it warns), so resolve names there
        sys.argv[1:] = resolve_config_args(sys.argv[1:])
    elif isinstance(args, (list, tuple)):
        args = resolve_config_args(args)
    return SERCLI(
        SERModule,
        SERDataModule,
        args=args,
        run=run,
        parser_class=OneLineErrorParser,
        parser_kwargs={"prog": "ser-zoo"},  # as the entry point, also when called in-process (tests, bench)
        seed_everything_default=0,
        trainer_defaults={
            "logger": {
                "class_path": "lightning.pytorch.loggers.CSVLogger",
                "init_args": {"save_dir": "runs", "name": "ser-zoo"},
            },
            # seed_everything + torch.use_deterministic_algorithms(True, warn_only=True)
            "deterministic": "warn",
            # --ckpt_path files: CRC-checked, weights_only, one-line errors (lit/safe_ckpt.py)
            "plugins": {"class_path": "ser_zoo.lit.safe_ckpt.SafeCheckpointIO"},
        },
        save_config_kwargs={"overwrite": True},
    )
