"""``ser-zoo bench``: one CSV row per model x fold, written as each fold lands, and resumable."""

import csv
import json
from pathlib import Path

import pytest

from ser_zoo.bench.results import results_path
from ser_zoo.bench.runner import run_bench
from ser_zoo.cli import main
from ser_zoo.errors import ConfigError

SMALL = [
    "--data.limit_clips",
    "16",
    "--data.num_workers",
    "0",
    "--data.batch_size",
    "8",
    "--model.model_kwargs",
    "{channels: [4, 8], hidden: 16}",
]


@pytest.mark.slow
def test_bench_writes_rows_and_resumes(data_root, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # runs/ land here
    args = [
        "bench",
        "--protocol",
        "ravdess-6fold",
        "--models",
        "mel_cnn",
        "--folds",
        "0",
        "1",
        "--out",
        str(tmp_path),
        "--max_epochs",
        "1",
        "--root",
        str(data_root),
        *SMALL,
    ]
    assert main(args) == 0
    path = tmp_path / "ravdess-6fold.csv"
    rows = list(csv.DictReader(path.open()))
    assert [(r["model"], r["fold"]) for r in rows] == [("mel_cnn", "0"), ("mel_cnn", "1")]
    r0, r1 = rows
    assert r0["test_speakers"] == "ravdess_01 ravdess_02 ravdess_03 ravdess_04"
    assert r1["test_speakers"] == "ravdess_05 ravdess_06 ravdess_07 ravdess_08"
    assert 0 <= float(r0["ua"]) <= 1 and int(r0["n_test"]) == 16 and int(r0["params"]) > 0
    assert {f"recall_{c}" for c in ("neutral", "calm", "surprised")} <= set(r0)
    assert r0["classes"] == "emotions8" and r0["device"] == "cpu" and "mel_cnn" in r0["config"]
    fold_runs = tmp_path / "runs/bench/ravdess-6fold/mel_cnn-fold0"
    [best_ckpt] = fold_runs.glob("version_*/checkpoints/best-*.ckpt")
    chosen_on = best_ckpt.stem.split("-ua")[1]  # the validation UA that chose the tested epoch
    assert f"{float(r0['val_ua']):.3f}" == chosen_on, (r0["val_ua"], best_ckpt.name)
    assert "fold 1: WA" in capsys.readouterr().out
    board = (tmp_path / "LEADERBOARD.md").read_text()
    assert "## ravdess-6fold (speaker-independent, emotions8" in board and "| 1 | mel_cnn |" not in board
    assert "| mel_cnn | single model | 2 of 6: 0,1 |" in board  # 2 of the 6 folds: listed, not ranked
    # what SER-FusionNet reported, beside ours
    assert (
        "| SER-FusionNet (Boopathi et al., SJSU 2023) | SER-FusionNet | accuracy | 46 ± 1 | 6 actor folds |"
        in board
    )
    best = next(
        line for line in board.splitlines() if line.startswith("| ravdess-6fold | speaker-independent |")
    )
    assert "best partial run: mel_cnn" in best and best.endswith(
        "| 2 of 6 | - | 70 | not yet |"
    )  # no model ran every fold: nothing checked against the 70 % target
    for png in ("best_confusion", "per_class_f1"):
        assert (tmp_path / f"ravdess-6fold_{png}.png").stat().st_size > 1000
    cm = json.loads(rows[0]["confusion"])
    assert sum(map(sum, cm)) == 16 and abs(sum(cm[i][i] for i in range(8)) / 16 - float(r0["wa"])) < 1e-3
    before = path.read_text()
    assert main(args) == 0  # everything already there: nothing retrained, file unchanged
    assert path.read_text() == before


def test_bench_rejects_unknown_model_before_training(tmp_path):
    with pytest.raises(ConfigError, match="unknown model 'resnet19'"):
        run_bench("ravdess-6fold", ["mel_cnn", "resnet19"], folds=[0], out=tmp_path)
    assert not list(tmp_path.iterdir())


def test_results_file_names_carry_a_non_default_class_set(tmp_path):
    assert results_path(tmp_path, "union-11fold", None).name == "union-11fold.csv"
    assert results_path(tmp_path, "union-11fold", "emotions6").name == "union-11fold.csv"
    assert results_path(tmp_path, "union-11fold", "emotions7").name == "union-11fold-emotions7.csv"


def test_concurrent_appends_keep_every_row(tmp_path):
    """Two bench runs on one protocol (say, baselines beside a deep model) never drop each other's rows."""
    import threading

    from ser_zoo.bench.results import append_row, read_rows

    path = tmp_path / "savee-loso.csv"

    def writer(model):
        for fold in range(15):
            append_row(
                path,
                {"protocol": "savee-loso", "model": model, "fold": fold, "wa": 0.5, "ua": 0.5, "f1": 0.5},
                ["neutral"],
            )

    threads = [threading.Thread(target=writer, args=(m,)) for m in ("a", "b", "c")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted((r["model"], int(r["fold"])) for r in read_rows(path)) == [
        (m, f) for m in "abc" for f in range(15)
    ]


def test_publish_zoo_marks_the_checkpoint_it_supersedes(tmp_path):
    """--supersedes OLD: OLD's JSON card names its successor and its markdown card says so; nothing else in
    the card changes; a name without a card stops with one line."""
    import shutil

    from conftest import benchmark_script

    pub = benchmark_script("publish_zoo")
    zoo = Path(__file__).resolve().parents[1] / "checkpoints"
    shutil.copy(zoo / "mfcc_cnn_union7.json", tmp_path)
    before = json.loads((tmp_path / "mfcc_cnn_union7.json").read_text())
    pub.mark_superseded(tmp_path, "mfcc_cnn_union7", "resnet18_half_union7")
    after = json.loads((tmp_path / "mfcc_cnn_union7.json").read_text())
    assert after == {**before, "superseded_by": "resnet18_half_union7"}
    assert "**Superseded by:** `resnet18_half_union7`" in (tmp_path / "mfcc_cnn_union7.md").read_text()
    with pytest.raises(SystemExit, match="--supersedes nope: no card"):
        pub.mark_superseded(tmp_path, "nope", "resnet18_half_union7")


def test_publish_zoo_refreshes_a_card_from_more_folds(data_root, tmp_path, capsys):
    """benchmarks/publish_zoo.py --refresh_card: the recipe's mean ± std (text and numbers) from every fold in
    the CSV, the heard speakers from this machine's data; weights untouched; a CSV from another run is
    refused."""
    from conftest import benchmark_script

    from ser_zoo.zoo.checkpoints import zoo_table

    pub = benchmark_script("publish_zoo")
    card = {
        "name": "tiny",
        "model": "mel_cnn",
        "class_names": list("abcdefgh"),
        "size_bytes": 1024,
        "dtype": "float16",
        "params": 1,
        "frontend": {},
        "sample_rate": 16000,
        "clip_seconds": 1.0,
        "sha256": "0" * 64,
        "licence": "nc",
        "protocol": "ravdess-6fold",
        "fold": 0,
        "test_fold_ua": 0.5,
        "init_from": None,
        "metrics": {"test UA, fold 0 (this checkpoint)": 50.0, "recipe UA, folds [0] mean ± std": "50.00"},
    }
    (tmp_path / "tiny.json").write_text(json.dumps(card))
    rows = [
        {
            "protocol": "ravdess-6fold",
            "classes": "emotions8",
            "model": "tiny",
            "fold": f,
            "ua": ua,
            "wa": ua,
            "f1": ua,
        }
        for f, ua in ((0, "0.5000"), (1, "0.6000"), (2, "0.4000"))
    ]
    path = tmp_path / "ravdess-6fold.csv"
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    common = [
        "--csv",
        str(path),
        "--recipe",
        "tiny",
        "--name",
        "tiny",
        "--out",
        str(tmp_path),
        "--refresh_card",
    ]
    pub.main([*common, "--fold", "0"])
    new = json.loads((tmp_path / "tiny.json").read_text())
    assert new["recipe_ua"] == {"folds": [0, 1, 2], "mean": 0.5, "std": 0.1}
    assert new["metrics"]["recipe UA, folds [0, 1, 2] mean ± std"] == "50.00 ± 10.00"
    assert "recipe UA, folds [0] mean ± std" not in new["metrics"] and new["sha256"] == "0" * 64
    assert (
        len(new["heard_speakers"]) == 20 and "ravdess_01" not in new["heard_speakers"]
    )  # fold 0 tests actors 1-4
    assert "50.00 ± 10.00 (3 of 6)" in zoo_table([new])[1]  # ravdess-6fold: half its folds so far
    assert "50.00 ± 10.00" in (tmp_path / "tiny.md").read_text()
    card["test_fold_ua"] = 0.55
    (tmp_path / "tiny.json").write_text(json.dumps(card))
    with pytest.raises(SystemExit, match="another run"):
        pub.main([*common, "--fold", "0"])


def test_publish_general_writes_a_card_without_a_test_fold(data_root, tmp_path, capsys):
    """benchmarks/publish_general.py: a union-all checkpoint (every speaker trains) is published with its
    recipe's figures from another protocol's rows, labelled with that protocol, its validation UA marked as
    selection, its calibration carried, and no test fold of its own (so the card tests skip it)."""
    import lightning as L
    from conftest import benchmark_script

    from ser_zoo.calibrate import calibrate_checkpoint
    from ser_zoo.data.datamodule import SERDataModule
    from ser_zoo.lit.module import SERModule
    from ser_zoo.zoo import load_pretrained
    from ser_zoo.zoo.checkpoints import zoo_table

    L.seed_everything(0, verbose=False)
    dm = SERDataModule(
        root=str(data_root),
        protocol="union-all",
        limit_clips=24,
        batch_size=8,
        num_workers=0,
        clip_seconds=1.0,
    )
    module = SERModule(
        model="mel_cnn",
        model_kwargs={"channels": (4, 8), "hidden": 8},
        frontend={"name": "logmel", "n_mels": 40},
        num_classes=6,
        class_names=dm.class_names,
        example_seconds=1.0,
    )
    trainer = L.Trainer(
        max_epochs=1, accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False
    )
    trainer.fit(module, datamodule=dm)
    ckpt = tmp_path / "union.ckpt"
    trainer.save_checkpoint(ckpt)
    calibrated = calibrate_checkpoint(ckpt)["out"]
    rows = [
        {"protocol": "loco", "model": "tiny6", "fold": f, "ua": ua, "wa": ua, "f1": ua, "test_speakers": spk}
        for f, ua, spk in ((0, "0.4000", "ravdess_01 ravdess_02"), (1, "0.5000", "crema_d_1001 crema_d_1002"))
    ]
    path = tmp_path / "loco.csv"
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    pub = benchmark_script("publish_general")
    out = ["--out", str(tmp_path / "zoo")]
    pub.main(["--ckpt", str(calibrated), "--name", "tiny6", "--recipe", "tiny6", "--csv", str(path), *out])
    card = json.loads((tmp_path / "zoo" / "tiny6.json").read_text())
    assert "test_fold_ua" not in card and card["protocol"] == "union-all"
    assert card["recipe_protocol"] == "loco" and card["recipe_ua"] == {
        "folds": [0, 1],
        "mean": 0.45,
        "std": 0.0707,
    }
    assert card["metrics"]["recipe UA on loco, folds [0, 1] of 4"] == "45.00 ± 7.07"  # 2 of 4 folds: says so
    assert card["metrics"]["recipe UA on loco fold 1 (test: crema_d)"] == 50.0
    assert any(k.startswith("validation UA, union-all (chose the epoch") for k in card["metrics"])
    assert card["calibration"]["temperature"] > 0 and "no test set of its own" in card["data"]
    assert len(card["heard_speakers"]) > 100  # every speaker of the four corpora
    assert "45.00 ± 7.07 (2 of 4 loco)" in zoo_table([card])[1]
    md = (tmp_path / "zoo" / "tiny6.md").read_text()
    assert "metric (protocol named in each row)" in md and "**Calibration:** temperature" in md
    model = load_pretrained(str(tmp_path / "zoo" / "tiny6.safetensors"))
    assert model.temperature == pytest.approx(card["calibration"]["temperature"])
    fold = SERDataModule(root=str(data_root), limit_clips=8, batch_size=8, num_workers=0, clip_seconds=1.0)
    trainer = L.Trainer(max_steps=1, logger=False, enable_checkpointing=False, enable_progress_bar=False)
    trainer.fit(
        SERModule(**{**module.hparams, "num_classes": 8, "class_names": fold.class_names}), datamodule=fold
    )
    trainer.save_checkpoint(tmp_path / "fold.ckpt")
    with pytest.raises(SystemExit, match="publish fold checkpoints with publish_zoo.py"):
        pub.main(["--ckpt", str(tmp_path / "fold.ckpt"), "--name", "x", "--recipe", "x", *out])


# Suites: benchmarks/suites/*.yaml name the runs behind the leaderboard rows.

REPO = Path(__file__).resolve().parents[1]


def write_suite(tmp_path, text: str, name: str = "tiny.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "protocol: savee-loso\nsteps:\n  - bench: [logreg]\n  - bench: [logreg]\n    max_epoch: 3\n",
            "tiny.yaml: step 2: unknown key 'max_epoch'; use one of bench, classes, folds, overrides, "
            "protocol, threads",
        ),
        ("protocol: savee-loso\nstep:\n  - bench: [logreg]\n", "tiny.yaml: suite: unknown key 'step'"),
        ("protocol: savee\nsteps:\n  - bench: [logreg]\n", "tiny.yaml: protocol: unknown protocol 'savee'"),
        (
            "steps:\n  - protocol: savee-loso\n    bench: [logreg]\n    folds: [one]\n",
            "tiny.yaml: step 1.folds: expected `all` or a list of fold numbers",
        ),
        (
            "protocol: savee-loso\nsteps:\n  - bench: [resnet19]\n",
            "tiny.yaml: step 1.bench: unknown model 'resnet19'",
        ),
        (
            "protocol: savee-loso\nsteps:\n  - bench: [configs/nothing.yaml]\n",
            "tiny.yaml: step 1.bench: recipe not found: configs/nothing.yaml",
        ),
        (
            "protocol: savee-loso\nsteps:\n  - bench: [mel_cnn]\n    overrides: {data.fold: 2}\n",
            "tiny.yaml: step 1.overrides.data.fold: set by the step itself",
        ),
        (
            "protocol: savee-loso\nsteps:\n  - ensemble: pair\n    baselines: [logreg, svm]\n"
            "    rows: [mean]\n",
            "tiny.yaml: step 1.rows: unknown rows ['mean']",
        ),
        (
            "protocol: savee-loso\nsteps:\n  - bench: [logreg]\n    ensemble: x\n",
            "tiny.yaml: step 1: needs exactly one",
        ),
    ],
)
def test_a_suite_mistake_is_one_line_naming_the_file_and_the_key(tmp_path, text, message):
    from ser_zoo.bench.suite_file import load_suite

    with pytest.raises(ConfigError) as e:
        load_suite(write_suite(tmp_path, text))
    assert message in str(e.value) and "\n" not in str(e.value)


