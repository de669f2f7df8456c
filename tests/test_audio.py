"""Every kind of bad input gives one clear line naming the file and what to do; odd rates and channels are
fixed."""

import numpy as np
import pytest
import soundfile as sf

from ser_zoo.audio import centre_crop, load_audio
from ser_zoo.errors import AudioError


def tone(seconds=1.0, rate=16000, freq=440.0, channels=1):
    t = np.arange(int(seconds * rate)) / rate
    x = 0.3 * np.sin(2 * np.pi * freq * t).astype(np.float32)
    return np.stack([x] * channels, 1) if channels > 1 else x


def write(path, data, rate=16000, **kw):
    sf.write(str(path), data, rate, **kw)
    return path


def assert_one_line(err: AudioError, path, *words):
    msg = str(err)
    assert "\n" not in msg and str(path) in msg
    for w in words:
        assert w in msg, msg


def test_missing_file(tmp_path):
    with pytest.raises(AudioError) as e:
        load_audio(tmp_path / "nope.wav")
    assert_one_line(e.value, tmp_path / "nope.wav", "not found")


def test_empty_file(tmp_path):
    p = tmp_path / "empty.wav"
    p.write_bytes(b"")
    with pytest.raises(AudioError) as e:
        load_audio(p)
    assert_one_line(e.value, p, "empty", "re-download")


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg"])
def test_truncated_file(tmp_path, fmt):
    p = write(
        tmp_path / f"cut.{fmt}",
        tone(2.0) + 0.01 * np.random.default_rng(0).standard_normal(32000).astype(np.float32),
    )
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    with pytest.raises(AudioError) as e:
        load_audio(p)
    assert_one_line(e.value, p, "re-download")
    assert "truncated" in str(e.value)


def test_non_audio_file(tmp_path):
    p = tmp_path / "notes.wav"
    p.write_text("this is not audio\n" * 50)
    with pytest.raises(AudioError) as e:
        load_audio(p)
    assert_one_line(e.value, p, "not a readable audio file", "WAV")


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(AudioError, match="is a folder"):
        load_audio(tmp_path)


def test_silent_clip(tmp_path):
    p = write(tmp_path / "silent.wav", np.zeros(16000, np.float32))
    with pytest.raises(AudioError) as e:
        load_audio(p)
    assert_one_line(e.value, p, "silent")
    assert load_audio(p, allow_silent=True).shape == (16000,)


@pytest.mark.parametrize("rate", [8000, 44100, 48000, 96000])
def test_other_sample_rates_are_resampled(tmp_path, rate, caplog):
    p = write(tmp_path / f"tone{rate}.wav", tone(1.0, rate, 440.0), rate)
    with caplog.at_level("INFO", logger="ser_zoo"):
        y = load_audio(p)
    assert abs(len(y) - 16000) <= 1
    assert "resampled" in caplog.text
    peak_hz = np.argmax(np.abs(np.fft.rfft(y))) * 16000 / len(y)
    assert abs(peak_hz - 440) < 3  # the tone survives resampling at the right pitch


def test_stereo_is_downmixed(tmp_path, caplog):
    x = tone(1.0, channels=2)
    x[:, 1] *= 0.5
    p = write(tmp_path / "stereo.wav", x)
    with caplog.at_level("INFO", logger="ser_zoo"):
        y = load_audio(p)
    assert y.ndim == 1 and np.allclose(y, 0.75 * x[:, 0], atol=1e-4)
    assert "2 channels averaged" in caplog.text


def test_shorter_than_one_window(tmp_path):
    p = write(tmp_path / "blip.wav", tone(0.01))  # 160 samples
    with pytest.raises(AudioError) as e:
        load_audio(p)
    assert_one_line(e.value, p, "shorter than one 512-sample analysis window")


def test_hour_long_file_is_refused_before_decoding(tmp_path):
    p = tmp_path / "hour.wav"
    with sf.SoundFile(str(p), "w", 8000, 1, subtype="PCM_16") as f:
        block = (0.1 * tone(60.0, 8000)).astype(np.float32)
        for _ in range(60):
            f.write(block)
    with pytest.raises(AudioError) as e:
        load_audio(p, max_seconds=60)
    assert_one_line(e.value, p, "3600 s long", f"ser-zoo infer {p} --window 3", "--vad")


def test_real_corpus_clip(data_root):
    y = load_audio(data_root / "crema_d" / "AudioWAV" / "1001_DFA_ANG_XX.opus")
    assert y.dtype == np.float32 and 1.5 * 16000 < len(y) < 4 * 16000
    with pytest.raises(AudioError, match="silent"):
        load_audio(data_root / "crema_d" / "AudioWAV" / "1076_MTI_SAD_XX.opus")


@pytest.mark.parametrize("length, width, first", [(10, 4, 3), (11, 4, 3), (4, 4, 0), (3, 8, 0)])
def test_centre_crop_takes_the_middle_and_keeps_short_clips_whole(length, width, first):
    wave = np.arange(length)
    np.testing.assert_array_equal(centre_crop(wave, width), wave[first : first + width])
    assert len(centre_crop(wave, width)) == min(length, width)
