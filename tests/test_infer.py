"""``ser-zoo infer``: files, folders, globs, a bad-file report that keeps the good results, long timelines."""

import csv
import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from test_zoo import fit_ckpt

from ser_zoo.cli import main
from ser_zoo.infer import expand_inputs, stream_windows
from ser_zoo.zoo import export_checkpoint

SR = 16000


def tone(seconds: float, freq: float = 220.0, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture
def model_path(tmp_path):
    _, ckpt = fit_ckpt(tmp_path)
    return str(export_checkpoint(ckpt, "tiny", tmp_path / "zoo"))


@pytest.fixture
def audio_dir(tmp_path):
    d = tmp_path / "clips"
    (d / "sub").mkdir(parents=True)
    sf.write(d / "a.wav", tone(1.5), SR)
    sf.write(d / "sub" / "b.flac", tone(2.0, 330.0), SR)
    sf.write(d / "c_44k_stereo.wav", np.stack([tone(1.0, 200, 44100)] * 2, 1), 44100)
    (d / "empty.wav").write_bytes(b"")
    (d / "notes.ogg").write_text("not audio at all")
    sf.write(d / "silent.wav", np.zeros(SR, np.float32), SR)
    return d


def test_folder_csv_lists_good_files_and_reports_bad_ones(model_path, audio_dir, tmp_path, capsys):
    out = tmp_path / "r.csv"
    code = main(
        [
            "infer",
            str(audio_dir),
            str(tmp_path / "missing.wav"),
            "--model",
            model_path,
            "--format",
            "csv",
            "--out",
            str(out),
            "--batch_size",
            "2",
            "--speech_gate",
            "off",  # the tones stand in for speech here (the no-speech answer: test_no_speech.py)
        ]
    )
    assert code == 1  # some files skipped
    every = list(csv.DictReader(out.open()))
    rows = [r for r in every if not r["skipped"]]
    assert sorted(r["file"].split("/")[-1] for r in rows) == ["a.wav", "b.flac", "c_44k_stereo.wav"]
    gone = {r["file"].split("/")[-1]: r["skipped"] for r in every if r["skipped"]}
    assert (
        sorted(gone) == ["empty.wav", "missing.wav", "notes.ogg", "silent.wav"]
        and "silent" in gone["silent.wav"]
    )
    assert all(abs(sum(float(v) for k, v in r.items() if k.startswith("p_")) - 1) < 1e-3 for r in rows)
    err = capsys.readouterr().err
    assert "skipped 4 file(s)" in err
    for name, why in (("empty.wav", ""), ("notes.ogg", ""), ("silent.wav", "silent"), ("missing.wav", "")):
        line = next(row for row in err.splitlines() if name in row)
        assert why in line


def test_a_file_that_breaks_its_batch_is_reported_and_the_rest_answered(model_path, audio_dir, monkeypatch):
    """A batch that fails is retried file by file: only a file that fails alone is skipped, with the error."""
    from ser_zoo import infer as infer_mod

    real = infer_mod.answer

    def answer(model, items, checks):
        if any("b.flac" in item[0]["file"] for item in items):
            raise RuntimeError("odd input")
        return real(model, items, checks)

    monkeypatch.setattr(infer_mod, "answer", answer)
    model = infer_mod.load_model(model_path)
    paths = sorted(audio_dir.rglob("*.wav")) + [audio_dir / "sub" / "b.flac"]
    rows, bad = infer_mod.classify_files(model, paths, batch_size=4, progress=False)
    assert sorted(r["file"].split("/")[-1] for r in rows) == ["a.wav", "c_44k_stereo.wav"]
    reasons = {f.split("/")[-1]: why for f, why in bad}
    assert reasons["b.flac"] == "could not be classified (RuntimeError: odd input)"
    assert set(reasons) == {"b.flac", "empty.wav", "silent.wav"}


def test_ctrl_c_while_a_batch_is_retried_lists_each_file_once(model_path, audio_dir, monkeypatch):
    """The files a retry already answered stay answered; only those after it are listed as not classified."""
    from ser_zoo import infer as infer_mod

    real, singles = infer_mod.answer, []

    def answer(model, items, checks):
        if len(items) > 1:
            raise RuntimeError("odd input")
        singles.append(items[0][0]["file"])
        if len(singles) == 2:
            raise KeyboardInterrupt
        return real(model, items, checks)

    monkeypatch.setattr(infer_mod, "answer", answer)
    model = infer_mod.load_model(model_path)
    paths = [audio_dir / "a.wav", audio_dir / "sub" / "b.flac", audio_dir / "c_44k_stereo.wav"]
    rows, bad = infer_mod.classify_files(model, paths, batch_size=3, progress=False)
    assert [r["file"] for r in rows] == [str(paths[0])]
    assert [f for f, _ in bad] == [str(paths[1]), str(paths[2])]
    assert all("interrupted (Ctrl-C)" in why for _, why in bad)


def send_sigterm():
    os.kill(os.getpid(), signal.SIGTERM)


def press_ctrl_c():
    raise KeyboardInterrupt


@pytest.mark.parametrize("stop, cause", [(press_ctrl_c, "Ctrl-C"), (send_sigterm, "SIGTERM")])
def test_ctrl_c_keeps_the_files_done_and_lists_the_rest(
    model_path, audio_dir, tmp_path, monkeypatch, capsys, stop, cause
):
    """Interrupted after three files: the first batch's answers are written, the rest named unclassified.
    SIGTERM (a scheduler, ``timeout``) takes the same path."""
    from ser_zoo import infer as infer_mod

    real, calls = infer_mod.load_audio, []

    def load_audio(path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 4:
            stop()
        return real(path, *args, **kwargs)

    monkeypatch.setattr(infer_mod, "load_audio", load_audio)
    for name in ("d.wav", "e.wav", "f.wav"):
        sf.write(audio_dir / name, tone(1.0), SR)
    out = tmp_path / "r.csv"
    args = [str(audio_dir / "[adef].wav"), "--model", model_path, "--format", "csv", "--out", str(out)]
    assert main(["infer", *args, "--batch_size", "2", "--speech_gate", "off"]) == 1
    every = list(csv.DictReader(out.open()))
    assert [r["file"].split("/")[-1] for r in every if not r["skipped"]] == ["a.wav", "d.wav"]
    left = {r["file"].split("/")[-1]: r["skipped"] for r in every if r["skipped"]}
    assert set(left) == {"e.wav", "f.wav"} and all(f"interrupted ({cause})" in why for why in left.values())


def test_a_timeline_window_that_fails_alone_is_reported_and_ctrl_c_keeps_the_windows_done(
    model_path, tmp_path
):
    from ser_zoo import infer as infer_mod

    rec = tmp_path / "rec.wav"
    sf.write(rec, tone(8.0), SR)  # windows start at 0..5 s
    real, calls = infer_mod.answer, []

    def answer(model, items, checks):
        calls.append(len(items))
        if any(keys["start"] == 2.0 for keys, _ in items):
            raise RuntimeError("odd window")
        return real(model, items, checks)

    model = infer_mod.load_model(model_path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(infer_mod, "answer", answer)
        rows, bad = infer_mod.timeline(model, rec, 3.0, 1.0, batch_size=4, progress=False)
    assert [r["start"] for r in rows] == [0.0, 1.0, 3.0, 4.0, 5.0]
    assert bad == [(f"{rec}@2.00s", "could not be classified (RuntimeError: odd window)")]

    def interrupted(model, items, checks):
        if items[0][0]["start"] >= 2.0:
            raise KeyboardInterrupt
        return real(model, items, checks)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(infer_mod, "answer", interrupted)
        rows, bad = infer_mod.timeline(model, rec, 3.0, 1.0, batch_size=2, progress=False)
    assert [r["start"] for r in rows] == [0.0, 1.0]
    assert bad == [(str(rec), "timeline stops at 2.00 s: the run was interrupted (Ctrl-C)")]


def test_vad_segments_one_failing_segment_is_reported_and_ctrl_c_keeps_the_rows(model_path, tmp_path):
    """``--vad``: a segment that fails alone is named with its span; Ctrl-C lists the files not finished."""
    from ser_zoo import infer as infer_mod
    from ser_zoo.speech_gate import Track

    files = []
    for name in ("a.wav", "b.wav", "c.wav"):
        sf.write(tmp_path / name, tone(6.0), SR)
        files.append(tmp_path / name)
    speech = Track(np.full(6 * SR // 512, 0.9), [(0, 2 * SR), (3 * SR, 6 * SR)], 6 * SR)  # two regions
    real = infer_mod.answer

    def answer(model, items, checks):
        if any(keys["file"].endswith("b.wav") and keys["start"] == 3.0 for keys, _ in items):
            raise RuntimeError("odd segment")
        return real(model, items, checks)

    model = infer_mod.load_model(model_path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(infer_mod, "file_track", lambda path: speech)
        mp.setattr(infer_mod, "answer", answer)
        rows, bad = infer_mod.speech_rows(model, files, batch_size=4, progress=False)
    assert [(Path(r["file"]).name, r["start"]) for r in rows] == [
        ("a.wav", 0.0),
        ("a.wav", 3.0),
        ("b.wav", 0.0),
        ("c.wav", 0.0),
        ("c.wav", 3.0),
    ]
    assert bad == [(str(files[1]), "segment 3.00-6.00 s could not be classified (RuntimeError: odd segment)")]

    def interrupted(model, items, checks):
        if any(keys["file"].endswith("b.wav") for keys, _ in items):
            raise KeyboardInterrupt
        return real(model, items, checks)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(infer_mod, "file_track", lambda path: speech)
        mp.setattr(infer_mod, "answer", interrupted)
        rows, bad = infer_mod.speech_rows(model, files, batch_size=2, progress=False)
    assert [Path(r["file"]).name for r in rows] == ["a.wav", "a.wav"]
    assert [f for f, _ in bad] == [str(files[1]), str(files[2])]
    assert all(why == "not (fully) classified: the run was interrupted (Ctrl-C)" for _, why in bad)


def test_json_and_table_and_globs(model_path, audio_dir, capsys):
    off = ["--speech_gate", "off"]  # the tones stand in for speech clips
    assert main(["infer", str(audio_dir / "*.wav"), "--model", model_path, "--format", "json", *off]) == 1
    report = json.loads(capsys.readouterr().out)
    assert {r["file"].split("/")[-1] for r in report["results"]} == {"a.wav", "c_44k_stereo.wav"}
    reasons = {r["file"].split("/")[-1]: r["reason"] for r in report["skipped"]}
    assert sorted(reasons) == ["empty.wav", "silent.wav"] and "empty" in reasons["empty.wav"]
    assert main(["infer", str(audio_dir / "a.wav"), "--model", model_path, *off]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["file", "emotion", "prob"] and "a.wav" in out
    assert expand_inputs([str(audio_dir)])[0].name == "a.wav"


def test_long_recording_timeline_streams_windows(model_path, tmp_path, capsys):
    long = tmp_path / "long.wav"
    sf.write(long, np.concatenate([tone(5.0), np.zeros(SR * 2, np.float32), tone(3.5, 440.0)]), SR)  # 10.5 s
    starts = [t for t, w in stream_windows(long, SR, 3.0, 1.0)]
    assert starts == [float(i) for i in range(9)]  # windows start every second; the tail window is kept
    out = tmp_path / "timeline.json"
    png = tmp_path / "timeline.png"
    assert (
        main(
            [
                "infer",
                str(long),
                "--model",
                model_path,
                "--window",
                "3",
                "--hop",
                "1",
                "--format",
                "json",
                "--out",
                str(out),
                "--plot",
                str(png),
            ]
        )
        == 0
    )
    rows = json.loads(out.read_text())["results"]
    assert [r["start"] for r in rows] == starts and rows[-1]["end"] == 10.5
    assert png.stat().st_size > 1000
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF not audio at all")
    assert main(["infer", str(bad), "--model", model_path, "--window", "3", "--out", str(out)]) != 0
    err = capsys.readouterr().err.strip()
    assert "bad.wav" in err.splitlines()[-1] and "Traceback" not in err  # one line naming it


@pytest.mark.parametrize("tail", [160, 512, 4000])
def test_a_sliver_past_the_last_full_window_is_left_out_not_an_error(tmp_path, tail):
    """6 s and ``tail`` samples in 3 s windows every 3 s: a tail under one 512-sample analysis window holds
    nothing a front-end can read and is dropped (it failed the whole timeline before); a longer one is kept.
    The progress bar's count (``Windows.count``) agrees."""
    from ser_zoo.infer import Windows

    rec = tmp_path / "rec.wav"
    sf.write(rec, tone(6.0 + tail / SR), SR)
    starts = [t for t, _ in stream_windows(rec, SR, 3.0, 3.0)]
    assert starts == ([0.0, 3.0] if tail < 512 else [0.0, 3.0, 6.0])
    assert Windows.of(SR, SR, 3.0, 3.0).count(6 * SR + tail) == len(starts)


def test_clear_errors(model_path, tmp_path, capsys):
    assert main(["infer", str(tmp_path / "nothing-here"), "--model", model_path]) == 1
    assert "nothing-here" in capsys.readouterr().err
    assert main(["infer", str(tmp_path), "--model", "no_such_model"]) == 2
    assert "no zoo checkpoint 'no_such_model'" in capsys.readouterr().err


def test_long_jobs_bound_the_allocator_slack_on_glibc():
    import platform

    from ser_zoo.memory import bound_allocator_slack

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt is glibc's")
    assert bound_allocator_slack() is True


def test_table_columns_line_up_whatever_each_column_holds():
    from ser_zoo.infer import format_rows

    rows = [
        {"start": s, "end": e, "label": "angry", "prob": 0.5, "probs": {"angry": 0.5, "sad": 0.5}}
        for s, e in ((0.0, 3.0), (1.5, 12.207), (3.0, 4.5))  # the end column is the wider
    ]
    lines = format_rows(rows, ["angry", "sad"], "table", key="start").splitlines()
    assert len({line.index("angry") if "angry" in line else line.index("emotion") for line in lines}) == 1
