"""``ser-zoo data check`` on a tree with planted faults: each is named, and only what stops training fails."""

import json
import shutil

import numpy as np
import soundfile as sf
from test_own_data import SR, make_tree, tone

from ser_zoo.cli import main


def planted(tmp_path):
    """Four speakers x three labels x two clips, plus one fault of each kind."""
    root = make_tree(tmp_path / "calls", speakers=("ann", "bob", "cy", "dee"))
    (root / "joy" / "bob" / "broken.wav").write_text("not audio")  # unreadable
    sf.write(str(root / "neutral" / "cy" / "silent.wav"), np.zeros(SR, np.float32), SR)  # silent
    sf.write(str(root / "angry" / "ann" / "short.wav"), tone(220.0, seconds=0.2), SR)  # too short
    sf.write(str(root / "angry" / "bob" / "loud.wav"), np.clip(4 * tone(220.0), -1, 1), SR)  # clipped
    shutil.copy(root / "angry" / "ann" / "00.wav", root / "joy" / "ann" / "same.wav")  # same audio, 2 labels
    (root / "angry" / "eve").mkdir()
    sf.write(str(root / "angry" / "eve" / "00.wav"), tone(220.0, seed=7), SR)  # a speaker with one label
    sf.write(str(root / "angry" / "eve" / "01.wav"), tone(220.0, seed=8), SR)
    (root / "notes.txt").write_text("recording notes")  # not audio
    return root


def test_planted_faults_are_named_and_training_can_proceed(tmp_path, capsys):
    root = planted(tmp_path)
    assert main(["data", "check", str(root), "--folds", "5", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["clips"] == 31 and report["readable"] == 30
    assert report["labels"]["joy"] == {"clips": 10, "readable": 9, "seconds": 4.5, "labels": 1, "speakers": 4}
    assert report["speakers"]["calls_eve"]["labels"] == 1 and report["sample_rates"] == {"16000": 30}
    found = {p["check"]: p for p in report["problems"]}
    assert all(p["severity"] == "warning" for p in report["problems"])
    files = {check: [item[0].split("calls/")[-1] for item in p["items"]] for check, p in found.items()}
    assert files["unreadable"] == ["joy/bob/broken.wav"]
    assert files["silent"] == ["neutral/cy/silent.wav"]
    assert files["too short"] == ["angry/ann/short.wav"]
    assert files["clipped"] == ["angry/bob/loud.wav"]
    assert files["not read"] == ["notes.txt"]
    [(pair, labels)] = found["same audio, two labels"]["items"]
    assert "angry/ann/00.wav" in pair and "joy/ann/same.wav" in pair and labels == "angry / joy"
    assert found["speakers with one label"]["items"] == [["calls_eve", "angry"]]
    protocol = [p["detail"] for p in report["problems"] if p["check"] == "protocol"]
    assert any("label 'joy' is spoken by 4 speakers, fewer than the 5 folds" in d for d in protocol)


def test_table_and_what_stops_training(tmp_path, capsys):
    root = planted(tmp_path)
    for k in range(3):  # a label with 3 clips cannot fill 5 folds: fit would stop, so check fails
        (root / "frustrated" / "ann").mkdir(parents=True, exist_ok=True)
        sf.write(str(root / "frustrated" / "ann" / f"{k}.wav"), tone(550.0, seed=k), SR)
    assert main(["data", "check", str(root), "--folds", "5"]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith(f"data check: {root}: 34 clips, 33 readable, 4 labels, 5 speakers")
    assert "errors (training cannot proceed):" in out and "label 'frustrated' has 3 clips" in out
    assert "joy/bob/broken.wav: not a readable audio file" in out and out.rstrip().endswith("before training")
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,label\ncalls/angry/ann/00.wav,angry\ncalls/joy/ann/gone.wav,joy\n")
    assert main(["data", "check", str(manifest), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    missing = next(p for p in report["problems"] if p["check"] == "missing")
    assert missing["severity"] == "error" and missing["items"] == ["calls/joy/ann/gone.wav (line 3)"]
    (tmp_path / "bad.csv").write_text("file,emotion\na.wav,angry\n")
    assert main(["data", "check", str(tmp_path / "bad.csv")]) == 2  # not a manifest at all: one line
    assert "no 'path' or 'label' column" in capsys.readouterr().err
