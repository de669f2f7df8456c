"""Your own corpus: folder and manifest layouts, the label map, protocols on any corpus, bad input, and caches
that survive a moved or renamed corpus."""

import dataclasses
import json
import logging
import shutil

import numpy as np
import pytest
import soundfile as sf

from ser_zoo.data.datamodule import SERDataModule
from ser_zoo.data.sources import class_names, read_sources
from ser_zoo.data.splits import check_protocol, get_protocol, with_folds
from ser_zoo.errors import ConfigError, SerZooError

SR = 16000
FREQ = {"angry": 220.0, "joy": 330.0, "neutral": 440.0, "frustrated": 550.0}


def tone(freq, seconds=0.5, seed=0):
    t = np.arange(int(seconds * SR)) / SR
    noise = 0.01 * np.random.default_rng(seed).standard_normal(t.size)
    return (0.3 * np.sin(2 * np.pi * freq * t) + noise).astype(np.float32)


def make_tree(root, labels=("angry", "joy", "neutral"), speakers=("ann", "bob", "cy"), per=2, ext="wav"):
    """``root/<label>/<speaker>/<n>.<ext>`` (no speaker level when ``speakers`` is empty)."""
    for i, label in enumerate(labels):
        for j, spk in enumerate(speakers or [""]):
            folder = root / label / spk if spk else root / label
            folder.mkdir(parents=True, exist_ok=True)
            for k in range(per):
                sf.write(str(folder / f"{k:02d}.{ext}"), tone(FREQ[label], seed=100 * i + 10 * j + k), SR)
    return root


def write_manifest(path, rows, header="path,label,speaker,gender", sep=","):
    path.write_text("\n".join([header.replace(",", sep)] + [sep.join(r) for r in rows]) + "\n")
    return path


# --- layouts -----------------------------------------------------------------------------------------------
def test_folder_with_label_and_speaker_folders(tmp_path):
    root = make_tree(tmp_path / "calls")
    (root / "angry" / "ann" / "notes.txt").write_text("x")
    table = read_sources([str(root)], tmp_path)
    assert len(table.clips) == 18 and table.custom and not table.without_speakers
    clip = next(c for c in table.clips if c.key == "angry/ann/00.wav")
    assert (clip.corpus, clip.speaker, clip.emotion, clip.id) == (
        "calls",
        "calls_ann",
        "angry",
        "angry/ann/00.wav",
    )
    assert [s.path.split("/")[-1] for s in table.skipped] == ["notes.txt"]
    assert class_names(table, None, "") == ("neutral", "angry", "joy")  # vocabulary order, then the others


def test_folder_with_label_folders_only_has_no_speakers(tmp_path):
    root = make_tree(tmp_path / "flat", speakers=())
    (root / "stray.wav").write_bytes(b"x")
    table = read_sources([str(root)], tmp_path)
    assert len(table.clips) == 6 and {c.speaker for c in table.clips} == {""}
    assert table.without_speakers == [str(root)]
    assert "not inside a label folder" in table.skipped[0].reason


@pytest.mark.parametrize("kind", ["csv", "tsv", "jsonl", "semicolon"])
def test_manifests_resolve_paths_against_themselves(tmp_path, kind, monkeypatch):
    make_tree(tmp_path / "audio")
    rows = [("audio/angry/ann/00.wav", "anger", "ann", "F"), ("audio/joy/bob/01.wav", "Joy", "bob", "male")]
    if kind == "jsonl":
        keys = ("path", "label", "speaker", "gender")
        path = tmp_path / "list.jsonl"
        path.write_text("\n".join(json.dumps(dict(zip(keys, r))) for r in rows) + "\n\n")
    else:
        sep = {"csv": ",", "tsv": "\t", "semicolon": ";"}[kind]
        path = write_manifest(tmp_path / f"list.{'tsv' if kind == 'tsv' else 'csv'}", rows, sep=sep)
    elsewhere = tmp_path / "run"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # relative paths resolve against the manifest, not the working directory
    table = read_sources([str(path)], tmp_path, label_map={"anger": "angry", "joy": "happy"})
    assert [(c.key, c.emotion, c.speaker, c.gender) for c in table.clips] == [
        ("audio/angry/ann/00.wav", "angry", "list_ann", "female"),
        ("audio/joy/bob/01.wav", "happy", "list_bob", "male"),
    ]
    assert not table.missing


