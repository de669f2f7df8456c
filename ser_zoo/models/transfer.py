"""ImageNet backbones for 1-channel spectrograms: first conv and classifier replaced.

timm does the surgery: with ``in_chans=1`` it sums the pretrained RGB filters into one input
channel, and with a new ``num_classes`` it drops the ImageNet head. Weights come only from a
path or URL the user gives (nothing is fetched at import or by default); torchvision and timm
ResNet state dicts share key names, so torchvision's ``resnet18-f37072fd.pth`` loads as is.
"""

from __future__ import annotations

import hashlib
import os
import urllib.parse
from pathlib import Path
from typing import Optional

import timm
import torch
from torch import nn

from ..errors import ConfigError, SerZooError
from .registry import register_model

SPECTROGRAM_IMAGE = {"name": "logmel", "n_mels": 64}


def resolve_weights(weights: str) -> Path:
    """A local file as is; an http(s)/file URL downloaded once into the ser-zoo cache."""
    parsed = urllib.parse.urlparse(weights)
    if parsed.scheme in ("http", "https", "file"):
        cache = Path(os.environ.get("SER_ZOO_CACHE", Path.home() / ".cache" / "ser-zoo")) / "weights"
        cache.mkdir(parents=True, exist_ok=True)
        name = Path(parsed.path).name or "weights.pth"
        dest = cache / f"{hashlib.sha256(weights.encode()).hexdigest()[:8]}-{name}"
        if not dest.exists():
            try:
                torch.hub.download_url_to_file(weights, str(dest), progress=True)
            except Exception as e:
                raise SerZooError(f"could not download weights from {weights} ({e}); "
                                  "download the file yourself and pass its path") from None
        return dest
    path = Path(weights).expanduser()
    if not path.is_file():
        raise SerZooError(f"weights file not found: {path}; give a local path or an http(s) URL")
    return path


def timm_transfer(backbone: str, num_classes: int, pretrained: bool = False, weights: Optional[str] = None,
                  in_chans: int = 1, drop_rate: float = 0.0) -> nn.Module:
    """Any timm backbone with its input conv adapted to ``in_chans`` and a fresh classifier."""
    if pretrained and not weights:
        raise ConfigError(
            f"{backbone}: pretrained=true needs 'weights' (a local path or URL of an ImageNet state dict, "
            f"e.g. torchvision's resnet18-f37072fd.pth); nothing is downloaded implicitly. Or set pretrained: false")
    if weights:
        path = resolve_weights(weights)
        try:
            return timm.create_model(backbone, pretrained=True, pretrained_cfg_overlay={"file": str(path)},
                                     num_classes=num_classes, in_chans=in_chans, drop_rate=drop_rate)
        except RuntimeError as e:
            raise SerZooError(f"weights {path} do not fit {backbone}: {str(e).splitlines()[0]}") from None
    return timm.create_model(backbone, pretrained=False, num_classes=num_classes, in_chans=in_chans,
                             drop_rate=drop_rate)


@register_model("resnet18", frontend=SPECTROGRAM_IMAGE, source="seed 002",
                description="ImageNet ResNet18, 1-channel first conv (from RGB filters), new classifier")
def resnet18(num_classes: int, pretrained: bool = False, weights: Optional[str] = None, in_chans: int = 1,
             drop_rate: float = 0.0) -> nn.Module:
    return timm_transfer("resnet18", num_classes, pretrained, weights, in_chans, drop_rate)
