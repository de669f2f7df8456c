"""README's "Your own data" example, run end to end: a tree and a manifest built in a temp dir from copies
of built-in clips laid out differently (SAVEE as label/speaker folders, TESS flat with a manifest)."""

import csv
import logging
import shlex
import shutil
from pathlib import Path

from ser_zoo.cli import main
from ser_zoo.data.corpora import read_savee, read_tess

README = Path(__file__).resolve().parents[1] / "README.md"
#: appended to each fit of the example: one short epoch on a few clips
QUICK = (
    "--trainer.max_epochs 1 --trainer.limit_train_batches 1 --trainer.limit_val_batches 1 "
    "--data.limit_clips 8 --data.batch_size 4 --data.num_workers 0 --trainer.enable_progress_bar false "
    "--trainer.accelerator cpu"
).split()


def example_commands() -> list[list[str]]:
    """The commands of the first bash block under '### Your own data' (continuation lines joined)."""
    section = README.read_text().split("### Your own data", 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    return [
        shlex.split(line, comments=True) for line in block.replace("\\\n", " ").splitlines() if line.strip()
    ]


def corpus_tree(data_root, out: Path) -> Path:
    """One SAVEE clip per speaker and emotion, as my_corpus/<label>/<speaker>/<file>."""
    seen = set()
    for clip in read_savee(data_root):
        if (clip.speaker, clip.emotion) in seen:
            continue
        seen.add((clip.speaker, clip.emotion))
        folder = out / clip.emotion / clip.speaker.removeprefix("savee_")
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(clip.path, folder)
    return out


def calls_manifest(data_root, folder: Path) -> Path:
    """One TESS clip per speaker and emotion, flat in calls/, listed in calls.csv with 'joy' for happy."""
    folder.mkdir()
    rows, seen = [], set()
    for clip in read_tess(data_root):
        if (clip.speaker, clip.emotion) in seen:
            continue
        seen.add((clip.speaker, clip.emotion))
        name = f"{len(rows):03d}{Path(clip.path).suffix}"
        shutil.copy(clip.path, folder / name)
        label = "joy" if clip.emotion == "happy" else clip.emotion
        rows.append((f"calls/{name}", label, clip.speaker.removeprefix("tess_"), "female"))
    path = folder.parent / "calls.csv"
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([("path", "label", "speaker", "gender"), *rows])
    return path


def test_readme_own_data_example_runs(data_root, tmp_path, monkeypatch, capsys, caplog):
    tree = corpus_tree(data_root, tmp_path / "data" / "my_corpus")
    manifest = calls_manifest(data_root, tmp_path / "data" / "calls")
    monkeypatch.setenv("SER_ZOO_DATA", str(data_root))
    monkeypatch.chdir(tmp_path)  # runs/ land here
    commands = example_commands()
    assert [c[:2] for c in commands] == [
        ["ser-zoo", "data"],
        ["ser-zoo", "evaluate"],
        ["ser-zoo", "fit"],
        ["ser-zoo", "fit"],
        ["ser-zoo", "bench"],
    ]
    outputs = []
    for command in commands:
        argv = [
            str(tree) if a == "my_corpus/" else a.replace("calls.csv", str(manifest)) for a in command[1:]
        ]
        if argv[0] == "fit":
            argv += QUICK
        if argv[0] == "bench":  # one fold of each model is enough here
            argv += [*QUICK, "--folds", "0"]
        with caplog.at_level(logging.WARNING, logger="ser_zoo"):
            assert main(argv) == 0, argv
        outputs.append(capsys.readouterr().out)
    check, zero_shot = outputs[0], outputs[1]
    assert "28 clips, 28 readable, 7 labels, 4 speakers" in check and "ok: training can proceed" in check
    assert (
        "scored: the 6 classes the model and the data share: neutral, happy, sad, angry, fearful" in zero_shot
    )
    assert "loso           mean ± std over 4 folds" in zero_shot
    assert "rows kept for neutral, happy, sad, angry, fearful, disgust, fresh for surprised" in caplog.text
    bench = list(csv.DictReader((tmp_path / "benchmarks/results/loso-my_corpus.csv").open()))
    assert [(r["model"], r["fold"]) for r in bench] == [("logreg", "0"), ("resnet18_savee", "0")]
    assert bench[0]["test_speakers"] == "my_corpus_DC"
    runs = sorted(tmp_path.glob("runs/resnet18_savee/version_*"))
    assert len(runs) == 2 and all(
        list(r.glob("checkpoints/best-*.ckpt")) for r in runs
    )  # both fits saved one