def test_a_suite_reads_defaults_overrides_and_ensembles(tmp_path, monkeypatch):
    from ser_zoo.bench.suite import bench_command, member_path
    from ser_zoo.bench.suite_file import load_suite

    monkeypatch.chdir(REPO)  # recipe paths are relative to the repository root
    suite = load_suite(
        write_suite(
            tmp_path,
            "about: two steps\nprotocol: ravdess-6fold\nfolds: [0, 1]\nout: somewhere\n"
            "steps:\n"
            "  - bench: [mel_cnn]\n    classes: emotions6\n    folds: all\n    threads: 2\n"
            "    overrides: {trainer.max_epochs: 3, trainer.max_time: '00:00:03:00', model.augment: true}\n"
            "  - ensemble: pair\n    members: [configs/resnet18_ravdess.yaml, resnet18_crema_d]\n"
            "    baselines: [svm]\n",
        ),
        out=tmp_path / "elsewhere",
    )
    bench, ensemble = suite.steps
    assert (bench.protocol, bench.classes, bench.folds, bench.threads) == (
        "ravdess-6fold",
        "emotions6",
        None,
        2,
    )
    assert bench.max_epochs == 3
    assert bench.overrides == ("--trainer.max_time", "00:00:03:00", "--model.augment", "true")
    assert bench_command(bench, suite.out) == (
        "ser-zoo bench --protocol ravdess-6fold --classes emotions6 --models mel_cnn --max_epochs 3 "
        f"--trainer.max_time 00:00:03:00 --model.augment true --out {tmp_path / 'elsewhere'}"
    )
    assert (ensemble.folds, ensemble.threads, ensemble.rows) == ((0, 1), 1, ("average", "stack", "select"))
    assert ensemble.labels() == ["pair-average", "pair-stack", "pair-select"]
    assert [member_path(m, "ravdess-6fold", 1) for m in ensemble.members] == [
        "runs/bench/ravdess-6fold/resnet18_ravdess-fold1/version_*/checkpoints/best-*.ckpt",
        "resnet18_crema_d",
    ]
    assert suite.about == "two steps" and suite.name == (tmp_path / "tiny.yaml").resolve().as_posix()


