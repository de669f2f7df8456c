"""Reliability: SIGKILL + resume, determinism, DDP on CPU, concurrent cache builds, damaged checkpoints.

Every run is a tiny real subset (SAVEE, 1 s clips, a 611-parameter ``mel_cnn``); the uninterrupted run is
shared by the resume, determinism and checkpoint tests. Subprocesses only where a test needs a real second
process (a kill, Lightning's DDP launcher, two cache builders).
"""

from __future__ import annotations

import csv
import hashlib
import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from ser_zoo.cli import main
from ser_zoo.errors import SerZooError
from ser_zoo.lit import SERModule, load_module
from ser_zoo.lit.cli import build_cli

REPO = Path(__file__).resolve().parents[1]
RECIPE = str(REPO / "configs" / "mel_cnn_union7.yaml")
STEPS_PER_EPOCH = 16  # 32 training clips, batch 2
EPOCHS = 2


def common(data_root) -> list[str]:
    return [
        "--config",
        RECIPE,
        "--data.protocol",
        "savee-loso",
        "--data.classes",
        "null",
        "--data.root",
        str(data_root),
        "--data.limit_clips",
        "32",
        "--data.batch_size",
        "2",
        "--data.num_workers",
        "0",
        "--data.clip_seconds",
        "1.0",
        "--model.model_kwargs",
        '{"channels": [4, 8], "hidden": 16}',
        "--trainer.max_epochs",
        str(EPOCHS),
        "--trainer.enable_progress_bar",
        "false",
        "--trainer.enable_model_summary",
        "false",
        "--last_checkpoint.every_n_train_steps",
        "3",
    ]


def run_dir(save_dir: Path) -> Path:
    return save_dir / "mel_cnn_union7" / "version_0"


def last_ckpt(save_dir: Path) -> Path:
    return run_dir(save_dir) / "checkpoints" / "last.ckpt"


def val_rows(save_dir: Path) -> list[dict]:
    rows = csv.DictReader((run_dir(save_dir) / "metrics.csv").open())
    return [
        {k: v for k, v in r.items() if k.startswith("val/") or k in ("epoch", "step")}
        for r in rows
        if r["val/ua"]
    ]


def final_test_metrics(data_root, ckpt: Path) -> dict[str, float]:
    cli = build_cli(
        [
            *common(data_root),
            "--trainer.logger",
            "false",
            "--trainer.default_root_dir",
            str(ckpt.parent.parent / "test"),
        ],
        run=False,
    )  # where the confusion-matrix files go
    [metrics] = cli.trainer.test(cli.model, datamodule=cli.datamodule, ckpt_path=str(ckpt), verbose=False)
    return {k: round(v, 6) for k, v in metrics.items()}


def assert_same_weights(a: Path, b: Path) -> None:
    sa, sb = (torch.load(p, weights_only=True)["state_dict"] for p in (a, b))
    assert sa.keys() == sb.keys()
    different = [k for k in sa if not torch.equal(sa[k], sb[k])]
    assert not different, f"weights differ: {different}"


@pytest.fixture(scope="module")
def uninterrupted(data_root, tmp_path_factory):
    """One full CLI fit in this process (2 epochs x 16 steps); deterministic mode is switched off after."""
    save = tmp_path_factory.mktemp("uninterrupted")
    assert main(["fit", *common(data_root), "--trainer.logger.init_args.save_dir", str(save)]) == 0
    yield save
    torch.use_deterministic_algorithms(False)


