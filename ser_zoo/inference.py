"""Emotions of waveforms and audio files from a loaded model: the model side of ``infer``, ``listen`` and
``model.predict``.

``model`` is a ``SERModule`` from ``ser_zoo.load_pretrained`` or ``ser_zoo.lit.load_module`` (anything with
its ``hparams``, ``class_names``, ``device`` and ``forward(wave, lengths)``). This module does not import
the LightningModule, so the module's ``predict`` can hand its work here. A calibrated model (``ser-zoo
calibrate``) has a ``temperature``; its logits are divided by it before the softmax (absent: 1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import torch

from .audio import centre_crop, load_audio, pad_waves, prepare_waveform
from .data.vad import trim_to_speech
from .models import takes_input_shape


@torch.no_grad()
def predict_waveforms(model, waves: list[np.ndarray]) -> list[dict[str, Any]]:
    """``{"label", "prob", "probs": {class: p}}`` for each mono waveform already at the model's sample rate.

    Models with a fixed-size input see the centre ``example_seconds`` of each (zero-padded if shorter); the
    others see whole clips, zero-padded to the batch's longest with their lengths passed along. The
    probabilities are ``softmax(logits / model.temperature)`` (1 when the model has none).
    """
    h = model.hparams
    width = max(len(w) for w in waves)
    if takes_input_shape(h.model):
        width = int(h.sample_rate * h.example_seconds)
        waves = [centre_crop(w, width) for w in waves]
    batch, lengths = pad_waves(waves, width)
    was_training = model.training
    model.eval()
    logits = model(batch.to(model.device), lengths.to(model.device))
    probs = (logits.float() / getattr(model, "temperature", 1.0)).softmax(-1).cpu()
    model.train(was_training)
    names = model.class_names
    return [
        {"label": names[int(p.argmax())], "prob": float(p.max()), "probs": dict(zip(names, map(float, p)))}
        for p in probs
    ]


def predict_audio(
    model, audio: Union[str, Path, np.ndarray, torch.Tensor], sample_rate: Optional[int] = None
) -> Union[dict[str, Any], list[dict[str, Any]]]:
    """Emotion of a file path or a waveform ((T,) or (B, T) at ``sample_rate``, default the model's).

    Returns ``{"label", "prob", "probs": {class: p}}``, or a list of them for a (B, T) batch; files and
    waveforms at any rate or channel count are brought to the model's mono rate first, and cut to their
    speech by Silero VAD when the model was trained on clips cut so (``model.vad_trim``).
    """
    sr = model.hparams.sample_rate
    if isinstance(audio, (str, Path)):
        waves, single = [load_audio(audio, sr)], True
    else:
        arr = audio.detach().cpu().numpy() if isinstance(audio, torch.Tensor) else np.asarray(audio)
        single = arr.ndim == 1
        waves = [prepare_waveform(row, sample_rate or sr, sr) for row in (arr[None] if single else arr)]
    if getattr(model, "vad_trim", False):
        waves = trim_to_speech(waves, sr)
    out = predict_waveforms(model, waves)
    return out[0] if single else out
