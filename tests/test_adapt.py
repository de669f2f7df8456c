"""AdaBN (``ser_zoo.adapt``): BatchNorm statistics re-estimated on unlabelled audio, nothing else changed."""

import pytest
import torch
from conftest import REAL_CLIP
from test_zoo import fit_ckpt

from ser_zoo.adapt import adapt_batchnorm, batchnorm_layers


def batches(gain: float, n: int = 3, size: int = 4, seconds: float = 1.0):
    """Unlabelled batches as the data module gives them (no ``label``): noisy chirps scaled by ``gain``."""
    g = torch.Generator().manual_seed(1)
    t = torch.arange(int(16000 * seconds)) / 16000
    for _ in range(n):
        f0 = 200 + 300 * torch.rand(size, 1, generator=g)
        wave = torch.sin(2 * torch.pi * f0 * t) + 0.3 * torch.randn(size, t.numel(), generator=g)
        yield {"audio": gain * wave, "lengths": torch.full((size,), t.numel())}


def test_adapt_batchnorm_sets_running_statistics_to_the_new_audio(tmp_path):
    model, _ = fit_ckpt(tmp_path)
    model.eval()
    first = batchnorm_layers(model)[0]
    assert len(batchnorm_layers(model)) > 1
    weights = {
        k: v.clone() for k, v in model.state_dict().items() if "running" not in k and "num_batches" not in k
    }
    probe = next(batches(1.0))
    before = model(probe["audio"], probe["lengths"])

    inputs = []  # what the first BatchNorm layer sees, to recompute its statistics by hand
    hook = first.register_forward_hook(lambda m, args, out: inputs.append(args[0].detach()))
    assert adapt_batchnorm(model, batches(1.0)) == 12
    hook.remove()
    seen = torch.cat(inputs)
    expected_mean = seen.mean(dim=(0, 2, 3))
    assert torch.allclose(first.running_mean, expected_mean, atol=1e-5)
    assert not model.training and first.momentum == 0.1  # eval mode, the layer's own momentum back
    after = model(probe["audio"], probe["lengths"])
    assert (after - before).abs().max() > 1e-3  # the statistics moved, so the outputs did
    for k, v in model.state_dict().items():  # and nothing else: weights untouched
        if k in weights:
            assert torch.equal(v, weights[k]), k
    adapt_batchnorm(model, batches(1.0))  # the same audio again gives the same statistics (no drift)
    assert torch.allclose(first.running_mean, expected_mean, atol=1e-5)


def test_a_model_without_batchnorm_is_left_alone():
    net = torch.nn.Sequential(torch.nn.Linear(4, 2))
    assert adapt_batchnorm(net, []) == 0 and net.training  # untouched, mode included


def test_cli_adapt_writes_a_checkpoint_infer_reads(tmp_path, capsys):
    """``ser-zoo adapt FOLDER --model CKPT --out NEW``: BatchNorm statistics from the folder's audio, the rest
    of the model as it was; a bad file is reported and skipped; infer takes NEW as its --model."""
    import numpy as np
    import soundfile as sf

    from ser_zoo.cli import main
    from ser_zoo.infer import load_model

    model, ckpt = fit_ckpt(tmp_path)
    folder = tmp_path / "my_setup"
    folder.mkdir()
    for i, batch in enumerate(batches(0.05, n=2, size=3)):  # a quiet set-up
        for j, wave in enumerate(batch["audio"].numpy()):
            sf.write(folder / f"clip{i}{j}.wav", wave.astype(np.float32), 16000)
    (folder / "broken.wav").write_bytes(b"RIFF0000WAVE")
    out = tmp_path / "adapted.ckpt"
    args = ["adapt", str(folder), "--model", ckpt, "--out", str(out), "--batch_size", "4"]
    assert main([*args, "--speech_gate", "off"]) == 1  # chirps in noise: no speech, but counted when off
    captured = capsys.readouterr()
    assert (
        "re-estimated on 6 clip(s) (6 training-length windows" in captured.out
        and "broken.wav" in captured.err
    )
    adapted, original = load_model(str(out)), load_model(ckpt)
    first = batchnorm_layers(adapted)[0]
    assert not torch.allclose(first.running_mean, batchnorm_layers(original)[0].running_mean)
    same = {k for k, v in original.state_dict().items() if "running" not in k and "num_batches" not in k}
    assert all(torch.equal(adapted.state_dict()[k], original.state_dict()[k]) for k in same)
    assert main(["infer", str(folder / "clip00.wav"), "--model", str(out), "--speech_gate", "off"]) == 0
    assert "clip00.wav" in capsys.readouterr().out


