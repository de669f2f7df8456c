"""Adapt a trained model to a new recording set-up without labels: AdaBN (Li et al. 2016).

A corpus's microphones, rooms and speakers shift the features each BatchNorm layer normalises;
re-estimating the layers' running mean and variance on the new audio (one forward pass, no labels, no
gradients) undoes much of that shift. Measured on loco, where each corpus in turn is unheard
(benchmarks/results/loco_adabn.md). The adapted model has then seen the audio it is evaluated on: a figure
after adaptation is transductive and is reported as such, never as the protocol's headline.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Iterable, Iterator, NamedTuple, Optional, Sequence, Union

import numpy as np
import torch
from torch import nn

from .audio import load_audio, pad_waves
from .data.vad import trim_to_speech
from .errors import AudioError, ConfigError, error_reason
from .infer import load_model, scan_inputs
from .inference import training_width, training_windows
from .speech_gate import check_waves, model_input
from .temperature import KEY as CALIBRATION


def batchnorm_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """Every BatchNorm layer of ``model`` (1-d, 2-d and 3-d alike)."""
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@torch.no_grad()
def adapt_batchnorm(model: nn.Module, batches: Iterable[dict[str, Any]]) -> int:
    """Replace each BatchNorm layer's running statistics with their plain average over ``batches`` (the data
    module's batch dicts: ``audio`` and ``lengths``; labels unused), augmentation off; returns the number of
    clips seen. The model is left in eval mode; a model without BatchNorm is returned unchanged (0 clips)."""
    norms = batchnorm_layers(model)
    if not norms:
        return 0
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: every batch weighs the same
    model.train()
    if getattr(model, "augment", None) is not None:
        model.augment.eval()
    seen = 0
    try:
        for batch in batches:
            extra = {k: v for k, v in batch.items() if k not in ("audio", "lengths") and torch.is_tensor(v)}
            model(batch["audio"], batch["lengths"], **extra)  # per-clip inputs the net lists (e.g. gender)
            seen += len(batch["lengths"])
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        model.eval()
    return seen


def clip_batches(
    model, waves: Sequence[np.ndarray], batch_size: int = 16, trim: Optional[bool] = None
) -> Iterator[dict[str, Any]]:
    """Mono waveforms at the model's rate as training batches: cut to their speech when ``trim`` (default:
    when the model was trained so, ``model.vad_trim``), then read as ``infer`` reads them, a clip up to
    ``example_seconds`` whole and a longer one as training-length windows from its start to its end
    (``inference.training_windows``), zero-padded, with their lengths. So every part of a long recording
    counts, as training's random crops drew from every part of a clip, and the statistics are those of the
    windows ``infer`` will normalise."""
    width = training_width(model)
    if getattr(model, "vad_trim", False) if trim is None else trim:
        waves = trim_to_speech(waves, model.hparams.sample_rate)
    windows = [window for wave in waves for window in training_windows(wave, width)]
    for start in range(0, len(windows), batch_size):
        audio, lengths = pad_waves(windows[start : start + batch_size], width)
        yield {"audio": audio.to(model.device), "lengths": lengths.to(model.device)}


def adapted_checkpoint(model, source: str, clips: int, windows: int) -> dict[str, Any]:
    """A ``.ckpt`` dict that ``ser_zoo.lit.load_module`` (and so ``--model`` of infer, listen, export) reads:
    the module's own hyper-parameters and weights, its calibration and VAD-trim flag, and what it was adapted
    on. The temperature was fitted before adaptation and is kept as it was."""
    accepted = inspect.signature(type(model)).parameters
    return {
        "hyper_parameters": {k: v for k, v in dict(model.hparams).items() if k in accepted},
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        CALIBRATION: getattr(model, "calibration", None),
        "datamodule_hyper_parameters": {"vad_trim": bool(getattr(model, "vad_trim", False))},
        "adapted": {"method": "AdaBN", "from": source, "clips": clips, "windows": windows},
    }


class Adapted(NamedTuple):
    """What ``adapt_files`` did: clips the statistics came from and the training-length windows they were
    read as, files it could not read, files without speech it left out (each ``(file, reason)``)."""

    clips: int
    windows: int
    skipped: list[tuple[str, str]]
    no_speech: list[tuple[str, str]]


def adapt_files(
    model_spec: str,
    inputs: Sequence[str],
    out: Union[str, Path],
    batch_size: int = 16,
    max_seconds: float = 60.0,
    speech_gate: bool = False,
) -> Adapted:
    """``ser-zoo adapt``: the model's BatchNorm statistics re-estimated on the audio files, folders or globs
    ``inputs`` (no labels), written to ``out`` as a checkpoint.

    With ``speech_gate`` a file in which Silero VAD hears no speech (room tone, a tone, music) is left out, as
    ``infer`` names no emotion for it: statistics of non-speech would shift every speech clip's features.
    """
    model = load_model(model_spec, purpose="AdaBN (adapt)")
    if not batchnorm_layers(model):
        raise ConfigError(f"model {model_spec!r} has no BatchNorm layer: there is nothing to adapt")
    scan = scan_inputs(inputs)
    paths, waves, bad = [], [], [(str(s.path), s.reason) for s in scan.skipped]
    for path in scan.audio:
        try:
            waves.append(load_audio(path, model.hparams.sample_rate, max_seconds=max_seconds))
            paths.append(str(path))
        except AudioError as e:
            bad.append((str(path), error_reason(e, path)))
    if not waves:
        raise ConfigError(f"no readable audio in {list(inputs)}: nothing to adapt to")
    silent, trim = [], None
    if speech_gate:
        checks = check_waves(waves, model.hparams.sample_rate)
        trim = False  # cut here from the gate's own bounds, not by a second VAD pass
        silent = [(p, f"no speech ({ev.describe()})") for p, ev in zip(paths, checks) if not ev.is_speech]
        waves = [model_input(w, ev, model.vad_trim) for w, ev in zip(waves, checks) if ev.is_speech]
        if not waves:
            raise ConfigError(
                f"no speech in any readable file of {list(inputs)}: nothing to adapt to "
                "(--speech_gate off adapts on them anyway)"
            )
    seen = adapt_batchnorm(model, clip_batches(model, waves, batch_size, trim))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(adapted_checkpoint(model, model_spec, len(waves), seen), out)
    return Adapted(len(waves), seen, bad, silent)
