"""wav2vec 2.0, HuBERT and WavLM as torchaudio builds them, giving every hidden layer of a padded batch.

torchaudio's ``Wav2Vec2Model.extract_features`` returns the transformer layers' outputs only, and for WavLM
it cannot take lengths (its attention asserts that no mask is passed), so :class:`SSLBackbone` runs the
model's own modules itself: the stack is the transformer's input (after the positional convolution), every
layer's output and, last, the encoder's output (the last layer's after the final norm of the pre-norm large
models), as Hugging Face transformers' ``hidden_states`` ending in ``last_hidden_state``. A padded batch
gives each clip what it alone would: padded frames are masked out of attention (keys), and the base models'
conv front-end, whose first layer normalises over time (group norm), runs clip by clip on the valid samples.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional

import torch
import torchaudio
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint
from torchaudio.models.wav2vec2.wavlm_attention import WavLMSelfAttention

from ...errors import ConfigError, SerZooError
from ...optional import import_optional
from .finetune import PartialFineTuning
from .loading import check_model_type, load_exact, locate, no_bundle, quiet_loggers, read_json, read_tensors


def build_torchaudio(family: str, builder: str, arch: Optional[dict[str, Any]]) -> nn.Module:
    """A randomly initialised ``Wav2Vec2Model``: from ``arch`` (``wav2vec2_model`` / ``wavlm_model`` keyword
    arguments) when given, else torchaudio's named builder (e.g. ``wavlm_base``)."""
    if arch is None:
        return getattr(torchaudio.models, builder)()
    factory = torchaudio.models.wavlm_model if family == "wavlm" else torchaudio.models.wav2vec2_model
    try:
        return factory(**{**arch, "aux_num_out": None})
    except (TypeError, ValueError) as e:
        raise ConfigError(f"model_kwargs.arch does not describe a {family} model: {e}") from None


