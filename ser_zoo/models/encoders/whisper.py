"""Whisper's encoder (transformers' ``WhisperEncoder``) on a padded batch, giving every hidden layer.

Whisper was trained on 30 s windows of log-mel, every clip zero-padded to 30 s, and transformers' encoder
takes exactly that length; so each clip is padded (or cut) to the encoder's window, as
``WhisperFeatureExtractor`` does, and the frames that hold audio (one per 20 ms, ``samples // 320``, as
EmoBox takes them) are kept. Batch padding is zeros like Whisper's own, so a clip's frames do not depend on
its batch. The log-mel is computed
here in torch (torchaudio's spectrogram, slaney mel filters, log10 floored 8 below the clip's maximum,
``(x + 4) / 4``), on the batch's device.
"""

from __future__ import annotations

from typing import Any, Optional

import torch
import torch.nn.functional as F
import torchaudio.transforms as T
from torch import Tensor, nn
from torchaudio.functional import melscale_fbanks

from ...errors import ConfigError
from ...features.functional import transient_buffers
from ...optional import import_optional
from .finetune import PartialFineTuning
from .loading import check_model_type, folder_tensors, load_exact, locate, no_bundle, read_json, read_tensors

N_FFT, HOP, RATE = 400, 160, 16000

#: WhisperConfig fields the encoder depends on: what ``arch`` records.
ENCODER_FIELDS = (
    "num_mel_bins",
    "d_model",
    "encoder_layers",
    "encoder_attention_heads",
    "encoder_ffn_dim",
    "max_source_positions",
    "activation_function",
    "dropout",
    "attention_dropout",
    "activation_dropout",
    "scale_embedding",
)


def whisper_arch(
    d_model: int, layers: int, heads: int, ffn: int, mels: int = 80, positions: int = 1500
) -> dict[str, Any]:
    """The encoder fields of a Whisper size (its ``config.json`` values)."""
    return dict(
        num_mel_bins=mels,
        d_model=d_model,
        encoder_layers=layers,
        encoder_attention_heads=heads,
        encoder_ffn_dim=ffn,
        max_source_positions=positions,
        activation_function="gelu",
        dropout=0.0,
        attention_dropout=0.0,
        activation_dropout=0.0,
        scale_embedding=False,
    )


def build_whisper_encoder(arch: dict[str, Any], feature: str) -> nn.Module:
    """A randomly initialised ``transformers`` ``WhisperEncoder`` of the given encoder fields."""
    modeling = import_optional("transformers.models.whisper.modeling_whisper", "encoders", feature)
    config_cls = import_optional("transformers", "encoders", feature).WhisperConfig
    unknown = sorted(set(arch) - set(ENCODER_FIELDS))
    if unknown:
        raise ConfigError(
            f"model_kwargs.arch: {unknown} are not Whisper encoder fields; use {ENCODER_FIELDS}"
        )
    return modeling.WhisperEncoder(config_cls(**arch))


