"""How ``predict_waveforms`` reads clips: at the training length for nets that pool over padding, so an answer
is the bench's and never depends on the rest of the batch; whole for nets that mask padding."""

import numpy as np
import pytest
import torch

from ser_zoo.audio import pad_waves
from ser_zoo.inference import pools_over_padding, predict_waveforms, training_windows
from ser_zoo.lit import SERModule

SR = 16000


def module(model: str, model_kwargs: dict, frontend: dict | None) -> SERModule:
    torch.manual_seed(0)
    return SERModule(
        model=model,
        model_kwargs=model_kwargs,
        frontend=frontend,
        num_classes=4,
        class_names=["angry", "happy", "neutral", "sad"],
        example_seconds=1.0,
    ).eval()


def clips(*seconds: float) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [(0.3 * rng.standard_normal(int(s * SR))).astype(np.float32) for s in seconds]


def probs(rows) -> torch.Tensor:
    return torch.tensor([list(r["probs"].values()) for r in rows])


def direct(model, windows: list[np.ndarray], width: int) -> torch.Tensor:
    """The model's softmax on windows zero-padded to ``width``, lengths passed, as the bench's batches are."""
    with torch.no_grad():
        return model(*pad_waves(windows, width)).softmax(-1)


@pytest.mark.parametrize(
    "n, expected", [(800, [0]), (1000, [0]), (1500, [0, 250, 500]), (2600, [0, 533, 1067, 1600])]
)
def test_training_windows_cover_the_clip_from_start_to_end(n, expected):
    wave = np.arange(n, dtype=np.float32)
    windows = training_windows(wave, 1000)
    assert [int(w[0]) for w in windows] == expected
    assert all(len(w) == min(n, 1000) for w in windows) and windows[-1][-1] == n - 1


def test_a_cnn_answer_is_the_same_alone_and_beside_a_longer_clip():
    model = module("mel_cnn", {"channels": [4, 8], "hidden": 16}, {"name": "logmel", "n_mels": 40})
    assert pools_over_padding(model)
    short, long = clips(0.6, 2.3)
    alone = probs(predict_waveforms(model, [short]))
    together = probs(predict_waveforms(model, [short, long]))
    torch.testing.assert_close(together[:1], alone)
    torch.testing.assert_close(alone, direct(model, [short], SR))  # padded to the 1 s it was evaluated at
    windows = training_windows(long, SR)
    assert len(windows) == 4
    torch.testing.assert_close(together[1], direct(model, windows, SR).mean(0))
    assert not torch.allclose(
        together[1], direct(model, [long], len(long))[0], atol=1e-4
    )  # not the whole clip


def test_a_net_that_masks_padding_reads_whole_clips():
    model = module("mfcc_crnn", {}, None)  # its registered front-end: 40 MFCCs
    assert not pools_over_padding(model)
    short, long = clips(0.6, 2.3)
    together = probs(predict_waveforms(model, [short, long]))
    torch.testing.assert_close(together[1], direct(model, [long], len(long))[0])
    # the short clip's frames next to its padding still differ a little (convolutions cross the boundary)
    torch.testing.assert_close(together[0], direct(model, [short, long], len(long))[0])
