"""MFCC-CRNN (the Mel/MFCC CNN and CRNN article's): any clip length, packed GRU that ignores batch padding,
config errors."""

import pytest
import torch

from ser_zoo import create_model
from ser_zoo.errors import ConfigError
from ser_zoo.lit.module import SERModule


def test_crnn_rejects_an_empty_conv_stack():
    with pytest.raises(ConfigError, match="channels is empty"):
        create_model("mfcc_crnn", num_classes=7, channels=[])


def test_crnn_takes_any_length():
    net = create_model("mfcc_crnn", num_classes=7).eval()
    with torch.no_grad():
        short, long = net(torch.randn(2, 1, 40, 37)), net(torch.randn(2, 1, 40, 211))
    assert short.shape == long.shape == (2, 7)


def test_crnn_prediction_ignores_batch_padding_past_the_clip():
    """A 1 s clip (101 frames, 25 GRU steps) padded to 3 s: frames past the convolutions' reach (4*25+6)
    may hold anything; the packed GRU never reads them. An unpacked backward GRU would start in them."""
    torch.manual_seed(0)
    net = create_model("mfcc_crnn", num_classes=7).eval()
    a = torch.randn(1, 1, 40, 301)
    b = a.clone()
    b[..., 107:] = torch.randn_like(b[..., 107:]) * 5
    lengths = torch.tensor([16000])
    with torch.no_grad():
        torch.testing.assert_close(net(a, lengths=lengths), net(b, lengths=lengths))
        assert not torch.allclose(net(a), net(b))  # without lengths the whole width counts


def test_crnn_in_a_padded_batch_through_the_module():
    torch.manual_seed(0)
    module = SERModule(model="mfcc_crnn", num_classes=7, example_seconds=1.0).eval()
    wave = 0.1 * torch.randn(2, 32000)
    wave[1, 12000:] = 0.0
    with torch.no_grad():
        logits = module(wave, torch.tensor([32000, 12000]))
    assert logits.shape == (2, 7) and torch.isfinite(logits).all()
