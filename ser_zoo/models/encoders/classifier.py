"""A pretrained speech encoder with the SUPERB head, frozen and cached per clip by default.

Frozen (``finetune_layers: 0``), the encoder runs once per clip: the first epoch stores each clip's hidden
layers (``features.hidden_cache``) and later epochs train the head on them. Partial fine-tuning unfreezes the
top layers, which then run every step, with layer-wise learning-rate decay (``param_groups``) and optionally
gradient checkpointing. The data module's crops and lengths reach it through the LightningModule as they reach
every model; at inference it runs the encoder on the waveform.
"""

from __future__ import annotations

import hashlib
from typing import Any, Optional, Union

import numpy as np
import torch
from torch import Tensor, nn

from ...errors import ConfigError
from ...features.hidden_cache import HiddenStateStore, crop_stacks
from ...features.pretrained_cache import ClipKeyed
from .finetune import layerwise_groups
from .head import LayerPoolingHead
from .ssl import SSLBackbone
from .whisper import WhisperBackbone

Backbone = Union[SSLBackbone, WhisperBackbone]


def weights_digest(module: nn.Module) -> str:
    """sha256 of every tensor in ``module``'s state dict, names included: the cache's key for the weights."""
    h = hashlib.sha256()
    for name, t in sorted(module.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


class EncoderClassifier(nn.Module, ClipKeyed):
    """Waveforms -> logits through a speech encoder's hidden layers and a :class:`LayerPoolingHead`.

    Args:
        backbone (SSLBackbone or WhisperBackbone): The encoder, giving ``(B, layers + 1, frames, dim)``.
        head (LayerPoolingHead): The head on those states.
        name (str): The registered model name, the cache folder's prefix.
        finetune_layers (int, optional): Transformer layers to train, from the top; 0 keeps the encoder
            frozen. (Default: ``0``)
        layer_lr_decay (float, optional): Each trained layer's learning rate is this times the one above it
            (the head has the base rate). (Default: ``0.8``)
        gradient_checkpointing (bool, optional): Recompute the trained layers' activations in the backward
            pass (less memory, about a third more time). (Default: ``False``)
        cache (bool, optional): Store each clip's hidden layers on disk when frozen. (Default: ``True``)
        cache_dir (str or None, optional): The cache folder; None is ``$SER_ZOO_CACHE/features``.
            (Default: ``None``)

    Shape:
        - wave: ``(B, T)`` 16 kHz samples; lengths: ``(B,)`` valid samples, or None (every row whole).
        - output: ``(B, num_classes)``; a clip's logits do not depend on the batch padding.
    """

    extra_inputs = ("lengths",)  # valid samples per row: padding stays out of attention and pooling

    def __init__(
        self,
        backbone: Backbone,
        head: LayerPoolingHead,
        name: str,
        finetune_layers: int = 0,
        layer_lr_decay: float = 0.8,
        gradient_checkpointing: bool = False,
        cache: bool = True,
        cache_dir: Optional[str] = None,
    ):
        super().__init__()
        if not 0 < layer_lr_decay <= 1:
            raise ConfigError(f"layer_lr_decay={layer_lr_decay}; use a value in (0, 1] (1: no decay)")
        self.backbone, self.head, self.layer_lr_decay = backbone, head, float(layer_lr_decay)
        self.backbone.set_trainable(int(finetune_layers))
        if gradient_checkpointing:
            self.backbone.enable_checkpointing()
        self.cacheable = bool(cache) and finetune_layers == 0
        self.store = HiddenStateStore(name, self._cache_settings, cache_dir)
        self.resolved_kwargs: dict[str, Any] = {}  # settings read from the weights, for the checkpoint

    def _cache_settings(self) -> dict[str, Any]:
        b = self.backbone
        return {
            "backbone": type(b).__name__,
            "arch": b.arch,
            "normalize": getattr(b, "normalize", None),
            "weights": weights_digest(b),
            "states": "input+layers,last=encoder output",
        }

    def param_groups(self, lr: float) -> list[dict[str, Any]]:
        """The head at ``lr``, the trained encoder layers below it with layer-wise decay (frozen: none)."""
        head = [p for p in self.head.parameters() if p.requires_grad]
        return layerwise_groups(head, self.backbone.layer_groups(), lr, self.layer_lr_decay)

    def _whole_clips(self, wave: Tensor, lengths: Tensor) -> list[np.ndarray]:
        states = self.backbone.hidden_states(wave, lengths).float().cpu().numpy()
        return [states[i, :, :f] for i, f in enumerate(self.backbone.frames(lengths.cpu()).tolist())]

    def _stored_states(self, wave: Tensor, lengths: Optional[Tensor]) -> Optional[tuple[Tensor, Tensor]]:
        """The batch's states and valid frames from the per-clip store, inside a ``clip_refs`` block; None
        otherwise."""
        refs = self._clip_refs
        if not self.cacheable or refs is None or len(refs[0]) != len(wave):
            return None
        stored = self.store.stacks(refs[0], self.clip_source, self._whole_clips, wave.device)
        if stored is None:
            return None
        n = torch.full((len(wave),), wave.shape[-1]) if lengths is None else lengths.cpu()
        first = torch.div(refs[1], self.backbone.hop, rounding_mode="floor")
        width = int(self.backbone.frames(torch.tensor(wave.shape[-1])))
        return crop_stacks(stored, first, self.backbone.frames(n), width, wave.device)

    def forward(self, wave: Tensor, lengths: Optional[Tensor] = None) -> Tensor:
        stored = self._stored_states(wave, lengths)
        if stored is not None:
            return self.head(*stored)
        frames = None if lengths is None else self.backbone.frames(lengths)
        return self.head(self.backbone.hidden_states(wave, lengths), frames)
