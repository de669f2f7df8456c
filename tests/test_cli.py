"""The ser-zoo command: data tools, the LightningCLI schema, config errors, and an end-to-end fit/test."""

import csv
import json
from pathlib import Path

import pytest
import torch
import yaml

from ser_zoo.cli import main
from ser_zoo.lit.parser import one_line

REPO = Path(__file__).resolve().parents[1]
RECIPE = str(REPO / "configs" / "resnet18_ravdess.yaml")


def test_data_summary_shows_official_counts(data_root, capsys):
    assert main(["data", "summary", "--root", str(data_root)]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.split()}
    assert rows["ravdess"][1:3] == ["1440", "24"] and rows["crema_d"][1:3] == ["7442", "91"]
    assert rows["tess"][1:3] == ["2800", "2"] and rows["savee"][1:3] == ["480", "4"]
    assert rows["total"][1:3] == ["12162", "121"]
    assert abs(float(rows["ravdess"][4]) - 1.48) < 0.01 and abs(float(rows["crema_d"][4]) - 5.26) < 0.01
    assert rows["calm"][1:] == ["192", "0", "0", "0"] and rows["neutral"][1:] == ["96", "1087", "400", "120"]


def test_data_summary_bad_root(tmp_path, capsys):
    assert main(["data", "summary", "--root", str(tmp_path)]) == 2
    assert "no corpus folders" in capsys.readouterr().err


def test_protocols_and_models_listing(capsys):
    main(["data", "protocols"])
    out = capsys.readouterr().out
    assert "ravdess-6fold" in out and "random-split    NOT speaker-independent" in out
    main(["models"])
    out = capsys.readouterr().out
    assert "resnet18" in out and "KNeighborsClassifier(n_neighbors=9)" in out


SUB_COMMANDS = [
    "fit",
    "validate",
    "test",
    "predict",
    "adapt",
    "bench",
    "calibrate",
    "data",
    "demo",
    "evaluate",
    "export",
    "infer",
    "leaderboard",
]
SUB_COMMANDS += ["listen", "models", "recipes", "zoo"]


def listed(text: str, title: str) -> dict[str, str]:
    """The ``title:`` section of a help text: each line's name and its one-line description."""
    section = text.split(f"\n{title}:\n", 1)[1].split("\n\n", 1)[0]
    return dict(line.split(None, 1) for line in section.splitlines())


def test_help_lists_every_sub_command_on_one_line(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    commands = listed(text, "commands")
    assert list(commands) == SUB_COMMANDS and all(commands.values())
    assert "ser-zoo fit --help" in text
    assert main([]) == 2  # no command: the same listing, as a usage error
    assert listed(capsys.readouterr().err, "commands") == commands
    for command, actions in (
        ("data", ["summary", "download", "protocols", "check"]),
        ("zoo", ["list", "card", "download", "export", "push"]),
    ):
        with pytest.raises(SystemExit) as e:
            main([command, "--help"])
        assert e.value.code == 0 and list(listed(capsys.readouterr().out, "actions")) == actions
    with pytest.raises(SystemExit) as e:
        main(["fitt"])  # a typo: the error names every command
    assert e.value.code == 2 and "'leaderboard'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, says",
    [
        (
            ["infer", "a.wav", "--formt", "json"],
            "ser-zoo infer does not take --formt json; did you mean --format?",
        ),
        (
            ["evaluate", "--model", "m", "--data.corpora", "c", "--batchsize", "3"],
            "did you mean --batch_size?",
        ),
        (["calibrate", "x.ckpt", "--temperature", "2"], "ser-zoo calibrate does not take --temperature 2; "),
        (["zoo", "list", "more"], "ser-zoo zoo list does not take more; ser-zoo zoo list --help lists"),
    ],
)
def test_an_unknown_option_is_refused_in_one_line(argv, says, capsys):
    """Only bench and demo pass unknown words on (to LightningCLI); elsewhere a typo is never ignored."""
    assert main(argv) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("ser-zoo: error: ") and says in line, line


