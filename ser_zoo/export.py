"""``ser-zoo export``: a trained model as a self-contained ONNX file for runtimes without PyTorch.

The front-end is exported with the network when it can be, so the ONNX graph takes raw 16 kHz waveforms
``(batch, samples)`` and gives two outputs: ``logits`` and ``probs``, softmax(logits / temperature) with a
calibrated model's temperature (``ser-zoo calibrate``; 1 otherwise), the probabilities ``predict`` gives.
torchaudio's spectrograms call ``torch.stft(return_complex=True)``,
which the TorchScript exporter cannot lower; for the export only, each ``Spectrogram`` is swapped for the
same computation on ``return_complex=False`` (the exporter's real-valued STFT, opset 17). A front-end that
still does not export falls back to the network alone on features, and the file's metadata says which input
it takes.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

import torch
import torchaudio.transforms as T
from torch import Tensor, nn

from . import __version__
from .errors import ConfigError, SerZooError
from .infer import load_model
from .models import takes_input_shape

FORMATS = ("onnx",)
OPSET = 17  # the first opset with STFT


class _RealStft(nn.Module):
    """``torchaudio.transforms.Spectrogram`` (magnitude/power) via the real-valued STFT that exports."""

    def __init__(self, spec: T.Spectrogram):
        super().__init__()
        if spec.power is None or spec.normalized or spec.pad:
            raise SerZooError(
                "a complex, normalised or padded spectrogram has no ONNX-exportable equivalent here"
            )
        self.n_fft, self.hop_length, self.win_length = spec.n_fft, spec.hop_length, spec.win_length
        self.center, self.pad_mode, self.onesided, self.power = (
            spec.center,
            spec.pad_mode,
            spec.onesided,
            spec.power,
        )
        self.register_buffer("window", spec.window.clone(), persistent=False)

    def forward(self, wave: Tensor) -> Tensor:
        shape = wave.shape
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # return_complex=False is deprecated, but it is what exports
            ri = torch.stft(
                wave.reshape(-1, shape[-1]),
                self.n_fft,
                self.hop_length,
                self.win_length,
                self.window,
                center=self.center,
                pad_mode=self.pad_mode,
                onesided=self.onesided,
                return_complex=False,
            )
        power = ri.pow(2).sum(-1)  # |X|^2
        spec = power if self.power == 2.0 else power.pow(self.power / 2.0)
        return spec.reshape(shape[:-1] + spec.shape[-2:])


def onnx_friendly(frontend: nn.Module) -> nn.Module:
    """A copy of ``frontend`` with every torchaudio Spectrogram replaced by ``_RealStft`` (same numbers);
    ``frontend`` itself when it has none (a speech encoder is not copied for nothing)."""
    if not any(isinstance(m, T.Spectrogram) for m in frontend.modules()):
        return frontend
    frontend = copy.deepcopy(frontend)
    for parent in list(frontend.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, T.Spectrogram):
                setattr(parent, name, _RealStft(child))
    return frontend


OUTPUTS = ("logits", "probs")


def with_probs(logits: Tensor, temperature: float) -> tuple[Tensor, Tensor]:
    """The exported outputs: logits, and softmax(logits / temperature) as ``predict`` computes it."""
    return logits, (logits / temperature).softmax(-1)


class WaveformClassifier(nn.Module):
    """Waveform (B, samples) -> (logits, probs): the module's front-end and network as one graph (a network
    with its own spectrogram, such as Whisper's encoder, gets the exportable STFT too)."""

    def __init__(self, module):
        super().__init__()
        self.frontend, self.net = onnx_friendly(module.frontend), onnx_friendly(module.net)
        self.temperature = float(getattr(module, "temperature", 1.0))

    def forward(self, waveform: Tensor) -> tuple[Tensor, Tensor]:
        return with_probs(self.net(self.frontend(waveform)), self.temperature)


class FeatureClassifier(nn.Module):
    """Features -> (logits, probs): the fallback when the front-end does not export."""

    def __init__(self, module):
        super().__init__()
        self.net = module.net
        self.temperature = float(getattr(module, "temperature", 1.0))

    def forward(self, features: Tensor) -> tuple[Tensor, Tensor]:
        return with_probs(self.net(features), self.temperature)


@dataclass
class ExportResult:
    path: Path
    input: str  # "waveform" or "features"
    input_shape: tuple[int, ...]  # with batch 1
    dynamic_batch: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def shape(self) -> list:
        """The ONNX input's shape, "batch" where the axis is dynamic."""
        return ["batch" if self.dynamic_batch else 1, *self.input_shape[1:]]


@contextlib.contextmanager
def _quiet_stdout():
    """Silence fd 1 meanwhile: on failure the exporter's C++ side prints the whole TorchScript graph there."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _to_onnx(
    wrapper: nn.Module, example: Tensor, path: Path, input_name: str, dynamic_batch: bool = True
) -> None:
    axes = {name: {0: "batch"} for name in (input_name, *OUTPUTS)} if dynamic_batch else None
    with warnings.catch_warnings(), _quiet_stdout():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper.eval(),
            (example,),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=[input_name],
            output_names=list(OUTPUTS),
            dynamic_axes=axes,
        )


def _batch_breaks(path: Path, example: Tensor) -> Optional[str]:
    """Why a batch of 2 fails in onnxruntime (a net that bakes the traced batch size in); None if it runs."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    opts = ort.SessionOptions()
    opts.log_severity_level = 4  # the failure is reported as a note, not as ORT's own error log
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    try:
        sess.run(None, {sess.get_inputs()[0].name: example.repeat(2, *[1] * (example.dim() - 1)).numpy()})
    except Exception as e:
        return str(e).strip().splitlines()[0][:200]
    return None


