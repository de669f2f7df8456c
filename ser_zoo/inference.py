"""Emotions of waveforms and audio files from a loaded model: the model side of ``infer``, ``listen`` and
``model.predict``.

``model`` is a ``SERNet`` from ``ser_zoo.load_pretrained`` or ``ser_zoo.models.network.load_network``, or a
training ``SERModule`` (anything with its ``hparams``, ``class_names``, ``device`` and ``forward(wave,
lengths)``). This module imports neither, so their ``predict`` can hand its work here. A calibrated model
(``ser-zoo calibrate``) has a ``temperature``; its logits are divided by it before the softmax (absent: 1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np
import torch

from .audio import load_audio, pad_waves, prepare_waveform
from .data.vad import trim_to_speech


def pools_over_padding(model) -> bool:
    """Whether the model's net averages over every frame it is given, zero-padding included (the CNNs), rather
    than masking padding with the batch's ``lengths`` (CRNN, speech encoders, feature models)."""
    net = getattr(model, "net", None)
    return net is not None and "lengths" not in getattr(net, "extra_inputs", ())


def training_width(model) -> int:
    """Samples in the clip the model was trained and evaluated on: ``example_seconds`` at its sample rate."""
    h = model.hparams
    return int(round(h.sample_rate * h.example_seconds))


def training_windows(wave: np.ndarray, width: int) -> list[np.ndarray]:
    """``wave`` itself when it fits in ``width`` samples, else ``ceil(n / width) + 1`` windows of ``width``
    spread evenly from its start to its end (start, centre and end for a clip up to twice the width)."""
    n = len(wave)
    if n <= width:
        return [wave]
    starts = np.linspace(0, n - width, -(-n // width) + 1).round().astype(int)
    return [wave[s : s + width] for s in starts]


@torch.no_grad()
def predict_waveforms(model, waves: list[np.ndarray]) -> list[dict[str, Any]]:
    """``{"label", "prob", "probs": {class: p}}`` for each mono waveform already at the model's sample rate.

    A model whose net pools over zero-padding reads each clip at the length it was trained and evaluated on
    (``example_seconds``): a shorter clip zero-padded to it, as the bench's evaluation crop pads it, a longer
    one as training-length windows from its start to its end (``training_windows``) whose probabilities are
    averaged. So an answer never depends on the other clips of the batch, and no audio is left unheard. Models
    that mask padding see whole clips, zero-padded to the batch's longest with their lengths passed along.
    The probabilities are ``softmax(logits / model.temperature)`` (1 when the model has none).
    """
    if pools_over_padding(model):
        width = training_width(model)
        pieces = [training_windows(w, width) for w in waves]
    else:
        width, pieces = max(len(w) for w in waves), [[w] for w in waves]
    batch, lengths = pad_waves([p for clip in pieces for p in clip], width)
    was_training = model.training
    model.eval()
    logits = model(batch.to(model.device), lengths.to(model.device))
    probs = (logits.float() / getattr(model, "temperature", 1.0)).softmax(-1).cpu()
    probs = torch.stack([p.mean(0) for p in probs.split([len(clip) for clip in pieces])])
    model.train(was_training)
    names = model.class_names
    return [
        {"label": names[int(p.argmax())], "prob": float(p.max()), "probs": dict(zip(names, map(float, p)))}
        for p in probs
    ]


Audio = Union[str, Path, np.ndarray, torch.Tensor]


def predict_audio(
    model, audio: Union[Audio, Sequence[Audio]], sample_rate: Optional[int] = None, batch_size: int = 16
) -> Union[dict[str, Any], list[dict[str, Any]]]:
    """Emotion of a file path or a waveform ((T,) or (B, T) at ``sample_rate``, default the model's), or of
    each item of a list of them (files and waveforms of any lengths, mixed).

    Returns ``{"label", "prob", "probs": {class: p}}``, or a list of them for a (B, T) batch or a list; files
    and waveforms at any rate or channel count are brought to the model's mono rate first, and cut to their
    speech by Silero VAD when the model was trained on clips cut so (``model.vad_trim``). A list goes through
    the model ``batch_size`` items at a time; a file that cannot be read raises ``AudioError`` naming it.
    """
    sr = model.hparams.sample_rate
    if isinstance(audio, (list, tuple)):
        waves, single = [_mono(item, sample_rate, sr) for item in audio], False
    elif isinstance(audio, (str, Path)):
        waves, single = [load_audio(audio, sr)], True
    else:
        arr = _array(audio)
        single = arr.ndim == 1
        waves = [prepare_waveform(row, sample_rate or sr, sr) for row in (arr[None] if single else arr)]
    if getattr(model, "vad_trim", False):
        waves = trim_to_speech(waves, sr)
    out = [
        r
        for i in range(0, len(waves), batch_size)
        for r in predict_waveforms(model, waves[i : i + batch_size])
    ]
    return out[0] if single else out


def _mono(item: Audio, sample_rate: Optional[int], sr: int) -> np.ndarray:
    """One list item of ``predict_audio`` as a mono waveform at ``sr``: a file, or a (T,) / (T, channels)
    waveform at ``sample_rate``."""
    if isinstance(item, (str, Path)):
        return load_audio(item, sr)
    return prepare_waveform(_array(item), sample_rate or sr, sr)


def _array(audio: Union[np.ndarray, torch.Tensor]) -> np.ndarray:
    return audio.detach().cpu().numpy() if isinstance(audio, torch.Tensor) else np.asarray(audio)
