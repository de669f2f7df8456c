"""Readers parse the official names: counts, labels, speakers and genders equal the reference manifest."""

import csv
from collections import Counter

import pytest

from ser_zoo.data import CLASS_SETS, OFFICIAL_COUNTS, filter_classes, read_corpus, resolve_classes
from ser_zoo.data.corpora import read_ravdess, read_savee, read_tess
from ser_zoo.errors import ConfigError, SerZooError


def _manifest(root):
    with open(root / "manifest.csv", newline="") as f:
        return {row["path"]: row for row in csv.DictReader(f)}


@pytest.mark.parametrize("corpus", sorted(OFFICIAL_COUNTS))
def test_reader_matches_manifest(data_root, corpus):
    clips = read_corpus(corpus, data_root)
    assert len(clips) == OFFICIAL_COUNTS[corpus]
    manifest = _manifest(data_root)
    for clip in clips:
        row = manifest[str(clip.path)[len(str(data_root)) + 1 :]]
        assert (clip.corpus, clip.speaker, clip.gender, clip.emotion) == (
            row["corpus"],
            row["speaker"],
            row["gender"],
            row["emotion"],
        )
        assert clip.intensity == row["intensity"] and clip.text == row["text"]
    assert len({c.id for c in clips}) == len(clips), "clip ids must be unique"


def test_official_speaker_counts(data_root):
    speakers = {
        name: {(c.speaker, c.gender) for c in read_corpus(name, data_root)} for name in OFFICIAL_COUNTS
    }
    genders = {name: Counter(g for _, g in s) for name, s in speakers.items()}
    assert genders["ravdess"] == {"male": 12, "female": 12}
    assert genders["crema_d"] == {"male": 48, "female": 43}
    assert genders["tess"] == {"female": 2} and genders["savee"] == {"male": 4}


def test_tess_oddly_named_file_belongs_to_oaf(data_root):
    [clip] = [c for c in read_corpus("tess", data_root) if c.path.endswith("OA_bite_neutral.opus")]
    assert clip.speaker == "tess_OAF" and clip.emotion == "neutral" and clip.text == "bite"


def test_readers_accept_any_extension_and_skip_foreign_files(tmp_path):
    (tmp_path / "ravdess" / "Actor_03").mkdir(parents=True)
    for name in [
        "03-01-05-02-01-01-03.wav",
        "03-01-08-01-02-02-03.OGG",
        "03-02-05-02-01-01-03.wav",  # song: skipped
        "01-01-05-02-01-01-03.wav",
        "notes.txt",
        "README.wav",
    ]:
        (tmp_path / "ravdess" / "Actor_03" / name).write_bytes(b"x")
    clips = read_ravdess(tmp_path)
    assert [(c.emotion, c.intensity, c.gender, c.speaker) for c in clips] == [
        ("angry", "strong", "male", "ravdess_03"),
        ("surprised", "normal", "male", "ravdess_03"),
    ]
    (tmp_path / "savee" / "AudioData" / "JK").mkdir(parents=True)
    for name in ["sa03.flac", "su11.wav", "n30.flac", "x01.wav"]:
        (tmp_path / "savee" / "AudioData" / "JK" / name).write_bytes(b"x")
    assert sorted(c.emotion for c in read_savee(tmp_path)) == ["neutral", "sad", "surprised"]
    (tmp_path / "tess" / "YAF_pleasant_surprised").mkdir(parents=True)
    (tmp_path / "tess" / "YAF_pleasant_surprised" / "YAF_back_ps.wav").write_bytes(b"x")
    assert [(c.speaker, c.emotion) for c in read_tess(tmp_path)] == [("tess_YAF", "surprised")]


def test_class_sets():
    assert len(CLASS_SETS["emotions8"]) == 8
    assert "calm" not in resolve_classes("emotions7") and "surprised" in resolve_classes("emotions7")
    assert set(resolve_classes("emotions6")) == {"neutral", "happy", "sad", "angry", "fearful", "disgust"}
    with pytest.raises(ConfigError, match="emotions9"):
        resolve_classes("emotions9")
    with pytest.raises(ConfigError, match="joyful"):
        resolve_classes(["happy", "joyful"])


def test_union_six_class_filter(data_root):
    clips = filter_classes(
        [c for n in OFFICIAL_COUNTS for c in read_corpus(n, data_root)], resolve_classes("emotions6")
    )
    assert not {c.emotion for c in clips} & {"calm", "surprised"}
    assert (
        len(clips) == 12162 - 192 - 192 - 400 - 60
    )  # all clips minus RAVDESS calm/surprised, TESS ps, SAVEE su


def test_unknown_corpus_and_missing_folder(tmp_path):
    with pytest.raises(ConfigError, match="unknown corpus 'iemocap'"):
        read_corpus("iemocap", tmp_path)
    with pytest.raises(SerZooError, match="corpus folder not found"):
        read_corpus("ravdess", tmp_path)
