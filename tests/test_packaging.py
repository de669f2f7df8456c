"""Recipes by name, and what a normal (non-editable) install holds and does with no network.

The install test builds the wheel from a copy of the source (links to the files, so the checkout gets no
``build/``), installs it with ``pip --target``, and runs ``ser-zoo`` from another folder under an audit hook
that refuses every network connection and every read inside the source checkout.
"""

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from ser_zoo.cli import main
from ser_zoo.errors import ConfigError
from ser_zoo.recipes import list_recipes, recipe_path, resolve_config_args
from ser_zoo.zoo_paths import DEFAULT_MODEL

REPO = Path(__file__).resolve().parents[1]
SOURCE = ["pyproject.toml", "setup.py", "README.md", "ser_zoo", "configs", "checkpoints"]


def test_recipes_resolve_by_name_and_by_configs_path_from_anywhere(tmp_path, monkeypatch, capsys):
    shipped = REPO / "configs" / "resnet18_ravdess.yaml"
    assert "resnet18_ravdess" in list_recipes() and recipe_path("resnet18_ravdess") == str(shipped)
    own = tmp_path / "mine.yaml"
    own.write_text("trainer: {max_epochs: 1}\n")
    monkeypatch.chdir(tmp_path)
    assert recipe_path("configs/resnet18_ravdess.yaml") == str(shipped)  # no configs/ here: the shipped one
    assert recipe_path("mine.yaml") == "mine.yaml" and recipe_path("other/x.yaml") == "other/x.yaml"
    argv = ["fit", "--config", "vgg16_ravdess", "-c=mfcc_cnn_union7", "--data.fold", "2"]
    assert resolve_config_args(argv) == [
        "fit",
        "--config",
        str(REPO / "configs" / "vgg16_ravdess.yaml"),
        f"-c={REPO / 'configs' / 'mfcc_cnn_union7.yaml'}",
        "--data.fold",
        "2",
    ]
    with pytest.raises(ConfigError, match=r"--config resnet18_ravdes: .*did you mean resnet18_ravdess"):
        recipe_path("resnet18_ravdes")
    assert main(["recipes"]) == 0
    out = capsys.readouterr().out
    assert any(
        line.split()[:3] == ["resnet18_ravdess", "resnet18", "ravdess-6fold"] for line in out.splitlines()
    )


CHECK_INSTALLED = r"""
import json, sys
target, repo, clip = sys.argv[1:4]
sys.argv[1:] = []  # LightningCLI reads sys.argv too

def guard(event, args):
    if event in ("socket.connect", "socket.getaddrinfo"):
        raise ConnectionRefusedError(f"no network in this test ({event} {args[1:]})")
    path = args[0] if event == "open" and isinstance(args[0], str) else ""
    if path.startswith(repo + "/") and not path.startswith(repo + "/.venv/"):  # the venv is the environment
        raise PermissionError(f"read inside the source checkout: {path}")

sys.addaudithook(guard)
import ser_zoo
from ser_zoo.cli import main
from ser_zoo.errors import SerZooError
from ser_zoo.zoo_paths import data_dir

assert ser_zoo.__file__.startswith(target), ser_zoo.__file__
assert str(data_dir("checkpoints")).startswith(target) and str(data_dir("configs")).startswith(target)
print("PRETRAINED", json.dumps(ser_zoo.list_pretrained()))
print("SPKNORM", ser_zoo.load_pretrained("general6_spknorm").num_params)  # shipped: loads offline
assert main(["zoo", "list"]) == 0
assert main(["recipes"]) == 0
assert main(["infer", clip, "--format", "json", "--out", clip + ".json", "--speech_gate", "off"]) == 0
try:
    main(["fit", "--config", "resnet18_ravdess", "--print_config"])
except SystemExit as e:
    assert not e.code, e.code
try:
    ser_zoo.load_pretrained("resnet18_ravdess")  # not shipped: fetched on first use, here refused
except SerZooError as e:
    print("FETCH", e)
"""


def test_a_non_editable_install_works_offline_from_another_folder(tmp_path):
    if int(importlib.metadata.version("setuptools").split(".")[0]) < 77:
        pytest.skip("building ser-zoo needs setuptools>=77 in this environment (pip install 'ser-zoo[dev]')")
    source, target, elsewhere = tmp_path / "src", tmp_path / "site", tmp_path / "elsewhere"
    source.mkdir()
    elsewhere.mkdir()
    for name in SOURCE:
        if (REPO / name).is_dir():
            shutil.copytree(
                REPO / name,
                source / name,
                copy_function=os.symlink,
                ignore=shutil.ignore_patterns("__pycache__"),
            )
        else:
            os.symlink(REPO / name, source / name)
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index"]
    built = subprocess.run(
        [*pip, "--no-cache-dir", "--target", str(target), str(source)], capture_output=True, text=True
    )
    assert built.returncode == 0, built.stderr[-2000:]

    shipped = {
        p.relative_to(target / "ser_zoo").as_posix() for p in (target / "ser_zoo").rglob("*") if p.is_file()
    }
    assert {f"checkpoints/{DEFAULT_MODEL}.safetensors", "checkpoints/resnet18_ravdess.json"} <= shipped
    assert "configs/resnet18_ravdess.yaml" in shipped and "zoo_paths.py" in shipped
    assert "checkpoints/resnet18_ravdess.safetensors" not in shipped  # fetched on first use, not shipped
    assert "checkpoints/general6_spknorm.safetensors" in shipped  # 10 KiB: small weights ship

    clip = elsewhere / "clip.wav"
    sf.write(clip, 0.1 * np.sin(np.arange(32000) * 0.07).astype("float32"), 16000)
    env = {
        **os.environ,
        "PYTHONPATH": str(target),
        "SER_ZOO_HOME": str(tmp_path / "home"),
        "SER_ZOO_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
    }
    run = subprocess.run(
        [sys.executable, "-c", CHECK_INSTALLED, str(target), str(REPO), str(clip)],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    assert "resnet18_ravdess" in json.loads(out.split("PRETRAINED ", 1)[1].splitlines()[0])
    assert f"{DEFAULT_MODEL} *" in out and "resnet18_ravdess  " in out  # zoo list, every card
    assert "resnet18_ravdess" in out.split("ser-zoo fit --config NAME")[0]  # recipes
    written = json.loads(Path(f"{clip}.json").read_text())  # infer with the default, shipped model
    [row] = written["results"] if isinstance(written, dict) else written
    classes = json.loads((REPO / "checkpoints" / f"{DEFAULT_MODEL}.json").read_text())["class_names"]
    assert row["file"] == str(clip) and row["label"] in row["probs"] and list(row["probs"]) == classes
    assert "protocol: ravdess-6fold" in out  # the recipe by name, printed by LightningCLI
    assert "FETCH zoo checkpoint 'resnet18_ravdess' is not cached" in out
    assert "SPKNORM 2470" in out
    assert not (tmp_path / "home").exists()  # nothing was downloaded