def export_onnx(module, out: Union[str, Path], seconds: Optional[float] = None) -> ExportResult:
    """Write ``module`` (an eval-mode SERModule) to ``out`` as ONNX, class names etc. in metadata_props."""
    import onnx

    h = module.hparams
    if h.get("side_frontend"):  # measured: GE2E's graph came out 40 % off in its logits, so refuse
        raise ConfigError(
            f"ONNX export does not reproduce side_frontend '{h.side_frontend.get('name')}' faithfully; use "
            "this model from Python (ser_zoo.load_pretrained, ser-zoo infer)"
        )
    seconds = float(seconds or h.example_seconds)
    if takes_input_shape(h.model) and abs(seconds - h.example_seconds) > 1e-9:
        raise ConfigError(
            f"model '{h.model}' has a fixed {h.example_seconds:g} s input; export with --seconds "
            f"{h.example_seconds:g}"
        )
    module = module.eval().cpu()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    wave = 0.1 * torch.randn(
        1, int(round(seconds * h.sample_rate)), generator=torch.Generator().manual_seed(0)
    )
    notes = []
    example, input_name = wave, "waveform"
    try:
        wrapper = WaveformClassifier(module)
        _to_onnx(wrapper, example, out, input_name)
    except Exception as e:  # the exporter raises many types; the reason goes into the note
        reason = str(e).strip().splitlines()[0][:200]
        with torch.no_grad():
            example = module.frontend(wave)
        wrapper, input_name = FeatureClassifier(module), "features"
        _to_onnx(wrapper, example, out, input_name)
        notes.append(
            f"front-end '{module.frontend_spec.get('name')}' did not export ({reason}); the ONNX model "
            f"takes its features {tuple(example.shape)}: compute them with "
            f"ser_zoo.features.create_frontend({json.dumps(module.frontend_spec)})"
        )
    broken = _batch_breaks(out, example)
    if broken:
        _to_onnx(wrapper, example, out, input_name, dynamic_batch=False)
        notes.append(
            f"batch axis fixed at 1: model '{h.model}' bakes the traced batch size into its graph ({broken})"
        )
    result = ExportResult(out, input_name, tuple(example.shape), not broken, notes)
    model = onnx.load(str(out))
    onnx.checker.check_model(model)
    meta = {
        "class_names": json.dumps(list(module.class_names)),
        "sample_rate": str(h.sample_rate),
        "clip_seconds": f"{seconds:g}",
        "input": result.input,
        "input_shape": json.dumps(result.shape),
        "model": h.model,
        "frontend": json.dumps(module.frontend_spec),
        "temperature": f"{float(getattr(module, 'temperature', 1.0)):.6g}",
        "vad_trim": json.dumps(bool(getattr(module, "vad_trim", False))),
        "opset": str(OPSET),
        "notes": " ".join(notes),
        "producer": f"ser-zoo {__version__} export",
    }
    del model.metadata_props[:]
    for k, v in meta.items():
        model.metadata_props.add(key=k, value=v)
    onnx.save(model, str(out))
    return result


def onnx_parity(module, path: Union[str, Path], inputs: Tensor) -> float:
    """Max abs difference of the ONNX Runtime and PyTorch logits on ``inputs`` (waveforms or features)."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    with torch.no_grad():
        ref = (module.net(inputs) if name == "features" else module(inputs)).numpy()
    got = sess.run(None, {name: inputs.numpy().astype("float32")})[0]
    return float(abs(ref - got).max())


def run_export(model_spec: str, fmt: str, out: str, seconds: Optional[float] = None) -> int:
    """The CLI job: export, check the file, and compare it with PyTorch when onnxruntime is installed."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r} is not supported; use {' or '.join(FORMATS)}")
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise SerZooError("ONNX export needs the onnx package: pip install 'ser-zoo[onnx]'") from None
    module = load_model(model_spec, purpose="ONNX export")
    result = export_onnx(module, out, seconds)
    for note in result.notes:
        print(f"note: {note}")
    size = result.path.stat().st_size / 2**20
    print(
        f"wrote {result.path} ({size:.1f} MiB): {result.input} {json.dumps(result.shape)} -> logits and "
        f"probs over {len(module.class_names)} classes (temperature {module.temperature:g}); class names, "
        "sample rate, clip length and temperature in its metadata"
    )
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        print("onnxruntime not installed: parity with PyTorch not checked (pip install 'ser-zoo[onnx]')")
        return 0
    n = int(round(float(seconds or module.hparams.example_seconds) * module.hparams.sample_rate))
    x = 0.1 * torch.randn(2 if result.dynamic_batch else 1, n, generator=torch.Generator().manual_seed(1))
    if result.input == "features":
        with torch.no_grad():
            x = module.frontend(x)
    print(
        f"onnxruntime vs PyTorch on {len(x)} noise clip(s): max abs logit difference "
        f"{onnx_parity(module, out, x):.2e}"
    )
    return 0
