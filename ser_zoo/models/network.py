"""The classifier a ``SERModule`` trains, as a plain ``nn.Module``: front-end, network, optional side branch.

Inference (``ser-zoo infer``, ``listen``, ``export``, ``load_pretrained``) needs only the forward pass, the
classes, the rate and clip length the model was trained on, its temperature and its VAD flag. ``SERNet`` holds
the same submodules as a ``SERModule`` under the same names (``Classifier`` builds both), so each loads the
other's weights, and importing it brings in neither Lightning nor torchmetrics (seconds of a one-file
``ser-zoo infer`` on a CPU: benchmarks/results/infer_start.md).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import torch
from torch import nn

from .. import inference
from ..checkpoint_file import load_checkpoint_file
from ..errors import ConfigError
from ..features import create_frontend
from ..temperature import KEY as CALIBRATION
from ..temperature import temperature_of
from .registry import create_model, model_entry, takes_input_shape


def build_network(
    model: str,
    num_classes: int,
    model_kwargs: dict[str, Any],
    frontend: nn.Module,
    fe_name: str,
    samples: int,
) -> nn.Module:
    """The registered network, sized from the front-end's output on ``samples`` where it takes a fixed input
    shape; fails at construction, naming both sides, when that output cannot feed it."""

    def mismatch(e: Exception, shape: Any) -> ConfigError:
        first = str(e).splitlines()[0]
        return ConfigError(
            f"model '{model}' cannot take front-end '{fe_name}' output of shape {shape}: {first}"
        )

    if takes_input_shape(model) and "input_shape" not in model_kwargs:
        model_kwargs = {**model_kwargs, "input_shape": tuple(frontend.output_shape(samples))}
    try:
        net = create_model(model, num_classes, **model_kwargs)
    except (RuntimeError, ValueError) as e:  # a fixed-input net sized from an output it cannot take
        raise mismatch(e, model_kwargs.get("input_shape")) from None
    kind = model_entry(model).input_kind
    if getattr(frontend, "kind", kind) != kind:
        raise ConfigError(
            f"model '{model}' takes {kind} input but front-end '{fe_name}' gives {frontend.kind}"
        )
    shape = tuple(frontend.output_shape(samples))
    try:
        was_training = net.training
        with torch.no_grad():
            net.eval()(torch.zeros(1, *shape))
        net.train(was_training)
    except (RuntimeError, ValueError) as e:
        raise mismatch(e, shape) from None
    return net


def side_branch(spec: Optional[dict[str, Any]], num_classes: int, samples: int):
    """(front-end, linear head) of a side input that gives one vector per clip; (None, None) without one."""
    if not spec:
        return None, None
    frontend = create_frontend(dict(spec))
    shape = tuple(frontend.output_shape(samples))
    if len(shape) != 1:
        raise ConfigError(
            f"side_frontend '{spec.get('name')}' gives {shape} per clip; it needs one vector per clip "
            "(e.g. voice_embedding)"
        )
    return frontend, nn.Linear(shape[0], num_classes)


class Hyperparameters(dict):
    """The architecture arguments, read as attributes too (as a LightningModule's ``hparams`` are)."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value


class Classifier:
    """The parts and the forward pass ``SERNet`` and ``SERModule`` share; each sets ``hparams`` (its
    arguments), then calls ``_build_parts``."""

    hparams: Any

    def _build_parts(self) -> None:
        """Front-end, network and side branch from the architecture arguments in ``hparams``."""
        h = self.hparams
        model, model_kwargs, num_classes, sample_rate = h.model, h.model_kwargs, h.num_classes, h.sample_rate
        self.class_names = list(h.class_names or [str(i) for i in range(num_classes)])
        if len(self.class_names) != num_classes:
            raise ConfigError(f"class_names has {len(self.class_names)} names but num_classes={num_classes}")
        self.frontend_spec = dict(h.frontend or model_entry(model).frontend)
        self.frontend = create_frontend(self.frontend_spec)
        samples = int(sample_rate * h.example_seconds)
        fe_name = self.frontend_spec.get("name")
        self.net = build_network(model, num_classes, model_kwargs or {}, self.frontend, fe_name, samples)
        self.side_frontend, self.side_head = side_branch(h.side_frontend, num_classes, samples)
        if h.channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        if getattr(self.net, "resolved_kwargs", None):  # e.g. an encoder's architecture from its config.json
            self.hparams.model_kwargs = {**(model_kwargs or {}), **self.net.resolved_kwargs}
        self.temperature = 1.0  # logits / temperature in prediction; a calibrated checkpoint sets it
        self.calibration: Optional[dict[str, Any]] = None  # ``ser-zoo calibrate``'s block, where there is one
        self.vad_trim = False  # trained on clips cut to their speech: inference cuts them the same way

    def forward(
        self, wave: torch.Tensor, lengths: Optional[torch.Tensor] = None, **extra: torch.Tensor
    ) -> torch.Tensor:
        """Logits for a waveform batch; ``extra`` holds per-clip inputs a net declares (e.g. ``gender``)."""
        feats = self.frontend(wave, lengths)
        return self._classify(feats, wave, lengths, {"lengths": lengths, **extra})

    def _classify(self, feats: torch.Tensor, wave: torch.Tensor, lengths, batch: dict[str, Any]):
        """The net's logits on the features, plus the side branch's on the waveform where there is one."""
        if self.hparams.channels_last and feats.dim() == 4:
            feats = feats.contiguous(memory_format=torch.channels_last)
        logits = self.net(feats, **self._extra_inputs(batch))
        if self.side_frontend is not None:
            logits = logits + self.side_head(self.side_frontend(wave, lengths))
        return logits

    def _extra_inputs(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Per-clip side inputs the net lists in ``extra_inputs`` (absent ones: the net's default)."""
        return {k: batch[k] for k in getattr(self.net, "extra_inputs", ()) if batch.get(k) is not None}

    def predict(
        self,
        audio: Union[str, Path, np.ndarray, torch.Tensor, list],
        sample_rate: Optional[int] = None,
        batch_size: int = 16,
    ):
        """Emotion of a file or waveform at any rate, or of each in a list, see
        :func:`ser_zoo.inference.predict_audio`."""
        return inference.predict_audio(self, audio, sample_rate, batch_size)


class SERNet(Classifier, nn.Module):
    """Speech emotion classifier for inference: waveform batch in, logits out; no Lightning.

    ``ser_zoo.load_pretrained`` and ``load_network`` (a ``ser-zoo fit`` checkpoint) build one. The arguments
    are the architecture ones of ``ser_zoo.lit.SERModule``, which trains the same network: fine-tune a zoo
    checkpoint with ``model.init_from: NAME``.

    Args:
        model: a registered model name (``ser-zoo models`` / ``ser_zoo.list_models()``).
        model_kwargs: options passed to the model builder.
        frontend: front-end spec ``{"name": ..., **kwargs}``; default: the one the model declares.
        num_classes, class_names: the classes, in the order of the logits.
        sample_rate, example_seconds: the rate and clip length it was trained on (``infer`` reads longer clips
            as windows of that length).
        side_frontend: a front-end giving one vector per clip whose linear head's logits add to the net's.
        channels_last: NHWC weights and 4-d inputs, as trained.

    Example:
        >>> net = SERNet("mel_cnn", num_classes=2, class_names=["calm", "angry"], example_seconds=1.0)
        >>> net.eval()(torch.zeros(1, 16000)).shape
        torch.Size([1, 2])
    """

    def __init__(
        self,
        model: str = "resnet18",
        model_kwargs: Optional[dict[str, Any]] = None,
        frontend: Optional[dict[str, Any]] = None,
        num_classes: int = 8,
        class_names: Optional[list[str]] = None,
        sample_rate: int = 16000,
        example_seconds: float = 3.0,
        side_frontend: Optional[dict[str, Any]] = None,
        channels_last: bool = False,
    ):
        super().__init__()
        self.hparams = Hyperparameters(
            model=model,
            model_kwargs=model_kwargs,
            frontend=frontend,
            num_classes=num_classes,
            class_names=class_names,
            sample_rate=sample_rate,
            example_seconds=example_seconds,
            side_frontend=side_frontend,
            channels_last=channels_last,
        )
        self._build_parts()

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device


def without_start(model_kwargs: Optional[dict[str, Any]]) -> dict[str, Any]:
    """A trained model's builder options without its starting point (``weights`` dropped, ``pretrained``
    off): its checkpoint or zoo weights hold every weight, so the ImageNet or speech-encoder start is neither
    loaded again nor needed."""
    kwargs = dict(model_kwargs or {})
    kwargs.pop("weights", None)
    if "pretrained" in kwargs:
        kwargs["pretrained"] = False
    return kwargs


def from_fit_checkpoint(cls: type, path: Union[str, Path], map_location: Any = "cpu"):
    """``cls`` (``SERNet`` or ``SERModule``) rebuilt from a ``ser-zoo fit`` checkpoint, checked and read
    ``weights_only`` (``ser_zoo.checkpoint_file``).

    It is built from the saved hyperparameters ``cls`` takes, without ``init_from`` and
    ``model_kwargs.weights``: a checkpoint holds all its weights, so its zoo, ImageNet or speech-encoder start
    is neither loaded again nor needed. A checkpoint written by ``ser-zoo calibrate`` gives it its
    ``calibration`` block and ``temperature`` (others: None and 1.0); one trained on VAD-trimmed clips sets
    ``vad_trim``.
    """
    checkpoint = load_checkpoint_file(path, map_location)
    accepted = inspect.signature(cls).parameters  # not Lightning's _instantiator / _class_path keys
    saved = {k: v for k, v in (checkpoint.get("hyper_parameters") or {}).items() if k in accepted}
    saved["model_kwargs"] = without_start(saved.get("model_kwargs"))
    if "init_from" in accepted:
        saved["init_from"] = None
    module = cls(**saved)
    module.load_state_dict(checkpoint["state_dict"])
    module.calibration = checkpoint.get(CALIBRATION)
    module.temperature = temperature_of(module.calibration, str(path))
    module.vad_trim = bool((checkpoint.get("datamodule_hyper_parameters") or {}).get("vad_trim", False))
    return module


def load_network(path: Union[str, Path], map_location: Any = "cpu") -> SERNet:
    """The ``SERNet`` of a ``ser-zoo fit`` checkpoint (see ``from_fit_checkpoint``), in eval mode."""
    return from_fit_checkpoint(SERNet, path, map_location).eval()
