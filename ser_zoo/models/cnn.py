"""Plain CNNs on spectrogram images: seed 004's Mel-CNN and MFCC-CNN."""

from __future__ import annotations

from torch import nn

from .registry import register_model


def conv_block(c_in: int, c_out: int, pool: tuple[int, int] = (2, 2)) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(pool),
    )


class SpectrogramCNN(nn.Module):
    """Conv-BN-ReLU-pool blocks, global average pooling over frequency and time, dense head.

    Seed 004 describes its Mel-CNN only as "a CNN trained on mel spectrograms" (no layer table), so this
    is the standard 4-block reconstruction; global pooling makes it independent of clip length.
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

    def forward(self, x):
        return self.head(self.features(x))


@register_model(
    "mel_cnn",
    frontend={"name": "logmel", "n_mels": 64},
    source="seed 004",
    description="4-block CNN on log-mel spectrograms",
)
def mel_cnn(
    num_classes: int,
    channels: tuple[int, ...] = (32, 64, 128, 256),
    in_chans: int = 1,
    hidden: int = 256,
    dropout: float = 0.3,
) -> nn.Module:
    return SpectrogramCNN(num_classes, tuple(channels), in_chans, hidden, dropout)


@register_model(
    "mfcc_cnn",
    frontend={"name": "mfcc", "n_mfcc": 40},
    source="seed 004",
    description="the same 4-block CNN on 40 MFCCs (seed 004's best model)",
)
def mfcc_cnn(
    num_classes: int,
    channels: tuple[int, ...] = (32, 64, 128, 256),
    in_chans: int = 1,
    hidden: int = 256,
    dropout: float = 0.3,
) -> nn.Module:
    """Seed 004 reports only "a CNN trained on MFCCs"; this is mel_cnn's reconstruction on MFCC images."""
    return SpectrogramCNN(num_classes, tuple(channels), in_chans, hidden, dropout)