def test_a_dry_run_shows_which_rows_are_complete(tmp_path, capsys):
    from ser_zoo.bench.results import append_row
    from ser_zoo.bench.suite import run_suite

    for model, fold in (("logreg", 0), ("pair-average", 1), ("pair-stack", 1), ("pair-select", 1)):
        row = {"protocol": "savee-loso", "model": model, "fold": fold, "wa": 0.5, "ua": 0.5, "f1": 0.5}
        append_row(tmp_path / "savee-loso.csv", row, ["neutral"])
    before = (tmp_path / "savee-loso.csv").read_text()
    path = write_suite(
        tmp_path,
        f"protocol: savee-loso\nfolds: [0, 1]\nout: {tmp_path}\nsteps:\n  - bench: [logreg, svm]\n"
        "  - ensemble: pair\n    baselines: [logreg, svm]\n",
    )
    assert run_suite(path, dry_run=True) == [tmp_path / "savee-loso.csv"]
    out = capsys.readouterr().out
    assert f"ser-zoo bench --protocol savee-loso --folds 0 1 --models logreg svm --out {tmp_path}" in out
    assert "  logreg: complete 0; to run 1\n  svm: to run 0 1\n" in out
    assert "  pair-average: complete 1; to run 0\n" in out and "  pair-select: complete 1; to run 0\n" in out
    assert (tmp_path / "savee-loso.csv").read_text() == before and not (tmp_path / "LEADERBOARD.md").exists()