def test_builtin_names_and_paths_mix(tmp_path, data_root):
    root = make_tree(tmp_path / "calls")
    dm = SERDataModule(root=str(data_root), protocol="speaker-kfold", corpora=["savee", str(root)])
    assert dm.class_names == ["neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised", "joy"]
    corpora = {c.corpus for c in dm.table.clips}
    assert corpora == {"savee", "calls"}
    merged = SERDataModule(root=str(data_root), protocol="savee-loso", label_map={"surprised": "happy"})
    assert merged.class_names == [
        "neutral",
        "happy",
        "sad",
        "angry",
        "fearful",
        "disgust",
    ]  # a built-in's too
    assert sum(c.emotion == "happy" for c in merged.table.clips) == 120


# --- labels ------------------------------------------------------------------------------------------------
def test_label_map_classes_and_unknown_labels(tmp_path):
    root = make_tree(tmp_path / "d", labels=("angry", "joy", "frustrated"))
    table = read_sources([str(root)], tmp_path, label_map={"joy": "happy"})
    assert class_names(table, None, "") == ("happy", "angry", "frustrated")  # 'frustrated' kept as it is
    assert class_names(table, ["frustrated", "angry"], "") == ("frustrated", "angry")
    with pytest.raises(ConfigError, match=r"unknown label \['sad'\] in data.classes; labels found: "):
        class_names(table, ["sad", "angry"], "")
    with pytest.raises(
        ConfigError, match=r"renames \['jooy'\].*labels found: \['angry', 'frustrated', 'joy'\]"
    ):
        read_sources([str(root)], tmp_path, label_map={"jooy": "happy"})
    dm = SERDataModule(protocol="speaker-kfold", corpora=str(root), classes=["angry", "frustrated"])
    assert dm.num_classes == 2


# --- protocols ---------------------------------------------------------------------------------------------
def speaker_manifest(tmp_path, speakers=6, labels=("angry", "joy", "neutral"), per=2, split=None):
    """A manifest over placeholder files (splits need no audio): speakers alternate female and male."""
    (tmp_path / "a").mkdir(exist_ok=True)
    rows = []
    for s in range(speakers):
        for label in labels:
            for k in range(per):
                f = tmp_path / "a" / f"s{s}_{label}_{k}.wav"
                f.write_bytes(b"x")
                row = (f"a/{f.name}", label, f"s{s}", "female" if s % 2 else "male")
                rows.append(row + ((split(s),) if split else ()))
    header = "path,label,speaker,gender" + (",split" if split else "")
    return write_manifest(tmp_path / "m.csv", rows, header=header)


@pytest.mark.parametrize("name", ["speaker-kfold", "loso", "given-split"])
def test_speaker_protocols_keep_each_speaker_on_one_side(tmp_path, name):
    split = (lambda s: "test" if s == 0 else "train") if name == "given-split" else None
    clips = read_sources([str(speaker_manifest(tmp_path, split=split))], tmp_path).clips
    protocol = with_folds(get_protocol(name), 3) if name == "speaker-kfold" else get_protocol(name)
    assert check_protocol(clips, protocol).errors == []
    tested = set()
    for fold in range(protocol.num_folds(clips)):
        s = protocol.split(clips, fold)
        train, val, test = ({clips[i].speaker for i in part} for part in (s.train, s.val, s.test))
        assert train and val and test and not (train & val) and not (train & test) and not (val & test)
        tested |= test
        if name == "speaker-kfold":  # gender-stratified: each test fold has both genders
            assert {clips[i].gender for i in s.test} == {"male", "female"}
    assert tested == ({"m_s0"} if name == "given-split" else {c.speaker for c in clips})


def test_without_speakers_only_random_split_runs(tmp_path, caplog):
    root = make_tree(tmp_path / "flat", speakers=(), per=4)
    with pytest.raises(ConfigError, match="splits by speaker but flat .* has no speakers.*random-split"):
        SERDataModule(protocol="speaker-kfold", corpora=str(root), num_workers=0).setup("fit")
    dm = SERDataModule(protocol="random-split", corpora=str(root), num_workers=0, clip_seconds=0.5)
    with caplog.at_level(logging.WARNING, logger="ser_zoo"):
        dm.setup("fit")
    assert "not speaker-independent" in caplog.text
    assert sum(len(dm.datasets[s]) for s in ("train", "val", "test")) == 12


