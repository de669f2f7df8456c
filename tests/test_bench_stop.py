"""A bench stopped by SIGTERM (a scheduler, ``timeout``, ``kill``) stops its queue as Ctrl-C does.

The signal reaches the whole process group: the DataLoader workers die too, and their error used to reach the
runner first, which took it for one failed run and started the next fold."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from lightning.pytorch.callbacks import Callback
from test_bench_own_data import SPEAKERS, TINY
from test_own_data import make_tree

from ser_zoo.cli import main

TESTS = Path(__file__).parent


class TermGroupInSecondEpoch(Callback):
    """Stands in for a scheduler stopping the job: SIGTERM to the whole process group as epoch 2 starts."""

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.current_epoch == 1 and batch_idx == 0:
            os.killpg(os.getpgrp(), signal.SIGTERM)


class TermInSecondEpoch(Callback):
    """SIGTERM to this process only, as epoch 2 starts."""

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.current_epoch == 1 and batch_idx == 0:
            os.kill(os.getpid(), signal.SIGTERM)


def test_a_training_run_stopped_by_sigterm_does_not_exit_as_finished(tmp_path, monkeypatch, capsys):
    """Lightning alone ended a SIGTERM'd fit with status 0: a scheduler would have taken it for done."""
    tree = make_tree(tmp_path / "calls", speakers=SPEAKERS, per=3)
    monkeypatch.chdir(tmp_path)
    before = signal.getsignal(signal.SIGTERM)
    words = ["fit", "--data.protocol", "speaker-kfold", "--data.corpora", str(tree), "--data.folds", "2"]
    words += ["--model.model", "mel_cnn", *TINY, "--trainer.max_epochs", "3"]
    words += ["--trainer.callbacks+=test_bench_stop.TermInSecondEpoch"]
    assert main(words) == 128 + signal.SIGTERM
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("ser-zoo: stopped by SIGTERM; ")
    [last] = (tmp_path / "runs").rglob("last.ckpt")
    assert torch.load(last, weights_only=False)["epoch"] == 0  # saved as epoch 0 ended: resumable
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is ser-zoo's only while it runs


@pytest.mark.skipif(sys.platform == "win32", reason="process groups and SIGTERM are POSIX")
def test_sigterm_to_the_process_group_stops_the_queue(tmp_path):
    tree = make_tree(tmp_path / "calls", speakers=SPEAKERS, per=3)
    command = [sys.executable, "-m", "ser_zoo.cli", "bench", "--protocol", "speaker-kfold", "--models"]
    command += ["mel_cnn", "--folds", "0", "1", "--out", str(tmp_path / "out"), "--data.corpora", str(tree)]
    command += ["--data.folds", "2", *TINY, "--trainer.max_epochs", "2"]
    command += ["--data.num_workers", "1"]  # a worker process for the SIGTERM to kill, as in a real run
    command += ["--trainer.callbacks+=test_bench_stop.TermGroupInSecondEpoch"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, start_new_session=True
    )
    assert done.returncode == 128 + signal.SIGTERM, done.stderr[-2000:]
    assert "the next run goes on" not in done.stderr
    runs = tmp_path / "runs/bench/speaker-kfold"
    assert (runs / "mel_cnn-fold0/version_0/checkpoints/last.ckpt").is_file()  # resumable where it stopped
    assert not (runs / "mel_cnn-fold1").exists()  # the queue stopped: fold 1 never started
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ser-zoo: stopped") and "rerun the same command" in last, last