def test_a_dry_run_shows_where_a_started_fold_stands(tmp_path, monkeypatch, capsys):
    """A fold killed mid-training: its epochs so far (rows set aside by a resume included) of its schedule,
    best validation UA, whether a last.ckpt is there, and the time left at the pace since the resume; a fold
    never started says nothing more."""
    import os
    import time

    from ser_zoo.bench.suite import run_suite

    monkeypatch.chdir(tmp_path)
    run = tmp_path / "runs/bench/savee-loso/mel_cnn-fold1/version_0"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints/last.ckpt").write_bytes(b"")
    (run / "metrics_before_resume.csv").write_text("epoch,step,val/ua\n0,9,0.40\n1,19,0.60\n")
    (run / "metrics.csv").write_text("epoch,step,train/loss,val/ua\n2,25,1.2,\n2,29,,0.55\n")
    (run / "config.yaml").write_text("trainer:\n  max_epochs: 10\n")
    resumed = time.time() - 3600
    os.utime(run / "metrics_before_resume.csv", (resumed, resumed))  # set aside at the resume
    os.utime(run / "metrics.csv", (resumed + 100, resumed + 100))  # 10 steps later: 10 s a step, 100 an epoch
    path = write_suite(
        tmp_path, f"protocol: savee-loso\nfolds: [0, 1]\nout: {tmp_path}\nsteps:\n  - bench: [mel_cnn]\n"
    )
    run_suite(path, dry_run=True)
    out = capsys.readouterr().out
    assert (
        "  mel_cnn: to run 0 1\n    fold 1 started: version_0: 3 of 10 epoch(s) validated, "
        "best validation UA " in out
    )
    clock = time.strftime("%H:%M UTC", time.gmtime(resumed + 100))
    assert "0.6000 at epoch 1, last.ckpt to resume from; ~1.7 min an epoch, at most ~12 min to go " in out
    assert f"(metrics last written {clock})\n" in out and "fold 0 started" not in out