# -- resume ------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_matches_uninterrupted(data_root, tmp_path):
    """A real ``ser-zoo fit`` child is SIGKILLed as soon as its first mid-epoch ``last.ckpt`` appears
    (written every 3 steps); ``--ckpt_path last`` (same command) resumes inside that epoch and ends
    bit-identical to the uninterrupted run: same weights, same validation and test metrics. Only the
    interrupted epoch's *training* metrics differ (they cover the batches after the resume). Every fit here
    runs in a fresh child process, so the comparison never depends on state earlier tests left in the pytest
    process."""

    def fit(save: Path, *extra: str) -> None:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "ser_zoo",
                "fit",
                *common(data_root),
                "--trainer.logger.init_args.save_dir",
                str(save),
                *extra,
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]

    uninterrupted = tmp_path / "uninterrupted"
    fit(uninterrupted)
    save = tmp_path / "killed"
    log = (tmp_path / "child.log").open("w")
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ser_zoo",
            "fit",
            *common(data_root),
            "--trainer.logger.init_args.save_dir",
            str(save),
        ],
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 300
    while not last_ckpt(save).exists() and child.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL, (tmp_path / "child.log").read_text()[-2000:]
    state = torch.load(last_ckpt(save), weights_only=True)
    [position] = state["loops"]["fit_loop"]["state_dict"]["combined_loader"]
    assert 0 < position["batches"] < STEPS_PER_EPOCH, f"killed at {position}, not mid-epoch"
    assert state["global_step"] == position["epoch"] * STEPS_PER_EPOCH + position["batches"]

    fit(save, "--ckpt_path", "last")
    assert sorted(p.name for p in run_dir(save).parent.iterdir()) == ["version_0"]  # resumed in place
    assert torch.load(last_ckpt(save), weights_only=True)["global_step"] == EPOCHS * STEPS_PER_EPOCH
    assert_same_weights(last_ckpt(save), last_ckpt(uninterrupted))
    assert val_rows(save) == val_rows(uninterrupted)
    assert final_test_metrics(data_root, last_ckpt(save)) == final_test_metrics(
        data_root, last_ckpt(uninterrupted)
    )


def test_last_ckpt_is_the_latest_state_not_the_best(uninterrupted):
    """Lightning 2.6's ``save_last`` only follows top-k saves; ours is the end of the last epoch."""
    ckpts = {p.name for p in (run_dir(uninterrupted) / "checkpoints").glob("*.ckpt")}
    assert "last.ckpt" in ckpts and any(n.startswith("best-") for n in ckpts) and len(ckpts) == 2
    assert torch.load(last_ckpt(uninterrupted), weights_only=True)["global_step"] == EPOCHS * STEPS_PER_EPOCH


# -- determinism -------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_same_seed_and_config_give_identical_results(data_root, uninterrupted, tmp_path):
    """seed_everything (recipe) + deterministic mode (CLI default) + position-derived randomness."""
    assert main(["fit", *common(data_root), "--trainer.logger.init_args.save_dir", str(tmp_path)]) == 0
    import yaml

    config = yaml.safe_load((run_dir(tmp_path) / "config.yaml").read_text())
    assert config["seed_everything"] == 0 and config["trainer"]["deterministic"] == "warn"
    assert torch.are_deterministic_algorithms_enabled()
    assert val_rows(tmp_path) == val_rows(uninterrupted)
    assert_same_weights(last_ckpt(tmp_path), last_ckpt(uninterrupted))


# -- DDP ---------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_ddp_two_cpu_processes_sync_their_metrics(data_root, tmp_path):
    """``--trainer.strategy ddp --trainer.devices 2`` on CPU (gloo), Lightning launching the second process.
    Each rank validates half of the 16 clips (16 is even, so DistributedSampler pads nothing); the logged
    val metrics, loss included, must equal one process validating the same final weights on all 16."""
    save = tmp_path / "ddp"
    args = [
        *common(data_root),
        "--data.limit_clips",
        "16",
        "--data.batch_size",
        "4",
        "--trainer.max_epochs",
        "1",
    ]
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "ser_zoo",
            "fit",
            *args,
            "--trainer.strategy",
            "ddp",
            "--trainer.devices",
            "2",
            "--trainer.accelerator",
            "cpu",
            "--trainer.logger.init_args.save_dir",
            str(save),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert (
        "distributed_backend=gloo" in out.stdout + out.stderr
        and "Starting with 2 processes" in out.stdout + out.stderr
    )
    [ddp] = val_rows(save)
    cli = build_cli(
        [
            *args,
            "--trainer.logger",
            "false",
            "--trainer.devices",
            "1",
            "--trainer.default_root_dir",
            str(tmp_path),
        ],
        run=False,
    )
    [single] = cli.trainer.validate(
        cli.model, datamodule=cli.datamodule, ckpt_path=str(last_ckpt(save)), verbose=False
    )
    assert len(cli.datamodule.datasets["val"]) == 16
    for k in ("val/wa", "val/ua", "val/f1", "val/loss"):
        assert float(ddp[k]) == pytest.approx(single[k], abs=1e-5), k


