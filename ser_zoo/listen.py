"""``ser-zoo listen``: the emotion of live microphone input, re-classified every hop over a rolling window.

The stream is injectable: ``listen`` takes anything shaped like ``sounddevice.InputStream`` (a context
manager with ``samplerate``, ``channels`` and ``read(frames) -> (float32 array (frames, channels),
overflowed)``), so tests and other sources (a file played back, a network feed) run the same loop as a
microphone. ``sounddevice`` is optional (``pip install 'ser-zoo[mic]'``) and imported only here, when a
microphone is actually opened.

With ``speech_gate`` (the command's default when silero-vad is installed) each window goes through Silero VAD
first, and a window without speech prints ``no speech`` and the VAD's evidence instead of an emotion
(``ser_zoo.speech_gate``): room tone, a fan or music between utterances gets no emotion named.

A speaker-normalised model (``general6_spknorm``) judges each window against the voice at the microphone:
``speaker_infer.LiveVoice`` keeps the vectors of the speech windows heard so far, and the first emotion comes
once they span enough distinct speech (until then the line says it is learning the voice).
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Optional

import numpy as np

from .audio import prepare_waveform
from .errors import ConfigError, SerZooError
from .infer import load_model
from .models.speaker_normalized import is_speaker_normalized
from .speaker_infer import LiveVoice
from .speech_gate import (
    NO_SPEECH,
    SpeechEvidence,
    answer,
    check_waves,
    gated_row,
    model_input,
    no_speech_row,
    resolve_gate,
)

MIC_HINT = "pip install 'ser-zoo[mic]'"
FALLBACK_WINDOW_S = 3.0


def default_window(model) -> float:
    """The clip length the model was trained and tested at: one forward pass a window, and the length its
    card's numbers hold for. ``FALLBACK_WINDOW_S`` for a model without one (speaker-normalised features)."""
    seconds = getattr(getattr(model, "hparams", None), "example_seconds", None)
    return float(seconds) if seconds else FALLBACK_WINDOW_S


class RingBuffer:
    """The last ``capacity`` frames of a (frames, channels) stream, in a fixed array (memory never grows)."""

    def __init__(self, capacity: int, channels: int):
        self.data = np.zeros((capacity, channels), np.float32)
        self.pos = 0  # next row to write
        self.filled = 0

    def write(self, block: np.ndarray) -> None:
        block = np.asarray(block, np.float32).reshape(len(block), -1)[-len(self.data) :]
        n, cap = len(block), len(self.data)
        first = min(n, cap - self.pos)
        self.data[self.pos : self.pos + first] = block[:first]
        self.data[: n - first] = block[first:]
        self.pos = (self.pos + n) % cap
        self.filled = min(cap, self.filled + n)

    def latest(self) -> np.ndarray:
        """The buffered frames, oldest first (a copy)."""
        if self.filled < len(self.data):
            return self.data[: self.filled].copy()
        return np.concatenate([self.data[self.pos :], self.data[: self.pos]])


def _sounddevice():
    """The sounddevice module, or one clear line on what is missing and how to get it."""
    try:
        return importlib.import_module("sounddevice")
    except ImportError:
        raise SerZooError(f"live input needs the optional sounddevice package: {MIC_HINT}") from None
    except OSError as e:  # sounddevice imports but cannot load the PortAudio C library
        raise SerZooError(
            f"sounddevice cannot load PortAudio ({e}); install it (Debian/Ubuntu: apt install "
            "libportaudio2, macOS: brew install portaudio) or use 'ser-zoo infer' on a recording"
        ) from None


def open_input_stream(device: Optional[Any] = None):
    """A float32 ``sounddevice.InputStream`` at the input device's native rate (up to 2 channels)."""
    sd = _sounddevice()
    try:
        info = sd.query_devices(device, kind="input")
        if int(info["max_input_channels"]) < 1:
            raise ValueError(f"'{info['name']}' has no input channels")
        return sd.InputStream(
            device=device,
            samplerate=float(info["default_samplerate"]),
            channels=min(2, int(info["max_input_channels"])),
            dtype="float32",
        )
    except Exception as e:  # PortAudioError / ValueError: no default input, bad index, device busy
        which = "the default input" if device is None else f"input device {device!r}"
        why = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise SerZooError(
            f"no usable audio input ({which}: {why}); connect a microphone or pick one with "
            "--device N (list them: python -m sounddevice)"
        ) from None