def test_suites_queue_in_order_and_a_bad_one_stops_the_queue_before_any_trains(tmp_path, capsys):
    first = write_suite(
        tmp_path, f"protocol: savee-loso\nout: {tmp_path}\nsteps:\n  - bench: [logreg]\n", "a.yaml"
    )
    second = write_suite(
        tmp_path, f"protocol: tess-loso\nout: {tmp_path}\nsteps:\n  - bench: [svm]\n", "b.yaml"
    )
    assert main(["bench", "--suite", str(first), str(second), "--dry_run"]) == 0
    out = capsys.readouterr().out
    assert out.index("--protocol savee-loso") < out.index("--protocol tess-loso")
    broken = write_suite(tmp_path, "protocol: tess-loso\nsteps:\n  - bench: [resnet19]\n", "c.yaml")
    capsys.readouterr()
    assert main(["bench", "--suite", str(first), str(broken)]) != 0  # one line on stderr, no traceback
    assert "c.yaml: step 1.bench: unknown model 'resnet19'" in capsys.readouterr().err
    assert not (tmp_path / "savee-loso.csv").exists()  # the first suite never started


def test_a_suite_runs_a_baseline_records_itself_and_resumes(data_root, tmp_path, capsys):
    """A real (small) run: logreg on savee-loso fold 0; the row names the suite; a rerun changes nothing."""
    import subprocess

    from ser_zoo.bench.results import read_rows
    from ser_zoo.bench.suite import run_suite

    path = write_suite(
        tmp_path, f"protocol: savee-loso\nfolds: [0]\nout: {tmp_path}\nsteps:\n  - bench: [logreg]\n"
    )
    assert run_suite(path, root=str(data_root)) == [tmp_path / "savee-loso.csv"]
    [row] = read_rows(tmp_path / "savee-loso.csv")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    assert (row["model"], row["fold"], row["suite"]) == ("logreg", "0", path.resolve().as_posix())
    assert row["git_commit"] == (commit.stdout.strip() or "unknown") and 0 <= float(row["ua"]) <= 1
    board = (tmp_path / "LEADERBOARD.md").read_text()
    assert f"| `baseline logreg features=stats+mfcc_mean` | tiny | {row['git_commit']} |" in board
    before = (tmp_path / "savee-loso.csv").read_text()
    capsys.readouterr()
    run_suite(path, root=str(data_root))
    assert (tmp_path / "savee-loso.csv").read_text() == before
    run_suite(path, root=str(data_root), dry_run=True)
    assert "  logreg: complete 0\n" in capsys.readouterr().out


