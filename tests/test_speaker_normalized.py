"""The shippable speaker-normalised classifier: its arithmetic, its zoo checkpoint, infer by speaker."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import SR, synthetic

from ser_zoo.audio import pad_waves
from ser_zoo.cli import main
from ser_zoo.errors import ConfigError, SerZooError
from ser_zoo.features.speaker_norm import SpeakerNormalizer
from ser_zoo.infer import load_model
from ser_zoo.models.speaker_normalized import MIN_SPEAKER_CLIPS, SpeakerNormalizedClassifier
from ser_zoo.weights import list_zoo
from ser_zoo.zoo import load_pretrained
from ser_zoo.zoo.checkpoints import model_card_markdown, zoo_table
from ser_zoo.zoo.push import hub_readme
from ser_zoo.zoo.speaker_normalized import export_speaker_normalized

NAMES = ["calm", "loud"]


def voices(n_speakers: int = 6, clips: int = 20, seed: int = 0):
    """Vectors where the class is a shift *within* each speaker, and speakers sit far apart: raw vectors mix
    the classes up, speaker-standardised ones separate them."""
    rng = np.random.default_rng(seed)
    x, y, spk = [], [], []
    for s in range(n_speakers):
        centre = rng.normal(scale=8.0, size=4)
        for i in range(clips):
            label = i % 2
            x.append(
                centre + rng.normal(scale=0.5, size=4) + (1.5 if label else -1.5) * np.array([1, 0, 0, 0])
            )
            y.append(label)
            spk.append(f"s{s}")
    return np.array(x), np.array(y), spk


def test_folded_weights_give_the_scikit_learn_pipelines_probabilities():
    """The scaler folded into the weights and the hand-written softmax equal StandardScaler + logistic
    regression on the speaker-normalised vectors (the bench's ``logreg:...:spknorm``)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y, spk = voices()
    model = SpeakerNormalizedClassifier.fit(x, y, spk, NAMES, "stats")
    norm = SpeakerNormalizer().fit(x, spk)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, C=1.0))
    pipe.fit(norm.transform(x, spk), y)
    xt, yt, st = voices(n_speakers=3, seed=1)
    expected = pipe.predict_proba(norm.transform(xt, st))
    np.testing.assert_allclose(model.probabilities(xt, st), expected, atol=1e-9)
    assert (model.probabilities(xt, st).argmax(1) == yt).mean() > 0.95
    assert model.num_params == 2 * 4 + 2 + 4  # two classes: two rows, though scikit-learn keeps one


def test_a_clip_is_judged_against_its_own_speaker():
    """The same vector is 'loud' among a quiet speaker's clips and 'calm' among a loud one's."""
    x, y, spk = voices()
    model = SpeakerNormalizedClassifier.fit(x, y, spk, NAMES, "stats")
    probe = np.zeros(4)
    quiet = np.vstack([probe, np.tile([-3.0, 0, 0, 0], (9, 1))])
    loud = np.vstack([probe, np.tile([3.0, 0, 0, 0], (9, 1))])
    assert model.probabilities(quiet, ["a"] * 10)[0].argmax() == 1
    assert model.probabilities(loud, ["b"] * 10)[0].argmax() == 0


def test_a_class_without_training_clips_is_named():
    x, y, spk = voices()
    with pytest.raises(ConfigError, match=r"labels \[0, 1\] do not cover the 3 classes"):
        SpeakerNormalizedClassifier.fit(x, y, spk, [*NAMES, "sad"], "stats")


def zoo(tmp_path: Path, vad_trim: bool = False) -> Path:
    """A speaker-normalised checkpoint on the ``stats`` vector (no pretrained network needed), trained on
    synthetic clips whose loudness marks the class within each of four 'speakers'."""
    from ser_zoo.models.classical import VectorFeatures

    waves, y, spk = [], [], []
    for s in range(4):
        for i in range(12):
            gain = (0.6 if i % 2 else 0.15) * (1 + s)
            waves.append(gain * synthetic(1.0, seed=100 * s + i))
            y.append(i % 2)
            spk.append(f"s{s}")
    model = SpeakerNormalizedClassifier(
        "stats", NAMES, np.ones(6), np.zeros((2, 6)), np.zeros(2), vad_trim=vad_trim
    )
    x = model.vectors(waves)
    np.testing.assert_allclose(
        x[:3], VectorFeatures("stats")(*pad_waves(waves[:3])).double().numpy(), rtol=1e-5, atol=1e-6
    )
    fitted = SpeakerNormalizedClassifier.fit(x, np.array(y), spk, NAMES, "stats", vad_trim=vad_trim)
    return export_speaker_normalized(fitted, "tiny_spknorm", tmp_path / "zoo", {"protocol": "synthetic"})


