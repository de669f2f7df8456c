"""Plain CNNs on spectrogram images: the Mel/MFCC CNN and CRNN article's Mel-CNN and MFCC-CNN."""

from __future__ import annotations

from torch import Tensor, nn

from .registry import register_model
from .sources import MEL_MFCC_CNN_ARTICLE


def conv_block(c_in: int, c_out: int, pool: tuple[int, int] = (2, 2)) -> nn.Sequential:
    """Conv2d 3x3 (no bias), BatchNorm2d, ReLU, MaxPool2d(``pool``): (B, c_in, F, T) -> (B, c_out, F', T')."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(pool),
    )


class SpectrogramCNN(nn.Module):
    """Conv-BN-ReLU-pool blocks, global average pooling over frequency and time, and a dense head.

    The article describes its Mel-CNN only as "a CNN trained on mel spectrograms" (no layer table), so this
    is the standard 4-block reconstruction; global pooling makes it independent of clip length. Each block
    halves frequency and time, so the input needs at least ``2 ** len(channels)`` rows and frames.

    Args:
        num_classes (int): Number of output classes.
        channels (tuple of int, optional): Output channels of the conv blocks.
            (Default: ``(32, 64, 128, 256)``)
        in_chans (int, optional): Input channels of the image. (Default: ``1``)
        hidden (int, optional): Width of the hidden dense layer. (Default: ``256``)
        dropout (float, optional): Dropout before the output layer. (Default: ``0.3``)

    Shape:
        - Input: ``(B, in_chans, F, T)``, any ``F, T >= 2 ** len(channels)``.
        - Output: ``(B, num_classes)`` logits.

    Example:
        >>> model = SpectrogramCNN(num_classes=7)
        >>> model(torch.randn(2, 1, 64, 301)).shape
        torch.Size([2, 7])
    """

    def __init__(
        self,
        num_classes: int,
        channels: tuple[int, ...] = (32, 64, 128, 256),
        in_chans: int = 1,
        hidden: int = 256,
        dropout: float = 0.3,
    ):
        super().__init__()
        widths = (in_chans, *channels)
        self.features = nn.Sequential(*[conv_block(a, b) for a, b in zip(widths[:-1], widths[1:])])
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(channels[-1], hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


@register_model(
    "mel_cnn",
    frontend={"name": "logmel", "n_mels": 64},
    source=MEL_MFCC_CNN_ARTICLE,
    description="4-block CNN on log-mel spectrograms",
)
def mel_cnn(
    num_classes: int,
    channels: tuple[int, ...] = (32, 64, 128, 256),
    in_chans: int = 1,
    hidden: int = 256,
    dropout: float = 0.3,
) -> nn.Module:
    """Mel-CNN: a :class:`SpectrogramCNN` on the 64-band log-mel (front-end ``logmel``, ``n_mels=64``).

    Args:
        num_classes (int): Number of output classes.
        channels (tuple of int, optional): Output channels of the conv blocks.
            (Default: ``(32, 64, 128, 256)``)
        in_chans (int, optional): Input channels of the image. (Default: ``1``)
        hidden (int, optional): Width of the hidden dense layer. (Default: ``256``)
        dropout (float, optional): Dropout before the output layer. (Default: ``0.3``)

    Returns:
        nn.Module: ``(B, in_chans, 64, T)`` log-mel images -> ``(B, num_classes)`` logits, any ``T >= 16``.

    Example:
        >>> model = mel_cnn(num_classes=7)
        >>> model(torch.randn(2, 1, 64, 301)).shape
        torch.Size([2, 7])
    """
    return SpectrogramCNN(num_classes, tuple(channels), in_chans, hidden, dropout)


@register_model(
    "mfcc_cnn",
    frontend={"name": "mfcc", "n_mfcc": 40},
    source=MEL_MFCC_CNN_ARTICLE,
    description="the same 4-block CNN on 40 MFCCs (the article's best model)",
)
def mfcc_cnn(
    num_classes: int,
    channels: tuple[int, ...] = (32, 64, 128, 256),
    in_chans: int = 1,
    hidden: int = 256,
    dropout: float = 0.3,
) -> nn.Module:
    """MFCC-CNN: mel_cnn's :class:`SpectrogramCNN` on 40 MFCCs (front-end ``mfcc``, ``n_mfcc=40``).

    The article reports only "a CNN trained on MFCCs"; this is mel_cnn's reconstruction on MFCC images.

    Args:
        num_classes (int): Number of output classes.
        channels (tuple of int, optional): Output channels of the conv blocks.
            (Default: ``(32, 64, 128, 256)``)
        in_chans (int, optional): Input channels of the image. (Default: ``1``)
        hidden (int, optional): Width of the hidden dense layer. (Default: ``256``)
        dropout (float, optional): Dropout before the output layer. (Default: ``0.3``)

    Returns:
        nn.Module: ``(B, in_chans, 40, T)`` MFCC images -> ``(B, num_classes)`` logits, any ``T >= 16``.

    Example:
        >>> model = mfcc_cnn(num_classes=7)
        >>> model(torch.randn(2, 1, 40, 301)).shape
        torch.Size([2, 7])
    """
    return SpectrogramCNN(num_classes, tuple(channels), in_chans, hidden, dropout)
