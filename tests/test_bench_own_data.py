"""``ser-zoo bench`` on your own corpora (``--data.corpora``, ``--data.label_map``, ``--data.folds``) and with
recipes named as ``ser-zoo recipes`` lists them."""

import csv
import os
from pathlib import Path

import pytest
from lightning.pytorch.callbacks import Callback
from test_own_data import make_tree

from ser_zoo.bench.bench_data import bench_data, data_words
from ser_zoo.bench.results import results_path
from ser_zoo.bench.runner import resolve_model, run_bench
from ser_zoo.cli import main
from ser_zoo.errors import ConfigError, RunsFailed

SPEAKERS = ("ann", "bob", "cy", "dee")
TINY = [
    "--data.num_workers",
    "0",
    "--data.batch_size",
    "8",
    "--data.clip_seconds",
    "0.5",
    "--model.model_kwargs",
    "{channels: [4, 8], hidden: 16}",
    "--trainer.max_epochs",
    "1",
]


def rows_of(path: Path) -> list[dict]:
    return list(csv.DictReader(path.open()))


def test_data_words_read_both_spellings_and_yaml_values():
    words = [
        "--data.corpora=[ravdess, /d/calls.csv]",
        "--data.folds",
        "3",
        "--data.label_map",
        "{joy: happy}",
    ]
    assert data_words([*words, "--data.batch_size", "8", "--trainer.max_epochs", "1"]) == {
        "corpora": ["ravdess", "/d/calls.csv"],
        "folds": 3,
        "label_map": {"joy": "happy"},
    }
    with pytest.raises(ConfigError, match="--data.folds needs a value"):
        data_words(["--data.folds"])


def test_csv_name_tells_own_corpora_from_the_protocols_own(tmp_path):
    own = bench_data(["--data.corpora", "/d/calls.csv", "--data.folds", "3"], classes="angry,joy")
    assert own.classes == ("angry", "joy") and own.datamodule_kwargs()["classes"] == ["angry", "joy"]
    path = results_path(tmp_path, "speaker-kfold", own.classes_label(), own.tag("speaker-kfold"))
    assert path.name == "speaker-kfold-calls-k3-angry+joy.csv"
    builtin = bench_data(["--data.corpora", "[ravdess]"])
    assert builtin.tag("ravdess-6fold") == "" and builtin.tag("loso") == "ravdess"
    with pytest.raises(ConfigError, match="--classes or --data.classes"):
        bench_data(["--data.classes", "[a, b]"], classes="emotions6")


def test_recipe_data_section_counts_and_the_command_line_wins(tmp_path):
    recipe = tmp_path / "mine.yaml"
    recipe.write_text("data:\n  corpora: /d/calls.csv\n  folds: 4\n  batch_size: 8\n")
    assert bench_data([], str(recipe)).corpora == ("/d/calls.csv",)
    assert bench_data(["--data.folds", "2"], str(recipe)).folds == 2


def test_models_resolve_recipe_names(monkeypatch):
    assert resolve_model("mobilenetv3_ravdess") == "configs/mobilenetv3_ravdess.yaml"
    assert resolve_model("mel_cnn") == "mel_cnn"  # a registered model name wins
    assert resolve_model("configs/x.yaml") == "configs/x.yaml"
    with pytest.raises(
        ConfigError, match="unknown model 'mobilenet_ravdes'.*did you mean mobilenetv3_ravdess"
    ):
        resolve_model("mobilenet_ravdes")


def test_bench_loso_baseline_on_a_folder(tmp_path, caplog):
    tree = make_tree(tmp_path / "calls", speakers=SPEAKERS, per=3)
    args = ["bench", "--protocol", "loso", "--models", "logreg", "--out", str(tmp_path / "out")]
    assert main([*args, "--data.corpora", str(tree)]) == 0
    path = tmp_path / "out" / "loso-calls.csv"
    rows = rows_of(path)
    assert [r["fold"] for r in rows] == ["0", "1", "2", "3"]  # one fold per speaker
    assert [r["test_speakers"] for r in rows] == [f"calls_{s}" for s in SPEAKERS]
    assert {"recall_angry", "recall_joy", "recall_neutral"} <= set(rows[0])
    assert rows[0]["classes"] == "labels" and all(0 <= float(r["ua"]) <= 1 for r in rows)
    board = (tmp_path / "out" / "LEADERBOARD.md").read_text()
    assert "## loso-calls" in board
    before = path.read_text()
    assert main([*args, "--data.corpora", str(tree)]) == 0  # every fold there: nothing rerun
    assert path.read_text() == before and "logreg fold 3 already in" in caplog.text