class SSLBackbone(PartialFineTuning):
    """A torchaudio ``Wav2Vec2Model`` (wav2vec 2.0, HuBERT or WavLM) as a stack of all its hidden states.

    The convolutional feature encoder is always frozen; :meth:`set_trainable` unfreezes the top transformer
    layers (and, with all of them, the projection and positional convolution before them).

    Args:
        model (nn.Module): A ``torchaudio.models.Wav2Vec2Model`` (``wav2vec2_model`` or ``wavlm_model``).
        normalize (bool, optional): Scale each clip to zero mean and unit variance over its valid samples
            first, as the large checkpoints were trained. (Default: ``False``)
        arch (dict or None, optional): The builder's keyword arguments, kept to describe the model (cache
            settings). (Default: ``None``)

    Shape:
        - wave: ``(B, T)`` at 16 kHz; lengths: ``(B,)`` valid samples or None.
        - output: ``(B, layers + 1, frames(T), dim)``.

    Example:
        >>> net = build_torchaudio("wavlm", "", dict(TINY_WAVLM))
        >>> SSLBackbone(net).hidden_states(torch.randn(2, 8000), torch.tensor([8000, 5000])).shape
        torch.Size([2, 3, 99, 32])
    """

    def __init__(self, model: nn.Module, normalize: bool = False, arch: Optional[dict[str, Any]] = None):
        super().__init__()
        self.model, self.normalize, self.arch = model, bool(normalize), arch
        convs = model.feature_extractor.conv_layers
        self.convs = [(c.kernel_size, c.stride) for c in convs]
        self.hop = math.prod(s for _, s in self.convs)
        self.group_norm = isinstance(convs[0].layer_norm, nn.GroupNorm)
        transformer = model.encoder.transformer
        self.wavlm = isinstance(transformer.layers[0].attention, WavLMSelfAttention)
        self.num_layers, self.dim = len(transformer.layers), transformer.pos_conv_embed.embed_dim
        self.trainable_layers, self.checkpointing = 0, False
        self.set_trainable(0)

    # -- geometry ---------------------------------------------------------------------------------
    def frames(self, lengths: Tensor) -> Tensor:
        """Frames the conv front-end makes of ``lengths`` samples (torchaudio's own arithmetic)."""
        n = torch.as_tensor(lengths)
        for kernel, stride in self.convs:
            n = torch.div(n - kernel, stride, rounding_mode="floor") + 1
        return n.clamp_min(0)

    # -- training state ---------------------------------------------------------------------------
    def trainable_parts(self) -> list[list[nn.Module]]:
        """The modules :meth:`set_trainable` unfroze, by depth, top layer first (with the final norm of the
        pre-norm large models); with every layer unfrozen, last, the input stage."""
        t = self.model.encoder.transformer
        parts = [[layer] for layer in t.layers[self.num_layers - self.trainable_layers :]][::-1]
        if parts and not t.layer_norm_first:  # pre-norm (large) models: the final norm makes the last state
            parts[0].append(t.layer_norm)
        if self.trainable_layers == self.num_layers:
            stage = [self.model.encoder.feature_projection, t.pos_conv_embed]
            parts.append(stage + ([t.layer_norm] if t.layer_norm_first else []))  # base models: input norm
        return parts

    def enable_checkpointing(self) -> None:
        """Recompute the unfrozen layers' activations in the backward pass instead of keeping them."""
        self.checkpointing = True

    # -- forward ----------------------------------------------------------------------------------
    def _normalized(self, wave: Tensor, lengths: Optional[Tensor]) -> Tensor:
        """Zero mean, unit variance over each clip's valid samples (Wav2Vec2FeatureExtractor's
        ``do_normalize``); padding stays zero."""
        if lengths is None:
            mask = torch.ones_like(wave)
        else:
            mask = (torch.arange(wave.shape[-1], device=wave.device)[None] < lengths[:, None]).to(wave.dtype)
        n = mask.sum(-1, keepdim=True).clamp_min(1.0)
        mean = (wave * mask).sum(-1, keepdim=True) / n
        var = (((wave - mean) * mask) ** 2).sum(-1, keepdim=True) / n
        return (wave - mean) / torch.sqrt(var + 1e-7) * mask

    def _conv_features(self, wave: Tensor, lengths: Optional[Tensor]) -> Tensor:
        extractor = self.model.feature_extractor
        if lengths is None or not self.group_norm or bool((lengths >= wave.shape[-1]).all()):
            return extractor(wave, None)[0]
        # group norm normalises each channel over the whole row, padding included: one clip at a time
        width = int(self.frames(torch.tensor(wave.shape[-1])))
        rows = [extractor(wave[i : i + 1, : int(n)], None)[0][0] for i, n in enumerate(lengths.tolist())]
        out = rows[0].new_zeros(len(rows), width, rows[0].shape[-1])
        for i, row in enumerate(rows):
            out[i, : len(row)] = row
        return out

    def hidden_states(self, wave: Tensor, lengths: Optional[Tensor] = None) -> Tensor:
        """``(B, layers + 1, frames, dim)``: the transformer's input, then every layer's output."""
        if self.normalize:
            wave = self._normalized(wave, lengths)
        features = self._conv_features(wave, lengths)
        frames = None if lengths is None else self.frames(lengths).to(wave.device)
        x, mask = self.model.encoder._preprocess(features, frames)  # zeroes padded frames; additive mask
        pad = None
        if self.wavlm:  # WavLM's attention takes a key padding mask instead
            mask = None
            if frames is not None:
                padded = torch.arange(x.shape[1], device=x.device)[None] >= frames[:, None]
                pad = torch.zeros(padded.shape, dtype=x.dtype, device=x.device).masked_fill(padded, -math.inf)
        transformer = self.model.encoder.transformer
        x = transformer._preprocess(x)
        states, bias = [x], None
        first_trainable = self.num_layers - self.trainable_layers
        for i, layer in enumerate(transformer.layers):
            if self.checkpointing and self.training and i >= first_trainable and torch.is_grad_enabled():
                x, bias = checkpoint(layer, x, mask, bias, pad, use_reentrant=False)
            else:
                x, bias = layer(x, mask, position_bias=bias, key_padding_mask=pad)
            states.append(x)
        if not transformer.layer_norm_first:  # pre-norm (large) models: the encoder's output is normalised
            states[-1] = transformer.layer_norm(x)
        return torch.stack(states, 1)


#: A tiny WavLM (2 layers of 32, a frame per 80 samples) for examples and tests:
#: ``build_torchaudio("wavlm", "", TINY_WAVLM)``.
TINY_WAVLM = dict(
    extractor_mode="group_norm",
    extractor_conv_layer_config=[(32, 10, 5), (32, 4, 4), (32, 4, 4)],
    extractor_conv_bias=False,
    encoder_embed_dim=32,
    encoder_projection_dropout=0.0,
    encoder_pos_conv_kernel=16,
    encoder_pos_conv_groups=4,
    encoder_num_layers=2,
    encoder_num_heads=2,
    encoder_num_buckets=16,
    encoder_max_distance=32,
    encoder_attention_dropout=0.0,
    encoder_ff_interm_features=64,
    encoder_ff_interm_dropout=0.0,
    encoder_dropout=0.0,
    encoder_layer_norm_first=False,
    encoder_layer_drop=0.0,
)


TORCHAUDIO_MODELS = "https://download.pytorch.org/torchaudio/models/"  # where torchaudio's bundles come from
#: Key prefixes of transformers' checkpoints (torchaudio's: feature_extractor. and encoder.transformer.)
HF_PREFIXES = (
    "wav2vec2.",
    "hubert.",
    "wavlm.",
    "feature_projection.",
    "encoder.layers.",
    "encoder.pos_conv_embed.",
)


