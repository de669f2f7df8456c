"""A zoo checkpoint on your own classes: head rows of shared classes kept, and zero-shot scores on them."""

import json

import numpy as np
import pytest
import torch
from test_own_data import make_tree
from test_zoo import CLASSES8, SMALL, fit_ckpt

from ser_zoo.audio import load_audio
from ser_zoo.errors import ConfigError
from ser_zoo.evaluate import evaluate, format_report
from ser_zoo.inference import predict_waveforms
from ser_zoo.lit import SERModule
from ser_zoo.zoo import export_checkpoint, init_from_pretrained, load_pretrained


@pytest.fixture
def tiny(tmp_path):
    """A tiny 8-class mel_cnn zoo checkpoint (1 s crops) and the module it was exported from."""
    module, ckpt = fit_ckpt(tmp_path)
    return module, str(export_checkpoint(ckpt, "tiny8", tmp_path / "zoo", fp16=False))


def new_module(class_names):
    torch.manual_seed(1)
    return SERModule(
        model="mel_cnn",
        model_kwargs=SMALL,
        frontend={"name": "logmel", "n_mels": 40},
        num_classes=len(class_names),
        class_names=class_names,
        example_seconds=1.0,
    )


def test_head_rows_of_shared_classes_are_kept(tiny):
    trained, weights = tiny
    old_w, old_b = trained.net.head[5].weight.detach(), trained.net.head[5].bias.detach()
    fresh = new_module(["angry", "frustrated", "happy"])
    init_w = fresh.net.head[5].weight.detach().clone()
    start = init_from_pretrained(fresh, weights)
    assert start.kept_classes == ["angry", "happy"] and sorted(start.fresh) == [
        "net.head.5.bias",
        "net.head.5.weight",
    ]
    w, b = fresh.net.head[5].weight.detach(), fresh.net.head[5].bias.detach()
    torch.testing.assert_close(w[0], old_w[CLASSES8.index("angry")])
    torch.testing.assert_close(w[2], old_w[CLASSES8.index("happy")])
    torch.testing.assert_close(b[2], old_b[CLASSES8.index("happy")])
    torch.testing.assert_close(w[1], init_w[1])  # 'frustrated': the zoo never heard of it, fresh row
    torch.testing.assert_close(fresh.net.features[0][0].weight, trained.net.features[0][0].weight)  # backbone
    # as many classes in another order: the rows follow the names, not the positions
    shuffled = CLASSES8[::-1]
    again = new_module(shuffled)
    assert init_from_pretrained(again, weights).kept_classes == shuffled
    torch.testing.assert_close(again.net.head[5].weight.detach(), old_w.flip(0))


def test_zero_shot_scores_only_shared_classes(tiny, tmp_path):
    _, weights = tiny
    root = make_tree(tmp_path / "calls", labels=("angry", "joy", "neutral", "frustrated"))
    result = evaluate(weights, str(root), label_map={"joy": "happy"})
    assert result["shared_classes"] == ["neutral", "happy", "angry"]
    assert result["model_only_classes"] == ["calm", "sad", "fearful", "disgust", "surprised"]
    assert result["data_only_labels"] == {"frustrated": 6}
    [row] = result["folds"]
    assert row["clips"] == 18 and row["fold"] is None
    # the same numbers by hand: the model on each clip, its choice restricted to the shared classes
    model = load_pretrained(weights)
    files = [f for label in ("neutral", "joy", "angry") for f in sorted((root / label).rglob("*.wav"))]
    target = np.repeat([0, 1, 2], 6)
    probs = predict_waveforms(model, [load_audio(f) for f in files])
    shared = ["neutral", "happy", "angry"]
    pred = np.array([int(np.argmax([p["probs"][c] for c in shared])) for p in probs])
    assert row["wa"] == pytest.approx(float((pred == target).mean()), abs=1e-6)
    recall = [float((pred[target == k] == k).mean()) for k in range(3)]
    assert row["ua"] == pytest.approx(float(np.mean(recall)), abs=1e-6)
    text = format_report(result)
    assert "scored: the 3 classes the model and the data share: neutral, happy, angry" in text
    assert "data labels the model lacks (left out): frustrated (6 clips)" in text


def test_zero_shot_per_fold_and_heard_speakers(tiny, tmp_path):
    _, weights = tiny
    root = make_tree(tmp_path / "calls")
    result = evaluate(weights, [str(root)], protocol="loso", label_map={"joy": "happy"})
    assert [r["test_speakers"] for r in result["folds"]] == [["calls_ann"], ["calls_bob"], ["calls_cy"]]
    uas = [r["ua"] for r in result["folds"]]
    assert result["summary"]["ua"]["mean"] == pytest.approx(np.mean(uas))
    assert result["summary"]["ua"]["std"] == pytest.approx(np.std(uas, ddof=1))
    assert "loso           mean ± std over 3 folds" in format_report(result)
    card_path = tmp_path / "zoo" / "tiny8.json"
    card = json.loads(card_path.read_text())
    card_path.write_text(json.dumps({**card, "heard_speakers": ["calls_bob", "ravdess_01"]}))
    with pytest.raises(
        ConfigError, match=r"heard 1 of these speakers .*\(calls_bob\).*not be speaker-independent"
    ):
        evaluate(weights, str(root), label_map={"joy": "happy"})
    with pytest.raises(
        ConfigError, match="share none; map your labels onto the model's with --data.label_map"
    ):
        evaluate(weights, str(make_tree(tmp_path / "other", labels=("joy", "frustrated"))))


def test_heard_speakers_of_a_fit_on_your_own_data(tmp_path):
    """A fit on your folder: the speakers its weights heard come from the saved corpora, protocol and fold."""
    from ser_zoo.zoo.heard import saved_heard_speakers

    root = make_tree(tmp_path / "calls", speakers=("ann", "bob", "cy", "dee"))
    data = {
        "protocol": "loso",
        "fold": 1,
        "corpora": str(root),
        "classes": None,
        "label_map": {"joy": "happy"},
    }
    heard = saved_heard_speakers({"datamodule_hyper_parameters": data}, "fit.ckpt", root=tmp_path)
    assert heard == [
        "calls_ann",
        "calls_cy",
        "calls_dee",
    ]  # bob tests fold 1; cy validates, ann and dee train
