"""``ser-zoo listen``: a fake input stream playing a 48 kHz stereo file runs the same loop as a microphone."""

import sys
import types

import numpy as np
import pytest
import soundfile as sf
from test_zoo import fit_ckpt

from ser_zoo import listen as listen_mod
from ser_zoo.cli import main
from ser_zoo.errors import SerZooError
from ser_zoo.infer import load_model
from ser_zoo.listen import RingBuffer, default_window, listen, open_input_stream

RATE = 48000


class FilePlayback:
    """Behaves like ``sounddevice.InputStream``: plays a file block by block, then returns short reads."""

    def __init__(self, path, block_overflows=()):
        self.data, self.samplerate = sf.read(str(path), dtype="float32", always_2d=True)
        self.channels = self.data.shape[1]
        self.pos, self.reads, self.block_overflows, self.entered = 0, 0, set(block_overflows), False

    def __enter__(self):
        self.entered = True
        return self

    def __exit__(self, *exc):
        self.entered = False

    def read(self, frames):
        assert self.entered, "read outside the context manager"
        block = self.data[self.pos : self.pos + frames]
        self.pos += len(block)
        self.reads += 1
        return block, self.reads in self.block_overflows


@pytest.fixture
def ckpt(tmp_path):
    return fit_ckpt(tmp_path)[1]


@pytest.fixture
def stereo48k(tmp_path):
    """10 s of two tones, a noise burst and a pause, different on each channel, at 48 kHz."""
    t = np.arange(10 * RATE) / RATE
    left = 0.3 * np.sin(2 * np.pi * 220 * t) * (t < 4) + 0.2 * np.sin(2 * np.pi * 440 * t) * (t > 6)
    right = 0.1 * np.random.default_rng(0).standard_normal(len(t)) * ((t > 2) & (t < 8))
    path = tmp_path / "stereo48k.wav"
    sf.write(path, np.stack([left, right], 1).astype(np.float32), RATE)
    return path


def test_fake_stream_gives_one_prediction_per_hop_matching_predict(ckpt, stereo48k):
    model = load_model(ckpt)
    lines = []
    rows = listen(model, FilePlayback(stereo48k), window_s=3.0, hop_s=1.0, out=lines.append)
    assert [r["time"] for r in rows] == [
        float(s) for s in range(3, 11)
    ]  # 10 s, 3 s window, 1 s hop: 8 results
    for r in rows:
        assert set(r["probs"]) == set(model.class_names) and abs(sum(r["probs"].values()) - 1) < 1e-5
        assert 0 <= r["prob"] <= 1 and r["prob"] == max(r["probs"].values())
    data, _ = sf.read(str(stereo48k), dtype="float32")
    for r in (rows[0], rows[4], rows[-1]):  # the same 3 s, down-mixed, through the one-clip API
        end = int(r["time"] * RATE)
        ref = model.predict(data[end - 3 * RATE : end].mean(1), sample_rate=RATE)
        assert ref["label"] == r["label"]
        assert max(abs(ref["probs"][c] - r["probs"][c]) for c in model.class_names) < 1e-5
    assert lines[0] == (
        "note: input is 48000 Hz, 2 channel(s): 2 channels averaged to mono, "
        "resampled to the model's 16000 Hz"
    )
    assert lines[1].startswith("listening: a 3 s window every 1 s")
    assert lines[2] == f"    3.0s  {rows[0]['label']:<10} {rows[0]['prob']:.2f}" and len(lines) == 2 + len(
        rows
    )


def test_seconds_limit_overflow_note_and_16k_mono_needs_no_note(ckpt, tmp_path):
    model = load_model(ckpt)
    path = tmp_path / "mono16k.wav"
    sf.write(path, (0.2 * np.sin(np.arange(6 * 16000) / 10)).astype(np.float32), 16000)
    lines = []
    rows = listen(
        model, FilePlayback(path, block_overflows={2}), window_s=2.0, hop_s=0.5, seconds=4.0, out=lines.append
    )
    assert [r["time"] for r in rows] == [2.0, 2.5, 3.0, 3.5, 4.0]
    assert not any("resampled" in line for line in lines)
    assert sum("overflowed" in line for line in lines) == 1
    with pytest.raises(SerZooError, match="0 < hop <= window"):
        listen(model, FilePlayback(path), window_s=1.0, hop_s=2.0)


