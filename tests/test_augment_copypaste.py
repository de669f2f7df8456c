"""CopyPaste: a drawn clip keeps part of itself, a partner of the batch fills the rest, labels stay."""

import doctest
import math

import pytest
import torch

from ser_zoo.augment import Augmentation, copypaste
from ser_zoo.augment.copypaste import CopyPaste
from ser_zoo.errors import ConfigError

NEUTRAL, ANGRY, SAD = 0, 1, 2


def rows(*values: int, width: int = 10) -> torch.Tensor:
    """One constant row per value, so every output sample names the clip it came from."""
    return torch.tensor(values, dtype=torch.float32)[:, None].repeat(1, width)


def segments(row: torch.Tensor) -> list[tuple[float, int]]:
    """(value, run length) of a row's consecutive runs."""
    values, counts = torch.unique_consecutive(row, return_counts=True)
    return list(zip(values.tolist(), counts.tolist()))


def test_a_clip_keeps_its_share_and_a_neutral_clip_fills_the_rest():
    cp = CopyPaste("neutral", share=(0.5, 0.5), neutral_index=NEUTRAL)
    wave, lengths = rows(1, 2, 3), torch.full((3,), 10)
    labels = torch.tensor([ANGRY, NEUTRAL, SAD])
    seen_orders = set()
    for seed in range(8):
        torch.manual_seed(seed)
        out, out_len = cp(wave, lengths, labels, torch.ones(3, dtype=torch.bool))
        assert out_len.tolist() == [10, 10, 10]
        for i, own in ((0, 1.0), (2, 3.0)):  # the one neutral clip (value 2) is every partner
            runs = segments(out[i])
            assert sorted(runs) == sorted([(own, 5), (2.0, 5)]), runs
            seen_orders.add(runs[0][0] == own)
        assert torch.equal(out[1], wave[1])  # no other neutral clip in the batch: unchanged
    assert seen_orders == {True, False}  # both orders occur


def test_short_clips_join_their_valid_parts_and_report_the_new_length():
    cp = CopyPaste("neutral", share=(0.9, 0.9), neutral_index=NEUTRAL)
    wave = rows(1, 2)
    wave[0, 3:] = 0.0  # 3 valid samples
    wave[1, 4:] = 0.0  # 4 valid samples
    lengths, labels = torch.tensor([3, 4]), torch.tensor([ANGRY, NEUTRAL])
    for seed in range(6):
        torch.manual_seed(seed)
        out, out_len = cp(wave, lengths, labels, torch.tensor([True, False]))
        assert out_len.tolist() == [7, 4]
        assert sorted(segments(out[0, :7])) == [(1.0, 3), (2.0, 4)] and not out[0, 7:].any()
        assert torch.equal(out[1], wave[1])


def test_same_pairs_clips_of_one_class_and_leaves_undrawn_rows_alone():
    cp = CopyPaste("same", share=(0.3, 0.7))
    wave, lengths = rows(1, 2, 3, 4, 5), torch.full((5,), 10)
    labels = torch.tensor([ANGRY, SAD, ANGRY, SAD, NEUTRAL])
    apply = torch.tensor([True, True, True, False, True])
    torch.manual_seed(0)
    out, _ = cp(wave, lengths, labels, apply)
    partner_of = {0: 3.0, 1: 4.0, 2: 1.0}
    for i, other in partner_of.items():
        assert set(out[i].unique().tolist()) == {float(i + 1), other}
    assert torch.equal(out[3], wave[3]) and torch.equal(out[4], wave[4])  # not drawn; alone in its class


def test_the_pipeline_runs_it_first_with_the_labels_and_only_in_training():
    aug = Augmentation({"copypaste": {"p": 1.0, "share": [0.5, 0.5]}}, class_names=["neutral", "angry"])
    wave, lengths, labels = rows(1, 2), torch.full((2,), 10), torch.tensor([ANGRY, NEUTRAL])
    out, _ = aug.train().waveforms(wave, lengths, labels)
    assert sorted(segments(out[0])) == [(1.0, 5), (2.0, 5)]
    with pytest.raises(ValueError, match="pass labels"):
        aug.waveforms(wave, lengths)
    assert aug.eval().waveforms(wave, lengths, labels)[0] is wave


@pytest.mark.parametrize(
    "spec, classes, message",
    [
        ({"copypaste": {}}, ["angry", "sad"], "partner=neutral needs a 'neutral' class"),
        ({"copypaste": {"partner": "calm"}}, ["neutral"], "partner='calm'; use one of"),
        (
            {"copypaste": {"share": [0.0, 0.5]}},
            ["neutral"],
            "copypaste.share: range \\[0, 0.5\\] is impossible",
        ),
        ({"copypaste": {"ratio": 0.5}}, ["neutral"], "copypaste has no option \\['ratio'\\]"),
        ({"copypaste": {"p": 2}}, ["neutral"], "copypaste.p=2; use a probability"),
    ],
)
def test_impossible_settings_fail_with_one_clear_line(spec, classes, message):
    with pytest.raises(ConfigError, match=message):
        Augmentation(spec, class_names=classes)


def test_a_model_trains_with_it(data_root, tmp_path):
    """The module hands the augmentation its class names (else: no neutral class) and the batch's labels
    (else: ValueError)."""
    from conftest import smoke_fit

    _, metrics = smoke_fit(
        data_root,
        tmp_path,
        "mel_cnn",
        model_kwargs={"channels": [4, 8], "hidden": 16},
        clip_seconds=1.0,
        augment={"copypaste": {"p": 1.0}},
    )
    assert math.isfinite(metrics["test/loss"])


def test_docstring_example_runs():
    result = doctest.testmod(copypaste, extraglobs={"torch": torch})
    assert result.failed == 0 and result.attempted > 0
