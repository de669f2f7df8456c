"""ImageNet backbones for 1-channel spectrograms: first conv and classifier replaced.

timm does the surgery: with ``in_chans=1`` it sums the pretrained RGB filters into one input
channel, and with a new ``num_classes`` it drops the ImageNet head. ``pretrained=True`` alone starts
from the published ImageNet weights, fetched by the library that publishes them into its own cache:
torchvision's for ``resnet18`` and ``vgg16`` (``torch.hub``, ``$TORCH_HOME``; hash-checked), timm's
for ``timm/<backbone>`` (the Hugging Face Hub cache). ``weights`` (a path or URL) replaces that, for
machines without a network. torchvision and timm ResNet state dicts share key names, so
torchvision's ``resnet18-f37072fd.pth`` loads as is.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
import sys
import urllib.parse
from pathlib import Path
from typing import Optional

import timm
import torch
from timm.models import adapt_input_conv, load_state_dict
from torch import nn

from ..errors import ConfigError, SerZooError
from .registry import ModelEntry, register_model, register_prefix
from .sources import RESNET, TIMM, VGG

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
                raise SerZooError(
                    f"could not download weights from {weights} ({e}); "
                    "download the file yourself and pass its path"
                ) from None
        return dest
    path = Path(weights).expanduser()
    if not path.is_file():
        raise SerZooError(f"weights file not found: {path}; give a local path or an http(s) URL")
    return path


def timm_transfer(
    backbone: str,
    num_classes: int,
    pretrained: bool = False,
    weights: Optional[str] = None,
    in_chans: int = 1,
    drop_rate: float = 0.0,
    imagenet: str = "timm",
    backbone_kwargs: Optional[dict] = None,
) -> nn.Module:
    """Any timm backbone with its input conv adapted to ``in_chans`` and a fresh classifier.

    Args:
        backbone (str): A timm model name, e.g. ``"efficientnet_b0"``.
        num_classes (int): Number of output classes.
        pretrained (bool, optional): Start from ImageNet weights: ``weights`` when given, else the
            published ones (see ``imagenet``), downloaded once into that library's cache. (Default: ``False``)
        weights (str or None, optional): Local path or http(s) URL of an ImageNet state dict (torchvision or
            timm layout), instead of the published weights. (Default: ``None``)
        in_chans (int, optional): Input channels; pretrained RGB filters are summed into them.
            (Default: ``1``)
        drop_rate (float, optional): Dropout before the classifier. (Default: ``0.0``)
        imagenet (str, optional): Whose published ImageNet weights ``pretrained`` starts from: ``"timm"``
            (the backbone's default timm tag) or ``"torchvision"`` (its ``DEFAULT`` weights). (Default:
            ``"timm"``)
        backbone_kwargs (dict or None, optional): More ``timm.create_model`` arguments for the backbone, e.g.
            a narrower ResNet: ``{channels: [32, 64, 128, 256], stem_width: 32}``; ImageNet weights then no
            longer fit. (Default: ``None``)

    Returns:
        nn.Module: ``(B, in_chans, F, T)`` images -> ``(B, num_classes)`` logits.

    Example:
        >>> model = timm_transfer("resnet18", num_classes=8)
        >>> model(torch.randn(2, 1, 64, 301)).shape
        torch.Size([2, 8])
    """
    if imagenet not in IMAGENET_SOURCES:
        raise ConfigError(f"{backbone}: imagenet={imagenet!r}; use one of {', '.join(IMAGENET_SOURCES)}")
    try:
        model = timm.create_model(
            backbone,
            pretrained=False,
            num_classes=num_classes,
            in_chans=in_chans,
            drop_rate=drop_rate,
            **(backbone_kwargs or {}),
        )
    except TypeError as err:
        raise ConfigError(f"timm/{backbone}: backbone_kwargs {backbone_kwargs}: {err}") from None
    if weights:
        load_transfer_weights(model, resolve_weights(weights), in_chans)
    elif pretrained:
        IMAGENET_SOURCES[imagenet](model, backbone, num_classes, in_chans)
    return model


def offline_hint(backbone: str, url: str) -> str:
    return (
        f"offline, download {url} on a connected machine and set model_kwargs.weights: "
        f"/path/to/{Path(urllib.parse.urlparse(url).path).name or backbone + '.pth'} (or pretrained: false)"
    )


def torchvision_imagenet(model: nn.Module, backbone: str, num_classes: int, in_chans: int) -> None:
    """torchvision's ``DEFAULT`` ImageNet weights of ``backbone``, through ``torch.hub`` (its cache,
    ``$TORCH_HOME/hub/checkpoints``, and the hash in the file name, checked on download)."""
    from torchvision.models import get_model_weights

    try:
        url = get_model_weights(backbone).DEFAULT.url
    except ValueError:
        raise ConfigError(f"torchvision publishes no ImageNet weights for '{backbone}'; use imagenet: timm")
    try:
        state = torch.hub.load_state_dict_from_url(url, progress=True, check_hash=True, weights_only=True)
    except Exception as e:  # no network, a proxy, a refused or damaged download: all say the same
        raise SerZooError(
            f"{backbone}: could not fetch torchvision's ImageNet weights ({str(e).splitlines()[0]}); "
            + offline_hint(backbone, url)
        ) from None
    load_transfer_state(model, state, in_chans, url)


def timm_imagenet(model: nn.Module, backbone: str, num_classes: int, in_chans: int) -> None:
    """timm's published ImageNet weights of ``backbone`` (its default tag), through timm's own loader (the
    Hugging Face Hub and its cache), which also adapts the input conv and drops the old head."""
    cfg = model.pretrained_cfg
    hub_id = cfg.get("hf_hub_id")
    url = f"https://huggingface.co/{hub_id}/resolve/main/model.safetensors" if hub_id else cfg.get("url")
    if not url:
        raise ConfigError(f"timm publishes no ImageNet weights for '{backbone}'; set pretrained: false")
    module = sys.modules.get(type(model).__module__)
    try:
        timm.models.load_pretrained(
            model,
            num_classes=num_classes,
            in_chans=in_chans,
            filter_fn=getattr(module, "checkpoint_filter_fn", None),
        )
    except Exception as e:  # no network or offline mode (huggingface_hub), a refused download: all alike
        raise SerZooError(
            f"{backbone}: could not fetch timm's ImageNet weights ({str(e).splitlines()[0]}); "
            + offline_hint(backbone, url)
        ) from None


#: ``timm_transfer(imagenet=...)``: who publishes the ImageNet weights ``pretrained=True`` starts from
IMAGENET_SOURCES = {"timm": timm_imagenet, "torchvision": torchvision_imagenet}


def load_transfer_weights(model: nn.Module, path: Path, in_chans: int) -> None:
    """Load an ImageNet state dict file (see ``load_transfer_state``)."""
    try:
        state = load_state_dict(str(path), weights_only=True)
    except Exception as e:
        raise SerZooError(
            f"cannot read weights {path} ({str(e).splitlines()[0]}); give a torch or safetensors state dict"
        ) from None
    load_transfer_state(model, state, in_chans, path)


def load_transfer_state(model: nn.Module, state: dict, in_chans: int, source) -> None:
    """Load an ImageNet state dict: adapt the first conv (timm's RGB-sum), skip the old head, and
    refuse one that does not fit (timm alone would load it non-strictly and silently). ``source`` names
    where it came from, for the message."""
    cfg = model.pretrained_cfg
    first_conv, classifier = cfg.get("first_conv"), cfg.get("classifier")
    state = _timm_checkpoint_filter(model)(
        state
    )  # e.g. torchvision VGG's classifier.* -> timm's pre_logits.*
    conv_key = f"{first_conv}.weight"
    if conv_key in state and state[conv_key].shape[1] != in_chans:
        state[conv_key] = adapt_input_conv(in_chans, state[conv_key])
    head = {k for k in state if classifier and k.startswith(f"{classifier}.")}
    own_head = {k for k in model.state_dict() if classifier and k.startswith(f"{classifier}.")}
    for k in head:
        del state[k]
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = set(missing) - own_head
    if missing or unexpected:
        bad = sorted(missing)[:3] or sorted(unexpected)[:3]
        raise SerZooError(
            f"weights {source} do not fit {model.default_cfg.get('architecture', type(model).__name__)}: "
            f"{len(missing)} missing and {len(unexpected)} unexpected keys (e.g. {bad})"
        )


def _timm_checkpoint_filter(model: nn.Module):
    """The key/shape converter timm applies to this family's original (e.g. torchvision) checkpoints,
    if any."""
    module = sys.modules.get(type(model).__module__)
    for name in ("checkpoint_filter_fn", "_filter_fn"):
        fn = getattr(module, name, None)
        if callable(fn):
            takes_model = len(inspect.signature(fn).parameters) > 1
            return (lambda sd: fn(sd, model)) if takes_model else fn
    return lambda sd: sd


def _timm_entry(backbone: str) -> ModelEntry:
    """``timm/<backbone>``: any timm image model through the same 1-channel transfer wrapper, no new code."""
    if not timm.is_model(backbone):
        near = timm.list_models(f"*{backbone.split('.')[0][:6]}*")[:6]
        raise ConfigError(f"timm has no model '{backbone}'" + (f"; similar: {near}" if near else ""))
    return ModelEntry(
        f"timm/{backbone}",
        functools.partial(timm_transfer, backbone),
        SPECTROGRAM_IMAGE,
        "image",
        f"timm {backbone}, 1-channel first conv, new classifier",
        TIMM,
    )


register_prefix("timm/", _timm_entry)


@register_model(
    "resnet18",
    frontend=SPECTROGRAM_IMAGE,
    source=RESNET,
    description="ImageNet ResNet18, 1-channel first conv (from RGB filters), new classifier",
)
def resnet18(
    num_classes: int,
    pretrained: bool = False,
    weights: Optional[str] = None,
    in_chans: int = 1,
    drop_rate: float = 0.0,
) -> nn.Module:
    """ResNet18 on the 64-band log-mel image, optionally from ImageNet weights.

    torchvision's ``resnet18-f37072fd.pth`` loads as is (timm and torchvision ResNets share key names).

    Args:
        num_classes (int): Number of output classes.
        pretrained (bool, optional): Start from ImageNet weights: ``weights`` when given, else
            torchvision's ``resnet18-f37072fd.pth``, downloaded once into ``$TORCH_HOME``.
            (Default: ``False``)
        weights (str or None, optional): Local path or http(s) URL of the state dict, e.g. that file on a
            machine without a network. (Default: ``None``)
        in_chans (int, optional): Input channels; pretrained RGB filters are summed into them.
            (Default: ``1``)
        drop_rate (float, optional): Dropout before the classifier. (Default: ``0.0``)

    Returns:
        nn.Module: ``(B, in_chans, F, T)`` images, any ``F, T >= 1`` -> ``(B, num_classes)`` logits.

    Example:
        >>> model = resnet18(num_classes=8)
        >>> model(torch.randn(2, 1, 64, 301)).shape
        torch.Size([2, 8])
    """
    return timm_transfer("resnet18", num_classes, pretrained, weights, in_chans, drop_rate, "torchvision")


@register_model(
    "vgg16",
    frontend=SPECTROGRAM_IMAGE,
    source=VGG,
    description="ImageNet VGG16, 1-channel first conv (from RGB filters), new classifier",
)
def vgg16(
    num_classes: int,
    pretrained: bool = False,
    weights: Optional[str] = None,
    in_chans: int = 1,
    drop_rate: float = 0.5,
) -> nn.Module:
    """VGG16 on the 64-band log-mel image, optionally from ImageNet weights.

    torchvision's ``vgg16-397923af.pth`` loads as is (timm's key converter maps its classifier).

    Args:
        num_classes (int): Number of output classes.
        pretrained (bool, optional): Start from ImageNet weights: ``weights`` when given, else
            torchvision's ``vgg16-397923af.pth``, downloaded once into ``$TORCH_HOME``.
            (Default: ``False``)
        weights (str or None, optional): Local path or http(s) URL of the state dict, e.g. that file on a
            machine without a network. (Default: ``None``)
        in_chans (int, optional): Input channels; pretrained RGB filters are summed into them.
            (Default: ``1``)
        drop_rate (float, optional): Dropout in the classifier's pre-logits. (Default: ``0.5``)

    Returns:
        nn.Module: ``(B, in_chans, F, T)`` images, any ``F, T >= 32`` -> ``(B, num_classes)`` logits.

    Example:
        >>> model = vgg16(num_classes=8)  # doctest: +SKIP
        >>> model.eval()(torch.randn(1, 1, 64, 301)).shape  # doctest: +SKIP
        torch.Size([1, 8])
    """
    return timm_transfer("vgg16", num_classes, pretrained, weights, in_chans, drop_rate, "torchvision")