def test_default_window_is_the_models_training_clip(ckpt, stereo48k):
    """One forward pass a window: a model trained on 1 s clips hears the last 1 s unless told otherwise."""
    model = load_model(ckpt)
    assert model.hparams.example_seconds == 1.0
    lines = []
    rows = listen(model, FilePlayback(stereo48k), hop_s=1.0, seconds=4.0, out=lines.append)
    assert [r["time"] for r in rows] == [1.0, 2.0, 3.0, 4.0]
    assert lines[1].startswith("listening: a 1 s window every 1 s")
    assert default_window(types.SimpleNamespace()) == 3.0  # no training length (speaker-normalised features)


def test_ring_buffer_keeps_the_latest_frames_in_order():
    ring = RingBuffer(5, 1)
    ring.write(np.arange(3)[:, None])
    assert ring.latest()[:, 0].tolist() == [0, 1, 2]
    ring.write(np.arange(3, 7)[:, None])
    assert ring.latest()[:, 0].tolist() == [2, 3, 4, 5, 6]
    ring.write(np.arange(7, 20)[:, None])  # a block longer than the buffer
    assert ring.latest()[:, 0].tolist() == [15, 16, 17, 18, 19]


def test_cli_listen_streams_from_the_input_factory(ckpt, stereo48k, monkeypatch, capsys):
    opened = {}

    def fake_factory(device=None):
        opened["device"] = device
        return FilePlayback(stereo48k)

    monkeypatch.setattr(listen_mod, "open_input_stream", fake_factory)
    assert (
        main(["listen", "--model", ckpt, "--window", "3", "--hop", "1", "--device", "2", "--seconds", "5"])
        == 0
    )
    out = capsys.readouterr().out.splitlines()
    assert opened["device"] == 2
    assert out[0].startswith("note: input is 48000 Hz, 2 channel(s)")
    assert [line.split()[0] for line in out[2:]] == ["3.0s", "4.0s", "5.0s"]


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_missing_sounddevice_is_one_line_with_the_fix(ckpt, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import sounddevice -> ImportError
    assert main(["listen", "--model", ckpt]) == 2
    line = _one_error_line(capsys)
    assert "sounddevice" in line and "pip install 'ser-zoo[mic]'" in line


def test_missing_portaudio_is_one_line_with_the_fix(monkeypatch):
    def no_portaudio(name):
        raise OSError("PortAudio library not found")

    monkeypatch.setattr(listen_mod, "importlib", types.SimpleNamespace(import_module=no_portaudio))
    with pytest.raises(SerZooError, match="PortAudio library not found.*apt install libportaudio2"):
        open_input_stream()


def test_no_input_device_is_one_line_with_the_fix(ckpt, monkeypatch, capsys):
    class PortAudioError(Exception):
        pass

    def query_devices(device=None, kind=None):
        raise PortAudioError("Error querying device -1")

    fake = types.SimpleNamespace(query_devices=query_devices, InputStream=None)
    monkeypatch.setitem(sys.modules, "sounddevice", fake)
    assert main(["listen", "--model", ckpt]) == 2
    line = _one_error_line(capsys)
    assert (
        "no usable audio input (the default input: Error querying device -1)" in line and "--device N" in line
    )

    fake.query_devices = lambda device=None, kind=None: {
        "name": "HDMI out",
        "max_input_channels": 0,
        "default_samplerate": 48000.0,
    }
    with pytest.raises(SerZooError, match="input device 3: 'HDMI out' has no input channels"):
        open_input_stream(3)