def listen(
    model,
    stream,
    window_s: Optional[float] = None,
    hop_s: float = 1.0,
    seconds: Optional[float] = None,
    out: Callable[[str], None] = print,
    speech_gate: bool = False,
) -> list[dict]:
    """Classify the last ``window_s`` (default: ``default_window(model)``) of ``stream`` every ``hop_s``
    until ``seconds`` (or the stream) end.

    One line per hop goes to ``out`` (``  12.0s  angry      0.71``, the time the window ends); the first
    comes once a full window is heard. Returns the rows (``time``, ``label``, ``prob``, ``probs``). With
    ``speech_gate`` rows carry ``speech`` and ``vad`` too, and a window without speech is the line
    ``  12.0s  no speech  (VAD: 0.00 s speech < 0.25 s, max p 0.02 < 0.5, mean p 0.01)``.
    """
    window_s = default_window(model) if window_s is None else window_s
    rate, channels = int(round(float(stream.samplerate))), int(stream.channels)
    win, hop = int(round(window_s * rate)), int(round(hop_s * rate))
    if hop <= 0 or win <= 0 or hop > win:
        raise ConfigError(f"window {window_s} s and hop {hop_s} s: use 0 < hop <= window")
    voice = LiveVoice(model, window_s, hop_s) if is_speaker_normalized(model) else None
    sr = int(model.sample_rate if voice else model.hparams.sample_rate)
    changes = ([f"{channels} channels averaged to mono"] if channels > 1 else []) + (
        [f"resampled to the model's {sr} Hz"] if rate != sr else []
    )
    if changes:
        out(f"note: input is {rate} Hz, {channels} channel(s): {', '.join(changes)}")
    out(
        f"listening: a {window_s:g} s window every {hop_s:g} s (first result after {window_s:g} s); "
        "Ctrl-C stops"
    )
    ring, heard, rows, warned = RingBuffer(win, channels), 0, [], False
    limit = None if seconds is None else int(round(seconds * rate))
    with stream:
        while limit is None or heard + hop <= limit:
            block, overflowed = stream.read(hop)
            if len(block) < hop:  # a finite source ran out
                break
            if overflowed and not warned:
                out(
                    "note: input overflowed (classifying is slower than real time here): "
                    "some audio was dropped"
                )
                warned = True
            ring.write(block)
            heard += hop
            if ring.filled < win:
                continue
            wave = prepare_waveform(ring.latest(), rate, sr, name="input", allow_silent=True)
            check = check_waves([wave], sr)[0] if speech_gate else None
            keys = {"time": round(heard / rate, 3)}
            if voice is None:
                [row] = answer(model, [(keys, wave)], [check])
            elif check is not None and not check.is_speech:
                row = no_speech_row(keys, check)
            else:
                found = voice.classify(model_input(wave, check, model.vad_trim), trimmed=check is not None)
                if found is None:
                    out(f"{keys['time']:7.1f}s  {voice.learning()}")
                    continue
                row = {**keys, **found} if check is None else gated_row({**keys, **found}, check)
            rows.append(row)
            out(_line(row, check))
    return rows


def _line(row: dict, check: Optional[SpeechEvidence]) -> str:
    """``  12.0s  angry      0.71``, or ``  12.0s  no speech  (VAD: ...)`` with the evidence."""
    if check is not None and not check.is_speech:
        return f"{row['time']:7.1f}s  {NO_SPEECH:<10} ({check.describe()})"
    return f"{row['time']:7.1f}s  {row['label']:<10} {row['prob']:.2f}"


def run_listen(
    model_spec: str,
    window: Optional[float] = None,
    hop: float = 1.0,
    device: Optional[Any] = None,
    seconds: Optional[float] = None,
    speech_gate: str = "auto",
) -> int:
    """The CLI job: the microphone is opened before the model loads, so a missing one fails at once."""
    gate, note = resolve_gate(speech_gate)
    if note:
        print(note, flush=True)
    stream = open_input_stream(int(device) if isinstance(device, str) and device.isdigit() else device)
    try:
        model = load_model(model_spec)
    except BaseException:
        getattr(stream, "close", lambda: None)()
        raise
    try:
        listen(
            model, stream, window, hop, seconds, out=lambda line: print(line, flush=True), speech_gate=gate
        )
    except KeyboardInterrupt:
        print("stopped")
    return 0