# -- waveform cache ----------------------------------------------------------------------------------------
def _build_cache(clips, cache_dir, barrier, results):
    from ser_zoo.data.cache import WaveformCache

    barrier.wait()  # both processes start building at the same moment
    cache = WaveformCache(clips, cache_dir, name="savee", progress=False)
    digest = hashlib.sha256(np.asarray(cache._data).tobytes()).hexdigest()
    results.put((cache.built, str(cache.dir), digest))


def savee_clips(data_root, n=8):
    from ser_zoo.data.corpora import read_corpus

    return read_corpus("savee", data_root)[:n]


def test_two_processes_building_one_cache_do_not_corrupt_it(data_root, tmp_path):
    from ser_zoo.audio import load_audio
    from ser_zoo.data.cache import WaveformCache

    clips = savee_clips(data_root)
    ctx = mp.get_context("fork")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_build_cache, args=(clips, tmp_path, barrier, results)) for _ in range(2)]
    for p in procs:
        p.start()
    got = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert sorted(b for b, _, _ in got) == [False, True]  # one built it, the other waited and reused it
    assert len({(d, h) for _, d, h in got}) == 1
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == [Path(got[0][1]).name]
    cache = WaveformCache(clips, tmp_path, name="savee", progress=False)
    assert not cache.built and len(cache) == len(clips)
    for clip in clips[:3]:
        np.testing.assert_allclose(cache.get(clip.id) / 32767, load_audio(clip.path, 16000), atol=1e-4)


def test_cache_key_follows_file_list_rate_and_length_limit(data_root):
    from ser_zoo.data.cache import cache_key

    clips = savee_clips(data_root)
    key = cache_key(clips, 16000)
    assert key == cache_key(list(clips), 16000)
    assert (
        len({key, cache_key(clips[:-1], 16000), cache_key(clips, 8000), cache_key(clips, 16000, 30.0)}) == 4
    )


