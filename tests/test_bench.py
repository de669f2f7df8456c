"""``ser-zoo bench``: one CSV row per model x fold, written as each fold lands, and resumable."""

import csv
import json

import pytest

from ser_zoo.bench.runner import results_path, run_bench
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
def test_bench_writes_rows_and_resumes(data_root, tmp_path, capsys):
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
    assert "fold 1: WA" in capsys.readouterr().out
    board = (tmp_path / "LEADERBOARD.md").read_text()
    assert "## ravdess-6fold (speaker-independent, emotions8" in board and "| 1 | mel_cnn |" in board
    assert "| 001 | SER-FusionNet | accuracy | 46 ± 1 | 6 actor folds |" in board  # the seed beside ours
    best = next(
        line for line in board.splitlines() if line.startswith("| ravdess-6fold | speaker-independent |")
    )
    assert "| mel_cnn |" in best and best.endswith(
        "| 2 | same | 70 | no |"
    )  # best UA against the 70 % target
    for png in ("leaderboard", "best_confusion", "per_class_f1"):
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


def test_leaderboard_ranks_by_ua_with_mean_and_std(tmp_path):
    from ser_zoo.bench.report import write_report
    from ser_zoo.bench.runner import append_row

    names = ["neutral", "happy"]
    for model, uas in (("a", [0.5, 0.7]), ("b", [0.8, 0.8])):
        for fold, ua in enumerate(uas):
            append_row(
                tmp_path / "savee-loso.csv",
                {
                    "protocol": "savee-loso",
                    "classes": "emotions7",
                    "model": model,
                    "fold": fold,
                    "wa": ua,
                    "ua": ua,
                    "f1": ua,
                    "params": 10,
                    "train_seconds": 1,
                    "device": "cpu",
                    "config": model if model == "b" else f"a weights {fold}",
                    "confusion": "[[1, 0], [0, 1]]",
                },
                names,
            )
    text = write_report(tmp_path).read_text()
    assert "| cpu | `b` |" in text  # one recipe on every fold
    assert "| cpu | `a weights 0 (as on fold 0; other folds differ, see the CSV)` |" in text
    assert text.index("| 1 | b | 80.00 ± 0.00") < text.index("| 2 | a | 60.00 ± 14.14")
    assert "| savee-loso | speaker-independent | b | 80.00 ± 0.00 | 2 | same |  |  |" in text  # no target set
    assert "UA, fold" not in text  # every model ran the same folds: no fold-matched column


def test_leaderboard_compares_models_on_the_folds_they_all_ran(tmp_path):
    """A one-fold row beside a 3-fold mean: the best on the shared fold is named, and each row gets that fold's UA."""
    from ser_zoo.bench.report import write_report
    from ser_zoo.bench.runner import append_row

    for model, uas in (("many", [0.4, 0.8, 0.9]), ("one", [0.6])):
        for fold, ua in enumerate(uas):
            append_row(
                tmp_path / "savee-loso.csv",
                {
                    "protocol": "savee-loso",
                    "classes": "emotions7",
                    "model": model,
                    "fold": fold,
                    "wa": ua,
                    "ua": ua,
                    "f1": ua,
                    "params": 10,
                    "train_seconds": 1,
                    "device": "cpu",
                    "config": model,
                },
                ["x"],
            )
    text = write_report(tmp_path, plots=False).read_text()
    assert (
        "| savee-loso | speaker-independent | many | 70.00 ± 26.46 | 3 | one 60.00 (fold 0) |  |  |" in text
    )
    assert "| folds | UA, fold 0 | params |" in text
    assert "| 1 | many | 70.00 ± 26.46 | 70.00 ± 26.46 | 70.00 ± 26.46 | 3: 0,1,2 | 40.00 | 10 |" in text
    assert "| 2 | one | 60.00 | 60.00 | 60.00 | 1: 0 | 60.00 | 10 |" in text


def test_concurrent_appends_keep_every_row(tmp_path):
    """Two bench runs on one protocol (say, baselines beside a deep model) never drop each other's rows."""
    import threading

    from ser_zoo.bench.runner import append_row, read_rows

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


def test_publish_zoo_refreshes_a_card_from_more_folds(data_root, tmp_path, capsys):
    """benchmarks/publish_zoo.py --refresh_card: the recipe's mean ± std (text and numbers) from every fold in the CSV,
    the heard speakers from this machine's data; weights untouched; a CSV from another run is refused."""
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
    assert "50.00 ± 10.00 (3)" in zoo_table([new])[1]
    assert "50.00 ± 10.00" in (tmp_path / "tiny.md").read_text()
    card["test_fold_ua"] = 0.55
    (tmp_path / "tiny.json").write_text(json.dumps(card))
    with pytest.raises(SystemExit, match="another run"):
        pub.main([*common, "--fold", "0"])