def test_bench_speaker_kfold_lightning_on_a_relabelled_manifest(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # runs/ land here
    tree = make_tree(tmp_path / "audio", speakers=SPEAKERS, per=3)
    manifest = tmp_path / "calls.csv"
    lines = ["path,label,speaker"] + [
        f"{p.relative_to(tmp_path)},{p.parent.parent.name},{p.parent.name}"
        for p in sorted(tree.rglob("*.wav"))
    ]
    manifest.write_text("\n".join(lines) + "\n")
    words = ["--data.corpora", str(manifest), "--data.folds", "2", "--data.label_map", "{joy: happy}"]
    [path] = run_bench(
        "speaker-kfold", ["mel_cnn"], folds=[1], out=tmp_path / "out", overrides=[*words, *TINY]
    )
    assert path.name == "speaker-kfold-calls-relabelled-k2.csv"
    [row] = rows_of(path)
    assert row["fold"] == "1" and {"recall_happy", "recall_angry", "recall_neutral"} <= set(row)
    test_speakers = set(row["test_speakers"].split())
    assert len(test_speakers) == 2 and test_speakers < {f"calls_{s}" for s in SPEAKERS}
    assert int(row["n_test"]) == 2 * 3 * 3  # two speakers x three labels x three clips


def test_bench_rejects_builtin_protocol_on_own_data_before_training(tmp_path):
    tree = make_tree(tmp_path / "calls", speakers=SPEAKERS)
    with pytest.raises(ConfigError, match="use --data.protocol speaker-kfold, loso"):
        run_bench("ravdess-6fold", ["logreg"], out=tmp_path / "out", overrides=["--data.corpora", str(tree)])
    assert not (tmp_path / "out").exists()


class KillInSecondEpoch(Callback):
    """Stands in for a session that ends mid-fold: fails as the second epoch starts when $KILL_FOLD is set."""

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if os.environ.get("KILL_FOLD") and trainer.current_epoch == 1:
            raise RuntimeError("killed")


def test_a_killed_fold_resumes_from_its_last_checkpoint(tmp_path, monkeypatch, caplog, recwarn):
    tree = make_tree(tmp_path / "calls", speakers=SPEAKERS, per=3)
    monkeypatch.chdir(tmp_path)  # runs/ land here
    words = ["--data.corpora", str(tree), "--data.folds", "2", *TINY, "--trainer.max_epochs", "2"]
    words += ["--trainer.callbacks+=test_bench_own_data.KillInSecondEpoch"]
    bench = dict(folds=[0], out=tmp_path / "out", overrides=words)
    monkeypatch.setenv("KILL_FOLD", "1")
    with pytest.raises(RunsFailed, match="RuntimeError: killed"):  # reported, as any failing run
        run_bench("speaker-kfold", ["mel_cnn"], **bench)
    runs = tmp_path / "runs/bench/speaker-kfold/mel_cnn-fold0"
    assert (runs / "version_0/checkpoints/last.ckpt").is_file()
    monkeypatch.delenv("KILL_FOLD")
    [path] = run_bench("speaker-kfold", ["mel_cnn"], **bench)
    assert "mel_cnn fold 0 resumes from" in caplog.text
    assert sorted(p.name for p in runs.iterdir()) == ["version_0"]  # carried on in the same folder
    epochs = {r["epoch"] for r in csv.DictReader((runs / "version_0/metrics.csv").open()) if r.get("val/ua")}
    assert epochs == {"0", "1"}
    [row] = rows_of(path)
    assert row["epochs"] == "2" and float(row["train_seconds"]) > 0
    path.unlink()  # killed after training, before the row landed: the finished fold is only tested again
    run_bench("speaker-kfold", ["mel_cnn"], **bench)
    assert [r["epochs"] for r in rows_of(path)] == ["2"] and not (runs / "version_1").exists()
    # the runner fills the folder itself (bench_args.json, rows set aside): Lightning's "not empty" is noise
    assert not [w for w in recwarn if "exists and is not empty" in str(w.message)]


def test_a_failing_run_is_reported_and_the_runs_behind_it_still_go(tmp_path, monkeypatch, capsys):
    """One (model, fold) that raises writes no row; the folds and models after it run, the command ends
    with one line naming the failure (exit 1), and a rerun runs only the missing row."""
    from ser_zoo.bench import runner

    tree = make_tree(tmp_path / "calls", speakers=SPEAKERS, per=3)
    real = runner._baseline_fold

    def flaky(spec, protocol, fold, *args, **kwargs):
        if spec == "logreg" and fold == 1:
            raise RuntimeError("disk full\nsecond line")
        return real(spec, protocol, fold, *args, **kwargs)

    monkeypatch.setattr(runner, "_baseline_fold", flaky)
    args = ["bench", "--protocol", "loso", "--models", "logreg", "knn", "--out", str(tmp_path / "out")]
    assert main([*args, "--data.corpora", str(tree)]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(
        "ser-zoo: error: 1 run(s) failed and wrote no row (loso logreg fold 1: RuntimeError: "
    )
    assert "disk full)" in err and "second line" not in err
    rows = rows_of(tmp_path / "out" / "loso-calls.csv")
    assert sorted((r["model"], r["fold"]) for r in rows) == sorted(
        [("logreg", f) for f in "023"] + [("knn", f) for f in "0123"]
    )
    monkeypatch.setattr(runner, "_baseline_fold", real)
    assert main([*args, "--data.corpora", str(tree)]) == 0  # the rerun fills the gap
    assert len(rows_of(tmp_path / "out" / "loso-calls.csv")) == 8


def test_a_suite_whose_run_fails_does_not_stop_the_queue(tmp_path, monkeypatch):
    from ser_zoo.bench import runner
    from ser_zoo.bench.suite import run_suites

    tree = make_tree(tmp_path / "calls", speakers=SPEAKERS, per=3)
    real = runner._baseline_fold

    def knn_fails(spec, *args, **kwargs):
        if spec == "knn":
            raise OSError("gone")
        return real(spec, *args, **kwargs)

    monkeypatch.setattr(runner, "_baseline_fold", knn_fails)
    suites = []
    for name, model in (("a.yaml", "knn"), ("b.yaml", "logreg")):
        (tmp_path / name).write_text(
            f"protocol: loso\nfolds: [0]\nout: {tmp_path / 'out'}\n"
            f"steps:\n  - bench: [{model}]\n    overrides: {{data.corpora: '[{tree}]'}}\n"
        )
        suites.append(tmp_path / name)
    with pytest.raises(RunsFailed, match="loso knn fold 0: OSError: gone"):
        run_suites(suites)
    assert [(r["model"], r["fold"]) for r in rows_of(tmp_path / "out" / "loso-calls.csv")] == [
        ("logreg", "0")
    ]
