"""Every format the installed decoders read gives the same tone; a folder scan lists what it does not read."""

import numpy as np
import pytest
import soundfile as sf

from ser_zoo.audio import audio_info, load_audio, read_blocks, read_spans
from ser_zoo.data.scan import scan_folder
from ser_zoo.errors import AudioError

SR = 16000
SOUNDFILE = {  # extension: soundfile format and subtype
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
    "opus": ("OGG", "OPUS"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
    "aiff": ("AIFF", "PCM_16"),
}
PYAV = {  # extension: container and encoder (the decoders are FFmpeg's, shipped in PyAV's wheel)
    "m4a": ("mp4", "aac"),
    "aac": ("adts", "aac"),
    "mp4": ("mp4", "aac"),
    "webm": ("webm", "libopus"),
    "mka": ("matroska", "libopus"),
}


def tone(seconds=2.0, freq=440.0, rate=SR):
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_pyav(path, wave, rate=SR, stereo=False):
    """Encode with PyAV (FFmpeg's AAC and Opus encoders); Opus streams run at 48 kHz."""
    av = pytest.importorskip("av")
    container, codec = PYAV[path.suffix[1:]]
    layout = "stereo" if stereo else "mono"
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=48000 if codec == "libopus" else rate, layout=layout)
        planes = np.stack([wave, 0.5 * wave]) if stereo else wave[None]
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(planes), format="fltp", layout=layout)
        frame.sample_rate = rate
        ctx = stream.codec_context
        resampler = av.AudioResampler(format=ctx.format.name, layout=layout, rate=ctx.sample_rate)
        for f in resampler.resample(frame):
            for packet in stream.encode(f):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def peak_hz(y):
    return np.argmax(np.abs(np.fft.rfft(y))) * SR / len(y)


@pytest.mark.parametrize("ext", sorted(SOUNDFILE))
def test_soundfile_formats_decode(tmp_path, ext):
    fmt, subtype = SOUNDFILE[ext]
    path = tmp_path / f"tone.{ext}"
    sf.write(str(path), tone(), SR, format=fmt, subtype=subtype)
    y = load_audio(path)
    assert abs(len(y) - 2 * SR) < 0.1 * SR and abs(peak_hz(y) - 440) < 3
    assert audio_info(path).decoder == "soundfile"


@pytest.mark.parametrize("ext", sorted(PYAV))
def test_pyav_formats_decode(tmp_path, ext):
    path = write_pyav(tmp_path / f"tone.{ext}", tone(), stereo=ext == "m4a")
    info = audio_info(path)
    assert info.decoder == "pyav" and info.channels == (2 if ext == "m4a" else 1)
    y = load_audio(path)  # stereo averaged, Opus's 48 kHz resampled; AAC adds ~0.1 s of codec padding
    assert abs(len(y) - 2 * SR) < 0.15 * SR and abs(peak_hz(y) - 440) < 3
    blocks = list(read_blocks(path, blocksize=8000, overlap=2000))
    assert all(len(b) == 8000 for b in blocks[:-1]) and blocks[0].ndim == 2
    np.testing.assert_allclose(blocks[1][:2000], blocks[0][-2000:])  # the overlap repeats the tail
    rate = info.samplerate
    [a, b] = read_spans(path, [(rate // 2, rate), (rate, 3 * rate // 2)])
    assert len(a) == len(b) == rate // 2


def test_pyav_formats_without_pyav_name_the_extra(tmp_path, monkeypatch):
    import ser_zoo.av_audio

    path = tmp_path / "call.m4a"
    path.write_bytes(b"\0" * 100)
    monkeypatch.setattr(ser_zoo.av_audio, "available", lambda: False)
    with pytest.raises(AudioError, match=r"M4A audio needs PyAV; pip install 'ser-zoo\[av\]'"):
        load_audio(path)


def test_damaged_pyav_file_is_one_line(tmp_path):
    pytest.importorskip("av")
    path = tmp_path / "broken.m4a"
    path.write_text("not an mp4 container")
    with pytest.raises(AudioError) as e:
        load_audio(path)
    assert (
        "\n" not in str(e.value)
        and "broken.m4a" in str(e.value)
        and "not a readable audio file" in str(e.value)
    )


def test_folder_scan_lists_every_file_it_does_not_decode(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("a.wav", "sub/b.MP3", "c.m4a"):
        (tmp_path / name).write_bytes(b"x")
    for name in ("notes.txt", ".DS_Store", "sub/README"):
        (tmp_path / name).write_text("x")
    scan = scan_folder(tmp_path)
    assert [p.name for p in scan.audio] == ["a.wav", "c.m4a", "b.MP3"]
    reasons = {s.path.split("/")[-1]: s.reason for s in scan.skipped}
    assert sorted(reasons) == [".DS_Store", "README", "notes.txt"]
    assert "'.txt' files are not read" in reasons["notes.txt"] and "without an extension" in reasons["README"]


def test_infer_reads_mp3_in_folders_and_lists_the_rest(tmp_path, capsys):
    """The issue's case: `infer FOLDER` used to skip .mp3 files silently; now they are classified, and the
    folder's other files land in the JSON beside the results."""
    import json

    from test_zoo import fit_ckpt

    from ser_zoo.cli import main
    from ser_zoo.zoo import export_checkpoint

    _, ckpt = fit_ckpt(tmp_path)
    model = str(export_checkpoint(ckpt, "tiny", tmp_path / "zoo"))
    clips = tmp_path / "clips"
    clips.mkdir()
    sf.write(str(clips / "a.mp3"), tone(1.5), SR, format="MP3", subtype="MPEG_LAYER_III")
    sf.write(str(clips / "b.wav"), tone(1.5, 330.0), SR)
    (clips / "notes.txt").write_text("meeting notes")
    assert main(["infer", str(clips), "--model", model, "--format", "json"]) == 1  # a file was skipped
    report = json.loads(capsys.readouterr().out)
    assert sorted(r["file"].split("/")[-1] for r in report["results"]) == ["a.mp3", "b.wav"]
    assert [(r["file"].split("/")[-1], "not an audio file" in r["reason"]) for r in report["skipped"]] == [
        ("notes.txt", True)
    ]