def test_training_commands_keep_lightning_help(capsys):
    with pytest.raises(SystemExit) as e:
        main(["fit", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: ") and " fit " in out.splitlines()[0] and "--trainer.max_epochs" in out
    assert "--data.protocol" in out and "--model.model" in out


def test_bench_suite_excludes_the_protocol_form(capsys):
    """--suite names its own protocol, models, folds and schedule; the protocol form needs both its flags."""
    assert main(["bench", "--suite", "s.yaml", "--protocol", "ravdess-6fold"]) == 2
    assert "drop --protocol" in capsys.readouterr().err
    assert main(["bench", "--suite", "s.yaml", "--trainer.max_epochs", "3"]) == 2
    assert "drop --trainer.max_epochs" in capsys.readouterr().err
    assert main(["bench", "--protocol", "ravdess-6fold"]) == 2
    assert "--suite FILE" in capsys.readouterr().err
    assert main(["bench", "--protocol", "ravdess-6fold", "--models", "mel_cnn", "--dry_run"]) == 2
    assert "--dry_run goes with --suite" in capsys.readouterr().err


def test_bench_suite_calls_the_suite_runner(monkeypatch, tmp_path):
    import ser_zoo.bench.suite as suite

    calls = []
    monkeypatch.setattr(suite, "run_suites", lambda paths, **kw: calls.append((paths, kw)))
    assert main(["bench", "--suite", "s.yaml", "--dry_run", "--root", str(tmp_path)]) == 0
    assert calls == [(["s.yaml"], {"out": None, "root": str(tmp_path), "dry_run": True})]  # the suite's out
    assert main(["bench", "--suite", "s.yaml", "--out", str(tmp_path)]) == 0
    assert calls[1] == (["s.yaml"], {"out": str(tmp_path), "root": None, "dry_run": False})


def test_print_config_is_the_schema(capsys):
    with pytest.raises(SystemExit) as e:
        main(["fit", "--config", RECIPE, "--data.fold", "2", "--print_config"])
    assert e.value.code == 0
    cfg = yaml.safe_load(capsys.readouterr().out)
    assert cfg["data"]["fold"] == 2 and cfg["model"]["model"] == "resnet18"
    assert cfg["checkpoint"]["monitor"] == "val/ua" and cfg["model"]["scheduler"] == "onecycle"


def test_wrong_config_key_names_the_key(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(RECIPE).read_text().replace("  batch_size: 32", "  batch_sise: 32"))
    with pytest.raises(SystemExit) as e:
        main(["fit", "--config", str(bad)])
    assert e.value.code == 2
    [line] = capsys.readouterr().err.strip().splitlines()  # one line, not the 100-line usage
    assert line.startswith("ser-zoo fit: error: ") and "data.batch_sise" in line
    assert "did you mean 'data.batch_size'?" in line and line.endswith("ser-zoo fit --help lists every key")


@pytest.mark.parametrize(
    "args, says",
    [
        (["--model.lrr", "0.1"], ["--model.lrr 0.1", "did you mean 'model.lr'"]),
        (["--trainer.max_epochs", "ten"], ['"trainer.max_epochs"', "Expected a <class 'int'>", "ten"]),
        (["--model.optimizer", "sgd"], ['"model.optimizer"', "'adamw', 'adam'", "sgd"]),
    ],
)
def test_wrong_option_or_value_is_one_line(args, says, capsys):
    with pytest.raises(SystemExit) as e:
        main(["fit", "--config", RECIPE, *args])
    assert e.value.code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert all(s in line for s in says), line
    assert "Subtypes" not in line and "Errors:" not in line  # jsonargparse's search report left out


def test_one_line_joins_a_union_report():
    report = (
        'Parser key "trainer.logger":\n  Does not validate against any of the Union subtypes\n  Errors:\n'
        "    - Problem with given class_path 'foo.Bar':\n        No module named 'foo'\n"
        "    - Problem with given class_path 'foo.Bar':\n        No module named 'foo'\n"
        "  Given value type: <class 'str'>\n  Given value: foo.Bar"
    )
    assert one_line(report) == (
        "Parser key \"trainer.logger\": Problem with given class_path 'foo.Bar': No module named 'foo'; "
        "Given value: foo.Bar"
    )


def test_unknown_protocol_is_one_line(capsys):
    assert main(["fit", "--config", RECIPE, "--data.protocol", "ravdess-9fold"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ser-zoo: error: unknown protocol 'ravdess-9fold'") and "\n" not in err


@pytest.mark.slow
def test_fit_then_test_end_to_end(data_root, tmp_path, capsys):
    common = [
        "--config",
        RECIPE,
        "--data.root",
        str(data_root),
        "--data.limit_clips",
        "48",
        "--data.batch_size",
        "16",
        "--data.num_workers",
        "0",
        "--trainer.logger.init_args.save_dir",
        str(tmp_path),
        "--trainer.enable_progress_bar",
        "false",
        "--model.model",
        "mel_cnn",
        "--model.model_kwargs",
        "{}",
        "--model.frontend",
        "{name: logmel, n_mels: 40}",
    ]
    assert main(["fit", *common, "--trainer.max_epochs", "2"]) == 0
    run = tmp_path / "resnet18_ravdess" / "version_0"
    ckpts = sorted((run / "checkpoints").glob("*.ckpt"))
    assert {p.name for p in ckpts} >= {"last.ckpt"} and any(p.name.startswith("best-") for p in ckpts)
    assert yaml.safe_load((run / "config.yaml").read_text())["model"]["model"] == "mel_cnn"
    metrics = (run / "metrics.csv").read_text()
    assert "val/ua" in metrics and "train/loss" in metrics
    assert main(["test", *common, "--ckpt_path", str(run / "checkpoints" / "last.ckpt")]) == 0
    [test_run] = [p for p in (tmp_path / "resnet18_ravdess").iterdir() if p.name != "version_0"]
    confusion = json.loads((test_run / "test_confusion.json").read_text())
    assert sum(map(sum, confusion["confusion_matrix"])) == 48  # every limited test clip counted once
    assert (test_run / "confusion_matrix.png").stat().st_size > 1000
    out = tmp_path / "pred"
    assert (
        main(
            [
                "predict",
                *common,
                "--ckpt_path",
                str(run / "checkpoints" / "last.ckpt"),
                "--prediction_writer.output_dir",
                str(out),
            ]
        )
        == 0
    )
    rows = list(csv.DictReader((out / "predictions.csv").open()))
    assert len(rows) == 48 and len({r["clip_id"] for r in rows}) == 48
    assert {r["speaker"] for r in rows} <= {
        "ravdess_01",
        "ravdess_02",
        "ravdess_03",
        "ravdess_04",
    }  # fold 0 test
    assert all(abs(sum(float(r[f"p_{c}"]) for c in confusion["class_names"]) - 1) < 1e-3 for r in rows)
    agree = sum(r["pred"] == r["label"] for r in rows)
    assert agree == sum(confusion["confusion_matrix"][i][i] for i in range(len(confusion["class_names"])))


def test_fit_without_checkpointing_writes_no_checkpoint(data_root, tmp_path):
    """--trainer.enable_checkpointing false drops the CLI's own checkpoint callbacks instead of failing in
    Lightning."""
    assert (
        main(
            [
                "fit",
                "--config",
                RECIPE,
                "--data.root",
                str(data_root),
                "--data.limit_clips",
                "16",
                "--data.batch_size",
                "16",
                "--data.num_workers",
                "0",
                "--trainer.logger.init_args.save_dir",
                str(tmp_path),
                "--trainer.enable_progress_bar",
                "false",
                "--model.model",
                "mel_cnn",
                "--model.model_kwargs",
                "{}",
                "--model.frontend",
                "{name: logmel, n_mels: 40}",
                "--trainer.max_epochs",
                "1",
                "--trainer.enable_checkpointing",
                "false",
            ]
        )
        == 0
    )
    run = tmp_path / "resnet18_ravdess" / "version_0"
    assert "val/ua" in (run / "metrics.csv").read_text() and not list(run.rglob("*.ckpt"))


@pytest.mark.slow
@pytest.mark.parametrize("logger", ["tensorboard", "wandb"])
def test_optional_loggers(logger, data_root, tmp_path, monkeypatch):
    """TensorBoard and (offline) Weights & Biases plug in through the same CLI flags the README gives."""
    if logger == "wandb":
        pytest.importorskip("wandb")
        monkeypatch.setenv("WANDB_MODE", "offline")
        monkeypatch.setenv("WANDB_DIR", str(tmp_path))
        monkeypatch.setenv("WANDB_SILENT", "true")
        flags = [
            "--trainer.logger",
            "lightning.pytorch.loggers.WandbLogger",
            "--trainer.logger.offline",
            "true",
            "--trainer.logger.save_dir",
            str(tmp_path),
            "--trainer.logger.project",
            "ser-zoo-test",
        ]
    else:
        pytest.importorskip("tensorboard")
        flags = [
            "--trainer.logger",
            "lightning.pytorch.loggers.TensorBoardLogger",
            "--trainer.logger.save_dir",
            str(tmp_path),
        ]
    assert (
        main(
            [
                "fit",
                "--config",
                RECIPE,
                "--data.root",
                str(data_root),
                "--data.limit_clips",
                "16",
                "--data.num_workers",
                "0",
                "--trainer.enable_progress_bar",
                "false",
                "--trainer.max_epochs",
                "1",
                "--trainer.default_root_dir",
                str(tmp_path),
                "--model.model",
                "mel_cnn",
                "--model.model_kwargs",
                "{}",
                *flags,
            ]
        )
        == 0
    )
    if logger == "wandb":
        runs = list(tmp_path.glob("wandb/offline-run-*/*.wandb"))
        assert runs and runs[0].stat().st_size > 0
    else:
        events = list(tmp_path.rglob("events.out.tfevents.*"))
        assert events and max(e.stat().st_size for e in events) > 100


def test_demo_runs_the_default_recipe_with_overrides_in_either_spelling(
    data_root, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("SER_ZOO_DATA", str(data_root))
    monkeypatch.chdir(tmp_path)  # runs/ land here
    quick = ["--data.limit_clips", "16", "--data.batch_size=8", "--data.num_workers", "0"]
    quick += ["--trainer.limit_train_batches", "1", "--trainer.enable_progress_bar=false"]
    assert main(["demo", "--max_epochs", "1", *quick]) in (0, None)
    out = capsys.readouterr().out
    assert "ravdess-6fold fold 0 (speaker-independent" in out and "1 epochs" in out
    assert "test WA" in out and "[ravdess-6fold]" in out
    assert list(tmp_path.glob("runs/*/version_0/demo_result.json"))


def test_ema_weights_from_the_recipe_and_a_longer_resume_refused(data_root, tmp_path, capsys):
    """Lightning's EMAWeightAveraging plugs in from the command line: the checkpoint's weights are the average
    (validated, tested, loaded for inference); resuming a one-cycle run with more epochs fails in one line."""
    from ser_zoo.checkpoint_file import load_checkpoint_file

    common = ["--config", RECIPE, "--data.root", str(data_root), "--data.limit_clips", "16"]
    common += ["--data.batch_size", "8", "--data.num_workers", "0", "--trainer.enable_progress_bar", "false"]
    common += ["--trainer.logger.init_args.save_dir", str(tmp_path), "--model.model", "mel_cnn"]
    common += ["--model.model_kwargs", "{}", "--model.frontend", "{name: logmel, n_mels: 40}"]
    ema = [
        "--trainer.callbacks+=lightning.pytorch.callbacks.EMAWeightAveraging",
        "--trainer.callbacks.decay",
        "0.5",
    ]
    assert main(["fit", *common, *ema, "--trainer.max_epochs", "2"]) == 0
    last = tmp_path / "resnet18_ravdess" / "version_0" / "checkpoints" / "last.ckpt"
    ckpt = load_checkpoint_file(last)
    averaged, trained = ckpt["state_dict"], ckpt["current_model_state"]
    assert any(not torch.equal(averaged[k], trained[k]) for k in trained if k.endswith("weight"))
    assert main(["test", *common, "--ckpt_path", str(last)]) == 0
    capsys.readouterr()
    assert main(["fit", *common, *ema, "--trainer.max_epochs", "4", "--ckpt_path", str(last)]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "one-cycle schedule ends at step 4" in err and "trainer.max_epochs asks for 8" in err


def test_testing_right_after_an_ema_fit_scores_the_averaged_weights(data_root, tmp_path):
    """Lightning's averaging callback, still attached after ``fit``, would load ``current_model_state`` (the
    raw weights) on ``test``; the bench and the demo test the averaged weights that validation chose."""
    from ser_zoo.checkpoint_file import load_checkpoint_file
    from ser_zoo.lit.best_checkpoint import score_best_checkpoint
    from ser_zoo.lit.cli import build_cli

    args = ["--config", RECIPE, "--data.root", str(data_root), "--data.limit_clips", "16"]
    args += ["--data.batch_size", "8", "--data.num_workers", "0", "--trainer.enable_progress_bar", "false"]
    args += ["--trainer.logger.init_args.save_dir", str(tmp_path), "--model.model", "mel_cnn"]
    args += ["--model.model_kwargs", "{}", "--model.frontend", "{name: logmel, n_mels: 40}"]
    args += [
        "--trainer.callbacks+=lightning.pytorch.callbacks.EMAWeightAveraging",
        "--trainer.callbacks.decay",
    ]
    args += ["0.5", "--trainer.max_epochs", "2"]
    cli = build_cli(args, run=False)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    ckpt = load_checkpoint_file(cli.trainer.checkpoint_callback.best_model_path)
    metrics = score_best_checkpoint(cli.trainer, cli.model, cli.datamodule)
    assert {"test/ua", "test/wa", "test/f1"} <= set(metrics)
    tested = cli.model.state_dict()
    weights = [k for k in ckpt["state_dict"] if k.endswith("weight")]
    assert all(torch.equal(tested[k], ckpt["state_dict"][k]) for k in weights)
    assert any(not torch.equal(tested[k], ckpt["current_model_state"][k]) for k in weights)


def test_lightnings_cloud_logger_tip_is_dropped_and_its_other_lines_kept():
    import logging

    import ser_zoo.lit.cli  # noqa: F401  (installs the filter)

    heard: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: heard.append(record.getMessage())
    log = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    log.addHandler(handler)
    try:
        log.warning("💡 Tip: For seamless cloud logging and experiment tracking, try installing [litlogger]")
        log.warning("GPU available: False, used: False")
    finally:
        log.removeHandler(handler)
    assert heard == ["GPU available: False, used: False"]


def test_the_command_answers_help_and_typos_without_loading_torch():
    """``ser-zoo --help`` and a mistyped option are instant: the entry point and the package's top level
    import neither torch nor Lightning (the model and zoo API load on first use)."""
    import subprocess
    import sys

    probe = (
        "import sys, ser_zoo, ser_zoo.cli as cli\n"
        "try:\n    code = cli.main(['--help'])\nexcept SystemExit as e:\n    code = e.code\n"
        "assert code in (0, None), code\n"
        "heavy = sorted(m for m in ('torch', 'lightning', 'timm', 'torchaudio') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
        "assert callable(ser_zoo.create_model) and 'torch' in sys.modules\n"  # the API still there, on use
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage: ser-zoo" in done.stdout + done.stderr


def test_trainers_built_in_process_do_not_warn_about_the_command_line(tmp_path, monkeypatch):
    """The bench builds each fold's trainer from words it composed while sys.argv holds ``bench ...``:
    Lightning's warning about getting both is noise in every fold's log."""
    import warnings

    from test_own_data import make_tree

    from ser_zoo.lit.cli import build_cli

    tree = make_tree(tmp_path / "calls", speakers=("ann", "bob", "cy"), per=2)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.argv", ["ser-zoo", "bench", "--suite", "x.yaml"])
    words = ["--data.corpora", str(tree), "--data.protocol", "loso", "--model.model", "mel_cnn"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cli = build_cli(words, run=False)
    assert cli.model.hparams.model == "mel_cnn"
    assert not [w for w in caught if "args parameter" in str(w.message)]


@pytest.mark.parametrize(
    "argv, said",
    [
        (["infr", "x.wav"], "ser-zoo: error: argument COMMAND: invalid choice: 'infr' (choose from"),
        (["zoo", "lst"], "ser-zoo zoo: error: argument ACTION: invalid choice: 'lst'"),
        (
            ["infer", "--batch_size", "abc", "x.wav"],
            "ser-zoo infer: error: argument --batch_size: invalid int",
        ),
    ],
)
def test_argparse_errors_are_one_line_with_the_nearest_choice(argv, said, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    [line] = capsys.readouterr().err.strip().splitlines()  # no usage block before it
    assert line.startswith(said) and line.endswith("--help says more")
    if argv[0] == "infr":
        assert "did you mean infer?" in line
