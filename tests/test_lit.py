"""The LightningModule's surroundings: the data facts a hand-built Trainer hands over, the confusion-matrix
files, and the one-line errors when a fact is missing or the model and the data do not fit."""

from __future__ import annotations

import json

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from ser_zoo.data.datamodule import SERDataModule
from ser_zoo.errors import ConfigError
from ser_zoo.lit import ConfusionMatrixWriter, DataModuleFacts, SERModule
from ser_zoo.lit.callbacks import inverse_frequency

SMALL = {"model_kwargs": {"channels": [4, 8], "hidden": 16}, "frontend": {"name": "logmel", "n_mels": 40}}


def trainer(**kwargs) -> L.Trainer:
    return L.Trainer(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **kwargs,
    )


def synthetic_batches(n: int = 12, classes: int = 4, batch_size: int = 4) -> DataLoader:
    """Dict batches as ``pad_collate`` makes them, without the clip keys (a loader of one's own)."""
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % classes
    waves = 0.1 * torch.randn(n, 16000, generator=g)
    batches = [
        {
            "audio": waves[i : i + batch_size],
            "lengths": torch.full((batch_size,), 16000),
            "label": labels[i : i + batch_size],
        }
        for i in range(0, n, batch_size)
    ]
    return DataLoader(batches, batch_size=None)


def test_inverse_frequency_weights_rare_classes_up():
    w = inverse_frequency([0, 0, 0, 1], 3)
    torch.testing.assert_close(w, torch.tensor([4 / 9, 4 / 3, 4 / 3]))  # an absent class counts as one clip


def test_confusion_matrix_files_from_a_hand_built_trainer(tmp_path):
    module = SERModule(model="mel_cnn", num_classes=4, example_seconds=1.0, **SMALL)
    writer = ConfusionMatrixWriter(dirpath=str(tmp_path))
    t = trainer(callbacks=[writer])
    t.test(module, dataloaders=synthetic_batches(), verbose=False)
    saved = json.loads((tmp_path / "test_confusion.json").read_text())
    assert sum(map(sum, saved["confusion_matrix"])) == 12 and saved["class_names"] == ["0", "1", "2", "3"]
    assert saved["confusion_matrix"] == module.test_results["confusion_matrix"]
    assert writer.png_path == tmp_path / "confusion_matrix.png" and writer.png_path.stat().st_size > 1000
    t.test(module, dataloaders=synthetic_batches(n=4), verbose=False)  # a second test starts from zero
    assert sum(map(sum, module.test_results["confusion_matrix"])) == 4
    assert sum(isinstance(c, DataModuleFacts) for c in t.callbacks) == 1  # the module's, added once


def test_class_weights_without_a_data_module_fail_with_one_line():
    module = SERModule(model="mel_cnn", num_classes=4, example_seconds=1.0, class_weights=True, **SMALL)
    with pytest.raises(ConfigError, match="class_weights counts the training labels of a SERDataModule"):
        trainer(max_steps=1).fit(module, train_dataloaders=synthetic_batches())


def test_class_weights_come_from_the_fold_training_labels(data_root, tmp_path):
    dm = SERDataModule(root=str(data_root), limit_clips=16, batch_size=8, num_workers=0, clip_seconds=1.0)
    module = SERModule(
        model="mel_cnn",
        num_classes=dm.num_classes,
        class_names=dm.class_names,
        example_seconds=1.0,
        class_weights=True,
        **SMALL,
    )
    trainer(max_steps=1, limit_val_batches=1, default_root_dir=str(tmp_path)).fit(module, datamodule=dm)
    expected = inverse_frequency(dm.datasets["train"].labels, dm.num_classes)
    torch.testing.assert_close(module.loss_weight, expected)
    assert len(set(expected.tolist())) > 1  # the subset is unbalanced, so the weights differ


def test_a_fixed_input_model_refuses_whole_clip_evaluation(data_root):
    dm = SERDataModule(root=str(data_root), limit_clips=8, num_workers=0, clip_seconds=1.0, eval_crop="full")
    module = SERModule(model="conv2d_mfcc", num_classes=dm.num_classes, example_seconds=1.0)
    with pytest.raises(ConfigError, match="model 'conv2d_mfcc' has dense layers over a fixed-size input"):
        trainer().test(module, datamodule=dm, verbose=False)