def test_the_committed_suites_hold_every_committed_row(data_root, capsys, monkeypatch):
    """Each committed suite's dry run finds all its (model, fold) rows complete in the committed CSVs, and
    every committed row names the suite file that holds its command: the suites reproduce the leaderboard's
    runs."""
    from ser_zoo.bench.results import read_rows
    from ser_zoo.bench.suite import run_suite
    from ser_zoo.bench.suite_file import load_suite

    monkeypatch.chdir(REPO)
    every = sorted(Path("benchmarks/suites").glob("*.yaml"))
    suites = [s for s in every if not load_suite(s).in_progress]  # in_progress: rows still landing
    for suite in suites:
        run_suite(suite, root=str(data_root), dry_run=True)
    out = capsys.readouterr().out
    assert out.count("\nstep ") > len(suites) and "to run" not in out
    names = {s.as_posix() for s in every}
    for csv_path in Path("benchmarks/results").rglob("*.csv"):
        assert {r["suite"] for r in read_rows(csv_path)} <= names, csv_path


def test_augment_full_summary_reads_validation_and_test_per_recipe(tmp_path):
    """augment_full_summary.py: each recipe's validation UA mean, test UA per fold and mean ± std."""
    from conftest import benchmark_script

    summary = benchmark_script("augment_full_summary")
    cols = ["model", "fold", "ua", "wa", "f1", "val_ua", "train_seconds"]
    runs = [
        ("resnet18_half_ravdess", 0, 0.50, 0.60, 100),
        ("resnet18_half_ravdess", 1, 0.60, 0.70, 200),
        ("resnet18_half_ravdess_aug", 0, 0.70, 0.65, 300),
    ]
    path = tmp_path / "ravdess-6fold.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        w.writerows([m, fold, ua, ua, ua, val, s] for m, fold, ua, val, s in runs)
    text = summary.main(path)
    assert (tmp_path / "summary.md").read_text() == text
    [plain] = [line for line in text.splitlines() if line.startswith("| `resnet18_half_ravdess`")]
    assert "| 2 | 65.00 | 50.00 / 60.00 | 55.00 ± 7.07 |" in plain and plain.endswith("| 300 |")
    [aug] = [line for line in text.splitlines() if line.startswith("| `resnet18_half_ravdess_aug`")]
    assert "| 1 | 65.00 | 70.00 | 70.00 |" in aug and "specaug" not in text