def test_adapt_leaves_out_files_without_speech(tmp_path, capsys):
    """With the speech gate a tone is left out of the statistics (listed, exit code 0), a sentence counts;
    a folder with no speech at all is one line naming the way round it."""
    pytest.importorskip("silero_vad")
    if not REAL_CLIP.is_file():
        pytest.skip(f"real clip not found at {REAL_CLIP}")
    import numpy as np
    import soundfile as sf

    from ser_zoo.cli import main

    _, ckpt = fit_ckpt(tmp_path)
    tone = tmp_path / "tones" / "tone440.wav"
    tone.parent.mkdir()
    sf.write(tone, (0.3 * np.sin(2 * np.pi * 440 * np.arange(3 * 16000) / 16000)).astype(np.float32), 16000)
    out = tmp_path / "adapted.ckpt"
    assert (
        main(["adapt", str(tone), str(REAL_CLIP), "--model", ckpt, "--out", str(out), "--speech_gate", "on"])
        == 0
    )
    captured = capsys.readouterr()
    assert "re-estimated on 1 clip(s)" in captured.out
    [left_out] = [line for line in captured.err.splitlines() if line.startswith("left out")]
    assert str(tone) in left_out and "no speech (VAD: " in left_out
    assert main(["adapt", str(tone.parent), "--model", ckpt, "--out", str(out), "--speech_gate", "on"]) == 2
    [err] = capsys.readouterr().err.strip().splitlines()
    assert "no speech in any readable file" in err and "--speech_gate off" in err


def test_a_long_recording_counts_whole_as_training_length_windows(tmp_path):
    """A clip three times the training length is read as infer reads it, four windows from its start to its
    end, so its quiet ends count beside its loud middle (a centre crop would see the middle only)."""
    import numpy as np
    import soundfile as sf

    from ser_zoo.adapt import adapt_files, clip_batches
    from ser_zoo.infer import load_model

    _, ckpt = fit_ckpt(tmp_path)  # trained on 1 s clips
    t = np.arange(16000) / 16000
    quiet, loud = 0.02 * np.sin(2 * np.pi * 300 * t), 0.8 * np.sin(2 * np.pi * 300 * t)
    sf.write(tmp_path / "long.wav", np.concatenate([quiet, loud, quiet]).astype(np.float32), 16000)
    sf.write(tmp_path / "short.wav", (0.5 * t[:8000]).astype(np.float32), 16000)
    model = load_model(ckpt)
    [batch] = clip_batches(model, [np.concatenate([quiet, loud, quiet]), t[:8000]], batch_size=8, trim=False)
    assert batch["lengths"].tolist() == [16000] * 4 + [8000]  # start, two between, end; the short clip whole
    peaks = batch["audio"][:4].abs().amax(dim=1)
    assert peaks[0] < 0.05 and peaks[-1] < 0.05 and (peaks[1:3] > 0.5).all()
    done = adapt_files(ckpt, [str(tmp_path / "long.wav")], tmp_path / "a.ckpt", speech_gate=False)
    assert (done.clips, done.windows) == (1, 4)
    assert torch.load(tmp_path / "a.ckpt", weights_only=False)["adapted"]["windows"] == 4