def test_the_checkpoint_round_trips_and_is_checked_against_its_sha256(tmp_path):
    weights = zoo(tmp_path)
    card = json.loads(weights.with_suffix(".json").read_text())
    assert card["kind"] == "speaker_normalized" and card["features"] == "stats" and card["params"] == 20
    assert "non-commercial" in card["licence"] and "at least 5" in weights.with_suffix(".md").read_text()
    model = load_pretrained(str(weights))
    assert isinstance(model, SpeakerNormalizedClassifier) and model.class_names == NAMES
    assert [c["name"] for c in list_zoo(weights.parent)] == ["tiny_spknorm"]
    assert "logreg" in zoo_table(list_zoo(weights.parent), weights.parent)[1]
    assert model_card_markdown(card) == weights.with_suffix(".md").read_text()  # what zoo push publishes
    assert "ser-zoo infer one_speaker_folder/ --model hf-hub:me/spk" in hub_readme(card, "me/spk")
    weights.write_bytes(weights.read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.raises(SerZooError, match="does not match its card"):
        load_pretrained(str(weights))


def test_predict_speaker_needs_several_clips_and_separates_within_a_speaker(tmp_path):
    model = load_pretrained(str(zoo(tmp_path)))
    clips = [(0.6 if i % 2 else 0.15) * 7 * synthetic(1.0, seed=900 + i) for i in range(8)]
    labels = [r["label"] for r in model.predict_speaker(clips)]
    assert labels == ["calm", "loud"] * 4  # a new, far louder voice: judged by its own spread
    with pytest.raises(ConfigError, match=f"3 clip\\(s\\) of the speaker; give at least {MIN_SPEAKER_CLIPS}"):
        model.predict_speaker(clips[:3])


def write_speaker(folder: Path, n: int, scale: float, seed: int) -> list[Path]:
    folder.mkdir(parents=True)
    out = []
    for i in range(n):
        path = folder / f"clip{i:02d}.wav"
        sf.write(path, (0.6 if i % 2 else 0.15) * scale * synthetic(1.0, seed=seed + i), SR)
        out.append(path)
    return out


def test_infer_groups_files_by_folder_and_skips_a_speaker_with_too_few(tmp_path, capsys):
    weights = zoo(tmp_path)
    write_speaker(tmp_path / "in" / "anna", 6, 2.0, 0)
    write_speaker(tmp_path / "in" / "ben", 6, 0.5, 50)
    write_speaker(tmp_path / "in" / "cara", 2, 1.0, 80)
    out = tmp_path / "rows.json"
    args = [
        "infer",
        str(tmp_path / "in"),
        "--model",
        str(weights),
        "--speech_gate",
        "off",
        "--format",
        "json",
    ]
    assert main([*args, "--out", str(out)]) == 1  # cara's files are skipped
    got = json.loads(out.read_text())
    assert {r["speaker"] for r in got["results"]} == {str(tmp_path / "in" / s) for s in ("anna", "ben")}
    assert [r["label"] for r in got["results"]] == ["calm", "loud"] * 6
    assert len(got["skipped"]) == 2 and "has 2 clip(s) with speech" in got["skipped"][0]["reason"]
    assert "note: speaker" in capsys.readouterr().err  # 6 clips: fewer than advised
    assert main([*args, "--out", str(out), "--speaker_by", "all"]) == 0  # one voice: 14 clips together
    together = json.loads(out.read_text())["results"]
    assert len(together) == 14
    assert main([*args, "--out", str(out), "--speaker_by", "all", "--batch_size", "4"]) == 0  # 4 batches
    batched = json.loads(out.read_text())["results"]
    assert [r["label"] for r in batched] == [r["label"] for r in together]
    assert [r["prob"] for r in batched] == pytest.approx([r["prob"] for r in together], abs=1e-5)


def test_a_file_whose_vector_fails_alone_is_reported_and_ctrl_c_keeps_the_speakers_done(
    tmp_path, monkeypatch
):
    from ser_zoo.speaker_infer import classify_speakers

    model = load_pretrained(str(zoo(tmp_path)))
    anna = write_speaker(tmp_path / "in" / "anna", 6, 2.0, 0)
    ben = write_speaker(tmp_path / "in" / "ben", 6, 0.5, 50)
    real = model.vectors

    def vectors(waves, *args, **kwargs):
        if any(len(w) == SR // 2 for w in waves):
            raise RuntimeError("odd clip")
        return real(waves, *args, **kwargs)

    sf.write(anna[2], 0.3 * synthetic(0.5, seed=7), SR)  # half a second: the clip its vector fails on
    monkeypatch.setattr(model, "vectors", vectors)
    rows, bad, _ = classify_speakers(model, anna + ben, batch_size=4, progress=False)
    assert [Path(r["file"]) for r in rows] == [p for p in anna + ben if p != anna[2]]
    assert bad == [(str(anna[2]), "could not be classified (RuntimeError: odd clip)")]

    calls = []

    def interrupted(waves, *args, **kwargs):
        calls.append(len(waves))
        if len(calls) == 3:  # anna's two batches are done; ben's first is under way
            raise KeyboardInterrupt
        return real(waves, *args, **kwargs)

    monkeypatch.setattr(model, "vectors", interrupted)
    sf.write(anna[2], 0.6 * 2.0 * synthetic(1.0, seed=2), SR)
    rows, bad, _ = classify_speakers(model, anna + ben, batch_size=4, progress=False)
    assert [Path(r["file"]) for r in rows] == anna  # a speaker is classified whole or not at all
    assert [f for f, _ in bad] == [str(p) for p in ben] and all("(Ctrl-C)" in why for _, why in bad)


def test_jobs_that_need_a_network_refuse_a_speaker_normalised_model(tmp_path, capsys):
    weights = zoo(tmp_path)
    write_speaker(tmp_path / "in", 5, 1.0, 0)
    with pytest.raises(ConfigError, match="speaker-normalised classifier.*ONNX export needs a network"):
        load_model(str(weights), purpose="ONNX export")
    from ser_zoo.models.ensemble import load_members

    with pytest.raises(
        ConfigError, match="ensemble member .*: a speaker-normalised classifier, not a network"
    ):
        load_members([str(weights)])
    base = ["infer", str(tmp_path / "in"), "--speech_gate", "off"]
    assert main([*base, "--model", str(weights), "--window", "1"]) == 2
    assert "--window and --vad cut one recording" in capsys.readouterr().err
    tiny = tmp_path / "tiny.ckpt"
    tiny.write_bytes(b"")  # never read: --speaker_by is refused first for any network model
    assert main([*base, "--speaker_by", "all"]) == 2
    assert "--speaker_by groups files for a speaker-normalised model" in capsys.readouterr().err


def test_the_shipped_checkpoint_classifies_a_real_speaker_from_files_as_from_the_bench_cache(data_root):
    """general6_spknorm through ``predict_speaker`` on one SAVEE speaker's files (Silero trim, CREPE, GE2E run
    now) names what the same arithmetic names on the vectors the bench's data module computes."""
    pytest.importorskip("resemblyzer")
    pytest.importorskip("torchcrepe")
    if "general6_spknorm" not in [c["name"] for c in list_zoo()]:
        pytest.skip("general6_spknorm is not shipped")
    from types import SimpleNamespace

    from ser_zoo.data.datamodule import SERDataModule
    from ser_zoo.models.classical import extract_features

    model = load_pretrained("general6_spknorm")
    dm = SERDataModule(
        root=str(data_root), protocol="savee-loso", fold=0, classes="emotions6", vad_trim=True, num_workers=0
    )  # fold 0 tests speaker DC; one small corpus keeps the set-up to seconds
    dm.prepare_data()
    dm.setup("test")
    ds = dm.datasets["test"]
    assert list(dm.class_names) == model.class_names
    rows = [i for i, c in enumerate(ds.clips) if c.speaker == "savee_DC"][::4][:12]
    clips = [ds.clips[i] for i in rows]
    dm.datasets["test"] = SimpleNamespace(
        clips=clips, labels=[ds.labels[i] for i in rows], cache=ds.cache, num_samples=ds.num_samples
    )
    x, y, _ = extract_features(dm, "test", model.features)
    cached = model.probabilities(x, ["DC"] * len(x))
    files = model.predict_speaker([c.path for c in clips])
    live = np.array([[r["probs"][k] for k in model.class_names] for r in files])
    assert (live.argmax(1) == cached.argmax(1)).mean() >= 11 / 12
    np.testing.assert_allclose(live, cached, atol=0.05)
    assert (cached.argmax(1) == y).mean() > 0.5  # heard in training: a sanity floor, not a figure


def test_evaluate_scores_each_speakers_clips_together_and_lists_thin_speakers(tmp_path):
    """``ser-zoo evaluate`` on your labelled folder: the speaker-normalised model's figures are each speaker's
    clips standardised together (as computed here by hand), marked as such; speakers with too few clips are
    left out and named."""
    from test_own_data import make_tree

    from ser_zoo.audio import load_audio
    from ser_zoo.evaluate import evaluate, format_report

    weights = zoo(tmp_path)
    mapping = {"angry": "loud", "neutral": "calm"}
    root = make_tree(tmp_path / "calls", labels=("angry", "neutral"), per=3)  # 6 clips per speaker
    result = evaluate(str(weights), str(root), label_map=mapping)
    [row] = result["folds"]
    assert result["speaker_normalized"] and result["speakers_left_out"] == [] and row["clips"] == 18
    model = load_pretrained(str(weights))
    pred, target = [], []
    for spk in ("ann", "bob", "cy"):
        files = [f for label in ("neutral", "angry") for f in sorted((root / label / spk).glob("*.wav"))]
        probs = model.probabilities(model.vectors([load_audio(f) for f in files]), [spk] * 6)
        pred += list(probs.argmax(1))
        target += [0] * 3 + [1] * 3
    pred, target = np.array(pred), np.array(target)
    assert row["ua"] == pytest.approx(np.mean([(pred[target == k] == k).mean() for k in (0, 1)]), abs=1e-6)
    assert "speaker-normalised: each speaker's clips were standardised together" in format_report(result)
    (root / "neutral" / "dan").mkdir()
    for k in range(2):  # dan: two clips, too few to standardise
        sf.write(root / "neutral" / "dan" / f"{k}.wav", 0.3 * synthetic(1.0, seed=k), SR)
    thin = evaluate(str(weights), str(root), label_map=mapping)
    assert thin["speakers_left_out"] == ["calls_dan"] and thin["folds"][0]["clips"] == 18
    assert "fewer than 5 clips (left out of the speaker-normalised scores, 1): calls_dan" in format_report(
        thin
    )
    few = make_tree(tmp_path / "few", labels=("angry", "neutral"))  # 4 clips per speaker
    with pytest.raises(ConfigError, match="no speaker has 5 clips, which the speaker-normalised"):
        evaluate(str(weights), str(few), label_map=mapping)


def test_listen_learns_the_voice_then_judges_each_window_against_it(tmp_path):
    """A live voice alternating quiet and loud 4 s stretches: the first emotion comes after 5 windows' worth
    of distinct speech (10 windows of 2 s every 1 s), then windows inside a loud stretch are 'loud' and inside
    a quiet one 'calm', judged against the voice heard so far."""
    from test_listen import FilePlayback

    from ser_zoo.listen import listen

    model = load_pretrained(str(zoo(tmp_path)))
    parts = [(0.6 if k % 2 else 0.15) * 3 * synthetic(4.0, seed=700 + k) for k in range(6)]  # 24 s
    path = tmp_path / "voice.wav"
    sf.write(path, np.concatenate(parts), SR)
    lines: list[str] = []
    rows = listen(model, FilePlayback(path), window_s=2.0, hop_s=1.0, out=lines.append)
    learning = [line for line in lines if "learning your voice" in line]
    assert len(learning) == 9 and learning[-1].endswith("(9/10 speech windows)")
    assert [r["time"] for r in rows] == [float(t) for t in range(11, 25)]
    inside = {r["time"]: r["label"] for r in rows if int(r["time"] - 2) // 4 == int(r["time"] - 1e-9) // 4}
    assert len(inside) == 11 and all(
        label == ("loud" if int(t - 1e-9) // 4 % 2 else "calm") for t, label in inside.items()
    )