def test_best_checkpoint_is_the_newest_versions_and_never_a_calibrated_copy(tmp_path):
    """The benchmark scripts' one way to find a fold's best-on-validation checkpoint."""
    from ser_zoo.bench.fold_resume import best_checkpoint

    assert best_checkpoint(tmp_path) is None
    for version, name in [
        (0, "best-epoch05-ua0.700"),
        (2, "best-epoch09-ua0.610"),
        (10, "best-epoch03-ua0.500"),
    ]:
        folder = tmp_path / f"version_{version}" / "checkpoints"
        folder.mkdir(parents=True)
        (folder / f"{name}.ckpt").touch()
        (folder / f"{name}-calibrated.ckpt").touch()
    assert best_checkpoint(tmp_path) == tmp_path / "version_10" / "checkpoints" / "best-epoch03-ua0.500.ckpt"
    (tmp_path / "version_10" / "checkpoints" / "best-epoch03-ua0.500.ckpt").unlink()
    assert best_checkpoint(tmp_path) == tmp_path / "version_2" / "checkpoints" / "best-epoch09-ua0.610.ckpt"


def test_a_dry_run_estimates_the_time_the_folds_to_run_take():
    from ser_zoo.bench.suite import time_to_go

    rows = [
        {"model": "a", "fold": "0", "train_seconds": "3600"},
        {"model": "a", "fold": "1", "train_seconds": "4200"},
        {"model": "b", "fold": "0", "train_seconds": "60"},
        {"model": "c", "fold": "0", "train_seconds": ""},
    ]
    assert time_to_go(rows, "a", 6) == "; ~65 min a fold (mean of the 2 run), ~6.5 h for the 6 to run"
    assert time_to_go(rows, "b", 3) == "; ~1 min a fold (mean of the 1 run), ~3 min for the 3 to run"
    assert time_to_go(rows, "a", 0) == time_to_go(rows, "c", 2) == time_to_go(rows, "d", 2) == ""