def test_protocol_faults_are_named(tmp_path):
    clips = read_sources([str(speaker_manifest(tmp_path, speakers=4, per=1))], tmp_path).clips
    errors, warnings = check_protocol(clips, with_folds(get_protocol("speaker-kfold"), 5))
    assert any("needs at least 5 speakers" in e for e in errors)
    assert any("label 'angry' has 4 clips, fewer than the 5 folds" in e for e in errors)
    (tmp_path / "b").mkdir()
    pairs = read_sources([str(speaker_manifest(tmp_path / "b", speakers=4, per=2))], tmp_path).clips
    few = [c for c in pairs if not (c.emotion == "joy" and c.speaker in ("m_s0", "m_s1"))]
    errors, warnings = check_protocol(few, get_protocol("loso"))
    assert not errors and any(
        "label 'joy' is spoken by 2 speakers, fewer than the 4 folds" in w for w in warnings
    )
    one = [c for c in clips if c.speaker != "m_s3"] + [next(c for c in clips if c.speaker == "m_s3")]
    assert any(
        "1 speakers have a single clip (m_s3)" in w for w in check_protocol(one, get_protocol("loso"))[1]
    )
    errors, _ = check_protocol(clips[:6], get_protocol("loso"))
    assert errors == [
        "protocol 'loso' needs 3 or more speakers (one tests, the next validates, the rest train); found 2"
    ]
    given = get_protocol("given-split")
    [error] = check_protocol(clips, given).errors
    assert "reads the manifest's split column, which m (12 clips) lacks" in error
    leaky = [
        dataclasses.replace(c, split="test" if c.key.endswith("_neutral_0.wav") else "train") for c in clips
    ]
    errors, warnings = check_protocol(leaky, given)
    assert not errors and any("4 speakers are in both train and test" in w for w in warnings)
    with pytest.raises(ConfigError, match="data.folds sets the folds of speaker-kfold"):
        with_folds(get_protocol("loso"), 3)
    with pytest.raises(ConfigError, match="for your own data use --data.protocol speaker-kfold"):
        SERDataModule(protocol="ravdess-6fold", corpora=[str(tmp_path / "m.csv")])


# --- bad input ---------------------------------------------------------------------------------------------
def one_line(excinfo, *words):
    msg = str(excinfo.value)
    assert "\n" not in msg, msg
    for w in words:
        assert w in msg, msg


def test_bad_manifests_fail_with_one_line(tmp_path):
    make_tree(tmp_path / "audio")
    good = "audio/angry/ann/00.wav"
    cases = {
        "nolabel.csv": (
            "path,emotion\n" + good + ",angry\n",
            ["no 'label' column", "columns found: path, emotion"],
        ),
        "mixed.csv": (
            f"path,label\n{good},angry\naudio/joy/ann/00.wav;joy\n",
            ["line 3 has 1 fields", "one separator"],
        ),
        "dup.csv": (f"path,label\n{good},angry\n./{good},angry\n", ["line 3 repeats the file of line 2"]),
        "win.csv": (
            "path,label\nC:\\data\\angry\\00.wav,angry\n",
            ["Windows path", "relative to the manifest"],
        ),
        "split.csv": (f"path,label,split\n{good},angry,holdout\n", ["split 'holdout'", "train, val or test"]),
        "blank.csv": (
            f"path,label,speaker\n{good},angry,\n",
            ["speaker column is empty on 1 rows (lines 2)"],
        ),
        "empty.csv": ("\n\n", ["empty manifest"]),
        "list.txt": ("whatever", ["a '.txt' file"]),
    }
    for name, (text, words) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(SerZooError) as e:
            read_sources([str(tmp_path / name)], tmp_path)
        one_line(e, name, *words)
    (tmp_path / "latin1.csv").write_bytes("path,label\naudio/angry/ann/00.wav,colère\n".encode("latin-1"))
    with pytest.raises(SerZooError) as e:
        read_sources([str(tmp_path / "latin1.csv")], tmp_path)
    one_line(e, "not UTF-8 text (byte 0xe8 on line 2)", "save it as UTF-8")
    (tmp_path / "nothere").mkdir()
    with pytest.raises(SerZooError) as e:
        read_sources([str(tmp_path / "nothere")], tmp_path)
    one_line(e, "no audio files found")
    with pytest.raises(SerZooError) as e:
        read_sources([str(tmp_path / "typo")], tmp_path)
    one_line(e, "no such folder or manifest, and not a built-in corpus name")