class WhisperBackbone(PartialFineTuning):
    """Whisper's encoder as a stack of all its hidden states: the input embedding, then every layer's output
    (the last after the final layer norm, transformers' ``last_hidden_state``).

    The convolutional stem (the feature encoder) is always frozen; :meth:`set_trainable` unfreezes the top
    layers, the final norm with them.

    Args:
        encoder (nn.Module): A ``transformers`` ``WhisperEncoder``.
        arch (dict): Its encoder fields (:data:`ENCODER_FIELDS`).

    Shape:
        - wave: ``(B, T)`` at 16 kHz; lengths: ``(B,)`` or None (Whisper needs no mask: see above).
        - output: ``(B, layers + 1, frames(T), dim)``, at most ``max_source_positions`` frames (30 s).
    """

    frozen_body = "encoder"

    def __init__(self, encoder: nn.Module, arch: dict[str, Any]):
        super().__init__()
        self.encoder, self.arch = encoder, dict(arch)
        self.window = int(arch["max_source_positions"])
        self.num_samples = self.window * 2 * HOP  # conv2 has stride 2
        self.hop = 2 * HOP
        self.num_layers, self.dim = int(arch["encoder_layers"]), int(arch["d_model"])
        self.spectrogram = T.Spectrogram(n_fft=N_FFT, hop_length=HOP, power=2.0)
        with torch.device("cpu"):  # a filterbank, also when the model is built on the meta device
            mels = melscale_fbanks(
                N_FFT // 2 + 1, 0.0, RATE / 2, int(arch["num_mel_bins"]), RATE, "slaney", "slaney"
            )
        self.register_buffer("mel_filters", mels.T.contiguous())
        transient_buffers(self)
        self.trainable_layers, self.checkpointing = 0, False
        self.set_trainable(0)

    def frames(self, lengths: Tensor) -> Tensor:
        """Encoder frames holding audio: one per 320 samples, at least 1, at most the 30 s window."""
        return torch.div(torch.as_tensor(lengths), self.hop, rounding_mode="floor").clamp(1, self.window)

    # -- training state ---------------------------------------------------------------------------
    def trainable_parts(self) -> list[list[nn.Module]]:
        """The unfrozen modules by depth, top layer first (with the final norm: it makes the last state)."""
        layers = self.encoder.layers
        parts = [[layer] for layer in layers[self.num_layers - self.trainable_layers :]][::-1]
        if parts:
            parts[0].append(self.encoder.layer_norm)
        return parts

    def enable_checkpointing(self) -> None:
        """Recompute the unfrozen layers' activations in the backward pass (transformers' own mechanism)."""
        self.encoder.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        self.checkpointing = True

    # -- forward ----------------------------------------------------------------------------------
    def log_mel(self, wave: Tensor) -> Tensor:
        """``(B, mels, 2 * window)``: ``WhisperFeatureExtractor``'s features of ``wave``, padded or cut to
        the window."""
        wave = wave[:, : self.num_samples]
        wave = F.pad(wave, (0, self.num_samples - wave.shape[-1]))
        power = self.spectrogram(wave)[..., :-1]
        mel = torch.matmul(self.mel_filters, power).clamp_min(1e-10).log10()
        mel = torch.maximum(mel, mel.amax(dim=(-2, -1), keepdim=True) - 8.0)
        return (mel + 4.0) / 4.0

    def hidden_states(self, wave: Tensor, lengths: Tensor = None) -> Tensor:
        """``(B, layers + 1, frames(T), dim)``; ``lengths`` is not needed (padding is Whisper's own)."""
        width = int(self.frames(torch.tensor(wave.shape[-1])))
        enc = self.encoder
        x = F.gelu(enc.conv1(self.log_mel(wave)))
        x = F.gelu(enc.conv2(x)).permute(0, 2, 1)
        x = x + enc.embed_positions.weight[: x.shape[1]]
        states = [x]
        for layer in enc.layers:
            x = layer(x, None)
            x = x[0] if isinstance(x, tuple) else x
            states.append(x)
        states[-1] = enc.layer_norm(x)
        return torch.stack(states, 1)[:, :, :width]


ENCODER_PREFIXES = ("model.encoder.", "encoder.")  # WhisperForConditionalGeneration's, WhisperModel's


def _encoder_keys(state_keys) -> str:
    """The prefix the encoder's tensors carry in a checkpoint ("" for a bare encoder's)."""
    keys = list(state_keys)
    return next((p for p in ENCODER_PREFIXES if any(k.startswith(p) for k in keys)), "")


def _encoder_state(state: dict[str, Tensor]) -> dict[str, Tensor]:
    prefix = _encoder_keys(state)
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def whisper_backbone(
    model: str, default_arch: dict[str, Any], weights: Optional[str], arch: Optional[dict[str, Any]]
) -> tuple[WhisperBackbone, dict[str, Any]]:
    """The backbone of zoo model ``model`` with its weights, and the architecture read from a Hugging Face
    folder's ``config.json`` (for the checkpoint to keep)."""
    feature = f"model '{model}'"
    read: dict[str, Any] = {}
    state = None
    if weights is not None:
        where = locate(weights)
        if where.kind == "bundle":
            raise no_bundle(where.name, model)
        if where.kind == "hf":
            config = read_json(where.path / "config.json")
            check_model_type(where.path, config, "whisper", model, "Whisper")
            read["arch"] = {**default_arch, **{k: config[k] for k in ENCODER_FIELDS if k in config}}
            state = _encoder_state(folder_tensors(where.path, lambda k: k.startswith(ENCODER_PREFIXES)))
        else:
            state = _encoder_state(read_tensors(where.path))
    encoder = build_whisper_encoder(read.get("arch") or arch or default_arch, feature)
    if state is not None:
        hint = "; for another size, give the Hugging Face folder (its config.json) or set model_kwargs.arch"
        load_exact(encoder, state, weights, model, hint)
    return WhisperBackbone(encoder, read.get("arch") or arch or default_arch), read
