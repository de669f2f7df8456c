"""The pretrained speech encoders as zoo models: wav2vec 2.0, HuBERT and WavLM built with torchaudio's model
builders, Whisper's encoder with transformers (``pip install 'ser-zoo[encoders]'``).

Each takes the waveform (front-end ``waveform``) and carries the same SUPERB head; ``model_kwargs.weights``
says where the encoder's weights come from (``loading``). Without weights an encoder is randomly initialised:
useful for tests and cost measurements only, never for a result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from torch import nn

from ...errors import ConfigError
from ..registry import register_model
from ..sources import HUBERT, WAV2VEC2, WAVLM, WHISPER, ModelSource
from .classifier import EncoderClassifier
from .head import LayerPoolingHead
from .ssl import ssl_backbone
from .whisper import whisper_arch, whisper_backbone


@dataclass(frozen=True)
class EncoderSpec:
    """One zoo encoder: its family, how torchaudio builds it, and where its weights are published."""

    title: str
    family: str  # "wav2vec2", "hubert", "wavlm" (torchaudio) or "whisper" (transformers)
    layers: int
    hf: str  # the Hugging Face name of the weights
    source: ModelSource
    builder: str = ""  # torchaudio.models builder
    bundle: str = ""  # torchaudio.pipelines bundle of the same weights
    normalize: bool = False  # zero-mean unit-variance input, as the large checkpoints were trained
    whisper: dict[str, Any] = field(default_factory=dict)  # Whisper's encoder fields


ENCODERS: dict[str, EncoderSpec] = {
    "wav2vec2_base": EncoderSpec(
        "wav2vec 2.0 Base",
        "wav2vec2",
        12,
        "facebook/wav2vec2-base",
        WAV2VEC2,
        "wav2vec2_base",
        "WAV2VEC2_BASE",
    ),
    "wav2vec2_large": EncoderSpec(
        "wav2vec 2.0 Large",
        "wav2vec2",
        24,
        "facebook/wav2vec2-large",
        WAV2VEC2,
        "wav2vec2_large",
        "WAV2VEC2_LARGE",
    ),
    "hubert_base": EncoderSpec(
        "HuBERT Base", "hubert", 12, "facebook/hubert-base-ls960", HUBERT, "hubert_base", "HUBERT_BASE"
    ),
    "hubert_large": EncoderSpec(
        "HuBERT Large",
        "hubert",
        24,
        "facebook/hubert-large-ll60k",
        HUBERT,
        "hubert_large",
        "HUBERT_LARGE",
        True,
    ),
    "wavlm_base": EncoderSpec(
        "WavLM Base", "wavlm", 12, "microsoft/wavlm-base", WAVLM, "wavlm_base", "WAVLM_BASE"
    ),
    "wavlm_base_plus": EncoderSpec(
        "WavLM Base+", "wavlm", 12, "microsoft/wavlm-base-plus", WAVLM, "wavlm_base", "WAVLM_BASE_PLUS"
    ),
    "wavlm_large": EncoderSpec(
        "WavLM Large", "wavlm", 24, "microsoft/wavlm-large", WAVLM, "wavlm_large", "WAVLM_LARGE", True
    ),
    "whisper_tiny": EncoderSpec(
        "Whisper tiny", "whisper", 4, "openai/whisper-tiny", WHISPER, whisper=whisper_arch(384, 4, 6, 1536)
    ),
    "whisper_base": EncoderSpec(
        "Whisper base", "whisper", 6, "openai/whisper-base", WHISPER, whisper=whisper_arch(512, 6, 8, 2048)
    ),
    "whisper_small": EncoderSpec(
        "Whisper small",
        "whisper",
        12,
        "openai/whisper-small",
        WHISPER,
        whisper=whisper_arch(768, 12, 12, 3072),
    ),
    "whisper_medium": EncoderSpec(
        "Whisper medium",
        "whisper",
        24,
        "openai/whisper-medium",
        WHISPER,
        whisper=whisper_arch(1024, 24, 16, 4096),
    ),
    "whisper_large_v2": EncoderSpec(
        "Whisper large-v2",
        "whisper",
        32,
        "openai/whisper-large-v2",
        WHISPER,
        whisper=whisper_arch(1280, 32, 20, 5120),
    ),
    "whisper_large_v3": EncoderSpec(
        "Whisper large-v3",
        "whisper",
        32,
        "openai/whisper-large-v3",
        WHISPER,
        whisper=whisper_arch(1280, 32, 20, 5120, mels=128),
    ),
}

BUILD_DOC = """{title} with the SUPERB head: {layers} transformer layers, frozen by default.

    Weights: {weights}. Without ``weights`` the encoder is randomly initialised (tests and cost measurements
    only).

    Args:
        num_classes (int): Number of output classes.
        weights (str or None, optional): A Hugging Face model folder (its config.json decides the
            architecture), a state-dict file, an http(s) URL of one{bundle_arg}. (Default: ``None``)
        arch (dict or None, optional): The encoder's architecture when it is not the named one and no
            config.json says it ({arch_kind}); filled in from a folder's config.json. (Default: ``None``)
        normalize (bool or None, optional): Zero-mean, unit-variance each clip first; None: as the weights
            were trained ({normalize}, or the folder's preprocessor_config.json). Not used by Whisper.
            (Default: ``None``)
        pooling (str, optional): ``"mean"`` or ``"attentive"`` statistics over the valid frames.
            (Default: ``"mean"``)
        hidden (int, optional): Width of the head's per-frame projection. (Default: ``256``)
        dropout (float, optional): Dropout on the pooled vector. (Default: ``0.1``)
        layer (int or None, optional): One hidden state instead of the learnt mix (``-1``: the last, as
            EmoBox). (Default: ``None``)
        layer_norm (bool, optional): Normalise each hidden state before mixing. (Default: ``True``)
        finetune_layers (int, optional): Top transformer layers to train (0: frozen and cached; the conv
            feature encoder is never trained). (Default: ``0``)
        layer_lr_decay (float, optional): Learning-rate factor per layer below the head. (Default: ``0.8``)
        gradient_checkpointing (bool, optional): Recompute trained layers' activations in the backward pass.
            (Default: ``False``)
        cache (bool, optional): Store each clip's hidden layers when frozen. (Default: ``True``)
        cache_dir (str or None, optional): The cache folder; None: ``$SER_ZOO_CACHE/features``.
            (Default: ``None``)

    Returns:
        nn.Module: ``(B, T)`` 16 kHz waveforms (and their lengths) -> ``(B, num_classes)`` logits.
"""


def _builder(name: str, spec: EncoderSpec) -> Callable[..., nn.Module]:
    """The registered constructor of zoo encoder ``name``."""

    def build(
        num_classes: int,
        weights: Optional[str] = None,
        arch: Optional[dict[str, Any]] = None,
        normalize: Optional[bool] = None,
        pooling: str = "mean",
        hidden: int = 256,
        dropout: float = 0.1,
        layer: Optional[int] = None,
        layer_norm: bool = True,
        finetune_layers: int = 0,
        layer_lr_decay: float = 0.8,
        gradient_checkpointing: bool = False,
        cache: bool = True,
        cache_dir: Optional[str] = None,
    ) -> nn.Module:
        if spec.family == "whisper":
            if normalize is not None:
                raise ConfigError(f"model '{name}': normalize applies to wav2vec 2.0, HuBERT and WavLM only")
            backbone, read = whisper_backbone(name, spec.whisper, weights, arch)
        else:
            backbone, read = ssl_backbone(
                spec.family, spec.builder, name, spec.title, weights, arch, normalize, spec.normalize
            )
        head = LayerPoolingHead(
            num_classes, backbone.num_layers + 1, backbone.dim, hidden, pooling, dropout, layer, layer_norm
        )
        net = EncoderClassifier(
            backbone, head, name, finetune_layers, layer_lr_decay, gradient_checkpointing, cache, cache_dir
        )
        net.resolved_kwargs = read
        return net

    whisper = spec.family == "whisper"
    build.__name__ = build.__qualname__ = name
    build.__doc__ = BUILD_DOC.format(
        title=spec.title,
        layers=spec.layers,
        weights=f"Hugging Face ``{spec.hf}``"
        + ("" if whisper else f" or torchaudio bundle ``{spec.bundle}``"),
        bundle_arg="" if whisper else f", or torchaudio bundle name ``{spec.bundle}`` (fetched when online)",
        arch_kind="WhisperConfig encoder fields" if whisper else "torchaudio wav2vec2_model arguments",
        normalize=spec.normalize,
    )
    return build


for _name, _spec in ENCODERS.items():
    register_model(
        _name,
        frontend={"name": "waveform"},
        input_kind="waveform",
        source=_spec.source,
        description=(
            f"{_spec.title} ({'transformers' if _spec.family == 'whisper' else 'torchaudio'}; weights "
            f"{_spec.hf}), SUPERB head on {_spec.layers + 1} hidden states"
        ),
    )(_builder(_name, _spec))