def test_windows_separators_read_and_missing_files_stop_fit(tmp_path):
    make_tree(tmp_path / "audio")
    rows = [
        ("audio\\angry\\ann\\00.wav", "angry", "ann", "f"),
        ("audio/joy/ann/00.wav", "joy", "ann", "f"),
        ("audio/joy/ann/gone.wav", "joy", "ann", "f"),
        ("audio/angry/zed/gone.wav", "angry", "zed", "m"),
    ]
    path = write_manifest(tmp_path / "m.csv", rows)
    table = read_sources([str(path)], tmp_path)
    assert table.clips[0].key == "audio/angry/ann/00.wav"
    assert table.missing == ["audio/joy/ann/gone.wav (line 4)", "audio/angry/zed/gone.wav (line 5)"]
    with pytest.raises(SerZooError) as e:
        SERDataModule(protocol="random-split", corpora=str(path), num_workers=0).setup("fit")
    one_line(
        e, "2 files listed in the manifest do not exist: audio/joy/ann/gone.wav (line 4), audio/angry/zed"
    )


def test_mixed_folder_layouts_fail(tmp_path):
    root = make_tree(tmp_path / "d")
    sf.write(str(root / "angry" / "loose.wav"), tone(220.0), SR)
    with pytest.raises(ConfigError) as e:
        read_sources([str(root)], tmp_path)
    one_line(
        e, "mixed layouts: 1 files sit directly in label folders (angry/loose.wav) and 18 in speaker folders"
    )


# --- training on it ----------------------------------------------------------------------------------------
def test_data_module_trains_on_a_folder_and_lists_unreadable_clips(tmp_path, caplog):
    root = make_tree(tmp_path / "calls", speakers=("ann", "bob", "cy", "dee"))
    (root / "joy" / "bob" / "broken.wav").write_text("not audio")
    sf.write(str(root / "joy" / "bob" / "quiet.wav"), np.zeros(SR, np.float32), SR)
    dm = SERDataModule(
        protocol="loso", corpora=str(root), fold=1, num_workers=0, clip_seconds=0.5, batch_size=4
    )
    dm.setup("fit")
    assert {c.speaker for c in dm.stage_clips("test")} == {"calls_bob"}
    assert {c.speaker for c in dm.stage_clips("val")} == {"calls_cy"}  # the next speaker, a training speaker
    assert len(dm.stage_clips("test")) == 6  # broken.wav and quiet.wav left out
    batch = next(iter(dm.train_dataloader()))
    assert batch["audio"].shape == (4, 8000) and batch["clip"][0].startswith("own-16000/")
    np.testing.assert_allclose(dm.full_clip(batch["clip"][0]).shape, (8000,))
    again = SERDataModule(protocol="loso", corpora=str(root), fold=1, num_workers=0, clip_seconds=0.5)
    with caplog.at_level(logging.WARNING, logger="ser_zoo"):
        again.setup("fit")  # a cached run lists the unreadable clips again
    assert (
        "joy/bob/broken.wav: " in caplog.text
        and "joy/bob/quiet.wav: " in caplog.text
        and "silent" in caplog.text
    )


def test_moved_or_renamed_corpus_reuses_its_caches(tmp_path):
    root = make_tree(tmp_path / "calls")
    first = SERDataModule(protocol="loso", corpora=str(root), num_workers=0, clip_seconds=0.5)
    first.setup("fit")
    [cache] = first._sources["own-16000"]
    keys = sorted(first.datasets["train"][i].clip_key for i in range(len(first.datasets["train"])))
    moved = tmp_path / "elsewhere" / "calls_v2"
    moved.parent.mkdir()
    shutil.move(str(root), str(moved))  # mv keeps mtimes
    second = SERDataModule(protocol="loso", corpora=str(moved), num_workers=0, clip_seconds=0.5)
    second.setup("fit")
    [reused] = second._sources["own-16000"]
    assert reused.dir == cache.dir and not reused.built  # the waveform cache is found again
    assert sorted(second.datasets["train"][i].clip_key for i in range(len(second.datasets["train"]))) == keys
    assert {c.speaker for c in second.table.clips} == {"calls_v2_ann", "calls_v2_bob", "calls_v2_cy"}