def test_publish_zoo_card_carries_the_fold_the_recipe_and_a_note(data_root, tmp_path):
    """publish_zoo's card for a fold checkpoint: the fold's and the recipe's figures from the CSV rows, the
    speakers the checkpoint heard, and --notes (why this fold's checkpoint is the one published)."""
    import argparse

    from conftest import benchmark_script

    pub = benchmark_script("publish_zoo")
    rows = [
        {
            "protocol": "ravdess-6fold",
            "classes": "emotions8",
            "model": "tiny",
            "fold": str(f),
            "ua": ua,
            "wa": ua,
            "f1": ua,
            "test_speakers": "x",
            "n_test": "240",
            "epochs": "20",
            "config": "configs/tiny.yaml",
        }
        for f, ua in ((0, "0.5000"), (1, "0.7000"))
    ]
    args = argparse.Namespace(
        csv=str(tmp_path / "ravdess-6fold.csv"),
        recipe="tiny",
        fold=1,
        name="tiny",
        runs="runs/bench",
        ckpt=None,
        notes="fold 1: the best validation UA among folds 0-1",
    )
    saved = {"datamodule_hyper_parameters": {"protocol": "ravdess-6fold", "fold": 1}, "hyper_parameters": {}}
    card = pub.publication_card(args, rows, rows[1], saved, tmp_path / "x.ckpt")
    assert card["notes"] == "fold 1: the best validation UA among folds 0-1"
    assert card["metrics"]["test UA, fold 1 (this checkpoint)"] == 70.0 and card["recipe_ua"]["folds"] == [
        0,
        1,
    ]
    assert len(card["heard_speakers"]) == 20 and "ravdess_05" not in card["heard_speakers"]  # fold 1: 5-8
    assert "notes" not in pub.publication_card(
        argparse.Namespace(**{**vars(args), "notes": None}), rows, rows[1], saved, tmp_path / "x.ckpt"
    )


def test_bench_reads_the_corpora_where_data_root_says(data_root, tmp_path, monkeypatch, capsys):
    """``--data.root`` (the word ``ser-zoo fit`` takes) reaches the runner, not only LightningCLI: the runner
    counted folds and ran baselines on the default root instead, and failed naming that one."""
    monkeypatch.setenv("SER_ZOO_DATA", str(tmp_path / "not-here"))
    args = ["bench", "--protocol", "savee-loso", "--models", "logreg", "--folds", "0", "--out", str(tmp_path)]
    assert main([*args, "--data.root", str(data_root)]) == 0
    assert [r["fold"] for r in csv.DictReader((tmp_path / "savee-loso.csv").open())] == ["0"]
    assert main([*args, "--root", str(tmp_path), "--data.root", str(data_root)]) == 2
    assert "give the data root once: --root" in capsys.readouterr().err


def test_a_mistyped_suite_names_the_nearest(capsys):
    assert main(["bench", "--suite", "benchmarks/suites/union7_fast.yaml", "--dry_run"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(
        "ser-zoo: error: suite not found: benchmarks/suites/union7_fast.yaml; did you mean "
    )
    assert "union7_fast_default.yaml" in err and len(err.splitlines()) == 1


def test_card_and_leaderboard_spell_a_recipe_mean_alike():
    """Ten fold UAs whose mean is 61.945 %: the leaderboard printed 61.95 and the card 61.94 (two ways of
    averaging); both now take the leaderboard's figure."""
    from conftest import benchmark_script

    from ser_zoo.bench.report import mean_std_text
    from ser_zoo.zoo.checkpoints import zoo_table

    pub = benchmark_script("publish_zoo")
    ua = [0.5982, 0.6484, 0.6376, 0.5682, 0.6488, 0.5952, 0.6373, 0.6209, 0.5742, 0.6657]
    rows = [{"fold": str(f), "ua": str(u), "wa": str(u), "f1": str(u)} for f, u in enumerate(ua)]
    board = mean_std_text(ua)
    assert board == "61.95 ± 3.37"
    assert pub.recipe_metrics(rows)[f"recipe UA, folds {list(range(10))} mean ± std"] == board
    card = {"name": "t", "model": "m", "class_names": ["a"], "size_bytes": 0, "sha256": "0" * 64}
    card.update(protocol="union-11fold", recipe_ua=pub.recipe_ua(rows))
    assert f"{board} (10 of 11)" in zoo_table([card])[1]