def test_damaged_or_foreign_cache_is_rebuilt(data_root, tmp_path):
    from ser_zoo.data.cache import WaveformCache

    clips = savee_clips(data_root, 4)
    first = WaveformCache(clips, tmp_path, name="savee", progress=False)
    waves, index = first.dir / "waves.npy", first.dir / "index.json"
    good = waves.read_bytes()

    def reopen():
        again = WaveformCache(clips, tmp_path, name="savee", progress=False)
        assert waves.read_bytes() == good and again.length(clips[0].id) == first.length(clips[0].id)
        return again.built

    waves.write_bytes(good + b"\0" * 64)  # bytes appended
    assert reopen()
    waves.write_bytes(good[: len(good) // 2])  # truncated
    assert reopen()
    waves.write_bytes(b"\x93NUMPY garbage" + good[14:])  # header damaged
    assert reopen()
    meta = json.loads(index.read_text())
    index.write_text(json.dumps({**meta, "key": "0" * 16}))  # a cache of other clips under this name
    assert reopen()
    (tmp_path / f".{first.dir.name}.killed").mkdir()  # temp folder of a builder killed mid-way
    waves.unlink()
    assert reopen() and not list(tmp_path.glob(".*"))
    assert not reopen()  # and an intact one is reused


# -- checkpoints -------------------------------------------------------------------------------------------
def test_fit_checkpoints_load_with_weights_only(uninterrupted, tmp_path):
    """Fit checkpoints hold only tensors and plain values, so loading them never needs pickle's full power."""
    module = load_module(last_ckpt(uninterrupted), map_location="cpu")
    assert module.hparams.model == "mel_cnn" and module.hparams.model_kwargs == {
        "channels": [4, 8],
        "hidden": 16,
    }
    import lightning as L

    aug = SERModule(
        model="mel_cnn",
        model_kwargs={"channels": [4, 8], "hidden": 16},
        num_classes=7,
        example_seconds=1.0,
        augment={"noise": {"p": 0.5, "snr_db": [5, 20]}, "mixup": {"p": 0.3, "alpha": 0.4}},
    )
    trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False)
    trainer.strategy.connect(aug)
    trainer.save_checkpoint(tmp_path / "aug.ckpt")
    torch.load(tmp_path / "aug.ckpt", weights_only=True)
    assert load_module(tmp_path / "aug.ckpt").hparams.augment["mixup"] == {
        "p": 0.3,
        "alpha": 0.4,
    }


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned-by-pickle",))


def _damaged(src: Path, tmp_path: Path) -> dict[str, Path]:
    """Truncated, one tensor byte flipped, and a pickle that would run code."""
    import struct
    import zipfile

    data = src.read_bytes()
    out = {
        "truncated": tmp_path / "truncated.ckpt",
        "tampered": tmp_path / "tampered.ckpt",
        "pickle": tmp_path / "pickle.ckpt",
    }
    out["truncated"].write_bytes(data[: len(data) * 2 // 3])
    with zipfile.ZipFile(src) as z:
        rec = max((i for i in z.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    name_len, extra_len = struct.unpack("<HH", data[rec.header_offset + 26 : rec.header_offset + 30])
    flipped = bytearray(data)
    flipped[rec.header_offset + 30 + name_len + extra_len + rec.file_size // 2] ^= 0xFF
    out["tampered"].write_bytes(bytes(flipped))
    torch.save({"state_dict": {}, "hyper_parameters": {"x": _Evil()}}, out["pickle"])
    return out


def test_damaged_fit_checkpoint_fails_with_one_line_naming_it(
    data_root, uninterrupted, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    bad = _damaged(last_ckpt(uninterrupted), tmp_path)
    expected = {
        "truncated": "not a complete checkpoint",
        "tampered": "CRC-32 mismatch in record",
        "pickle": "refused to unpickle",
    }
    for kind, path in bad.items():
        with pytest.raises(SerZooError, match=expected[kind]) as err:
            load_module(path)
        assert str(err.value).startswith(f"{path}: ") and "\n" not in str(err.value)
    assert not (tmp_path / "pwned-by-pickle").exists()
    capsys.readouterr()
    for kind, path in bad.items():  # the CLI checks a --ckpt_path file before LightningCLI reads its hparams
        assert main(["test", *common(data_root), "--trainer.logger", "false", "--ckpt_path", str(path)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith(f"ser-zoo: error: {path}: {expected[kind]}"), err
    # `--ckpt_path last` is resolved inside the Trainer: its load goes through SafeCheckpointIO
    resumed = run_dir(tmp_path / "runs") / "checkpoints"
    resumed.mkdir(parents=True)
    bad["tampered"].rename(resumed / "last.ckpt")
    assert (
        main(
            [
                "fit",
                *common(data_root),
                "--trainer.logger.init_args.save_dir",
                str(tmp_path / "runs"),
                "--ckpt_path",
                "last",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(
        f"ser-zoo: error: {resumed / 'last.ckpt'}: CRC-32 mismatch in record archive/data/"
    ), err


def test_damaged_zoo_checkpoint_fails_naming_file_and_sha256(uninterrupted, tmp_path, capsys):
    from ser_zoo.zoo import export_checkpoint, load_pretrained

    weights = export_checkpoint(last_ckpt(uninterrupted), "tiny_savee", tmp_path)
    assert load_pretrained(str(weights)).hparams.model == "mel_cnn"
    data = weights.read_bytes()
    for damaged in (data[: len(data) // 2], data[:-4] + bytes(4)):
        weights.write_bytes(damaged)
        with pytest.raises(SerZooError) as err:
            load_pretrained(str(weights))
        msg = str(err.value)
        assert msg.startswith(f"{weights}: sha256 ") and "does not match its card" in msg and "\n" not in msg


# -- bench -------------------------------------------------------------------------------------------------
def test_bench_skips_only_complete_fold_rows(tmp_path):
    from ser_zoo.bench.results import append_row, read_rows, row_complete

    assert row_complete({"wa": "0.5", "ua": "0.4", "f1": "0.3"})
    assert not row_complete({"wa": "0.5", "ua": "", "f1": "0.3"}) and not row_complete(
        {"wa": "0.5", "ua": "x"}
    )
    assert not row_complete({"wa": "nan", "ua": "0.4", "f1": "0.3"}) and not row_complete({"model": "m"})
    path = tmp_path / "p.csv"
    row = {"protocol": "p", "classes": "c", "model": "m", "fold": 0, "wa": "", "ua": "", "f1": ""}
    append_row(path, row, [])
    append_row(path, {**row, "fold": 1, "wa": "0.5", "ua": "0.5", "f1": "0.5"}, [])
    append_row(
        path, {**row, "wa": "0.1", "ua": "0.2", "f1": "0.3"}, []
    )  # the rerun replaces the incomplete row
    rows = read_rows(path)
    assert [(r["fold"], r["wa"]) for r in rows] == [("1", "0.5"), ("0", "0.1")]