def _hf_model(folder: Path, family: str, model: str, title: str) -> tuple[nn.Module, dict[str, Any], Any]:
    """(torchaudio model, its builder arguments, ``do_normalize`` or None) of a Hugging Face folder, imported
    with torchaudio's ``import_huggingface_model`` after transformers loads it."""
    config = read_json(folder / "config.json")
    check_model_type(folder, config, family, model, title)
    for key in ("hidden_act", "feat_extract_activation"):
        if config.get(key, "gelu") != "gelu":
            raise ConfigError(
                f"{folder}: config.json {key}={config[key]!r}; torchaudio's model uses gelu only"
            )
    transformers = import_optional("transformers", "encoders", f"reading the Hugging Face folder {folder}")
    from torchaudio.models.wav2vec2.utils import import_huggingface as hf_import

    bars = transformers.utils.logging.is_progress_bar_enabled()
    transformers.utils.logging.disable_progress_bar()
    try:
        with quiet_loggers("transformers", hf_import.__name__):
            original, info = transformers.AutoModel.from_pretrained(
                str(folder), local_files_only=True, output_loading_info=True
            )
            missing = [k for k in info.get("missing_keys", ()) if "masked_spec_embed" not in k]
            if missing or info.get("mismatched_keys"):
                bad = missing[:2] or list(info["mismatched_keys"])[:2]
                raise SerZooError(f"its weights do not fit its config.json (e.g. {bad})")
            imported = hf_import.import_huggingface_model(original)
    except SerZooError as e:
        raise SerZooError(f"{folder}: {e}") from None
    except Exception as e:  # transformers and torchaudio raise many types; the message names the folder
        raise SerZooError(
            f"{folder}: cannot load it as {title} ({str(e).strip().splitlines()[0][:200]})"
        ) from None
    finally:
        if bars:
            transformers.utils.logging.enable_progress_bar()
    to_arch = hf_import._get_config_wavlm if family == "wavlm" else hf_import._get_config
    arch = to_arch(original.config)
    arch["extractor_conv_layer_config"] = [list(c) for c in arch["extractor_conv_layer_config"]]
    preprocessor = folder / "preprocessor_config.json"
    normalize = read_json(preprocessor).get("do_normalize") if preprocessor.is_file() else None
    return imported, arch, normalize


def _bundle_state(name: str, family: str, model: str) -> tuple[dict[str, torch.Tensor], bool]:
    """(state dict, normalises its input) of a torchaudio bundle, which torchaudio downloads (online)."""
    import torchaudio.pipelines as pipelines

    bundle = getattr(pipelines, name, None)
    if not isinstance(bundle, pipelines.Wav2Vec2Bundle) or not name.startswith(family.upper()):
        raise no_bundle(name, model)
    try:
        fetched = bundle.get_model()
    except Exception as e:  # offline: urllib's errors; a damaged download: torch's
        raise SerZooError(
            f"torchaudio could not fetch bundle {name} ({str(e).strip().splitlines()[0][:120]}); without "
            f"internet, download {TORCHAUDIO_MODELS}{getattr(bundle, '_path', '')} elsewhere and give its "
            "path as model_kwargs.weights"
        ) from None
    inner = getattr(fetched, "model", fetched)
    state = {k: v for k, v in inner.state_dict().items() if not k.startswith("aux.")}
    return state, bool(getattr(fetched, "normalize_waveform", False))


def ssl_backbone(
    family: str,
    builder: str,
    model: str,
    title: str,
    weights: Optional[str],
    arch: Optional[dict[str, Any]],
    normalize: Optional[bool],
    default_normalize: bool,
) -> tuple[SSLBackbone, dict[str, Any]]:
    """The backbone of zoo model ``model`` (``family`` wav2vec2 / hubert / wavlm, torchaudio builder
    ``builder``) with its weights, and the settings read from them (``arch``, ``normalize``) for the
    checkpoint to keep."""
    read: dict[str, Any] = {}
    if weights is None:
        net = build_torchaudio(family, builder, arch)
    else:
        where = locate(weights)
        if where.kind == "hf":
            net, read["arch"], found = _hf_model(where.path, family, model, title)
            if found is not None:
                read["normalize"] = bool(found)
        elif where.kind == "bundle":
            state, read["normalize"] = _bundle_state(where.name, family, model)
            net = build_torchaudio(family, builder, arch)
            load_exact(net, state, where.name, model)
        else:
            net = build_torchaudio(family, builder, arch)
            state = {k: v for k, v in read_tensors(where.path).items() if not k.startswith("aux.")}
            hf_keys = any(k.startswith(HF_PREFIXES) for k in state)
            hint = (
                "; it is in Hugging Face's layout: give its folder, with config.json"
                if hf_keys
                else "; for another size, set model_kwargs.arch (torchaudio wav2vec2_model arguments)"
            )
            load_exact(net, state, where.path, model, hint)
    if normalize is None:
        normalize = read.get("normalize", default_normalize)
    return SSLBackbone(net, normalize, read.get("arch", arch)), read
