"""``ser-zoo bench``: run each model on every fold of a protocol and append one CSV row per finished fold.

A model is a recipe (a path, ``configs/x.yaml``, or a shipped recipe's name), a registered model name (library
defaults plus the front-end the model declares) or a scikit-learn baseline name. Rows are written as soon as a
fold finishes, so a killed run loses only the fold in flight, and a rerun skips every (model, fold) whose row
in the CSV is complete. ``--data.corpora`` (your own folders and manifests, with ``--data.label_map`` and
``--data.folds``) runs the generic protocols on your data; their rows go to a CSV of their own
(``bench_data.py``).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
import warnings
from pathlib import Path
from typing import Iterator, Optional, Sequence

from ..data.splits import get_protocol
from ..errors import ConfigError, RunsFailed
from ..recipes import recipe_files
from ..stopping import stop_requested
from ..suggest import hint
from .bench_data import BenchData, bench_data, data_root
from .fold_resume import fold_runs, join_metrics, record_args, resume_point, set_metrics_aside
from .report import write_report
from .results import append_row, completed, result_row, results_path

log = logging.getLogger("ser_zoo")


def is_recipe(spec: str) -> bool:
    return spec.endswith((".yaml", ".yml"))


def model_label(spec: str) -> str:
    """A model's name in the CSV: a recipe's file stem, else the spec as given."""
    return Path(spec).stem if is_recipe(spec) else spec


def resolve_model(spec: str) -> str:
    """A model as the runner takes it: a recipe's name becomes its file (``configs/<name>.yaml`` in a
    checkout); a recipe path, a model name and a baseline stay as given. A registered model name wins over a
    recipe of the same name."""
    if is_recipe(spec) or is_baseline(spec) or "/" in spec:  # timm/<name>: its own errors say what is wrong
        return spec
    from ..models import model_entry

    try:
        model_entry(spec)
        return spec
    except ConfigError:
        shipped = recipe_files().get(spec)
        if shipped is None:
            from ..models import list_models

            near = hint(spec, [*list_models(), *recipe_files()], n=4)
            raise ConfigError(
                f"unknown model '{spec}': not a registered model, a shipped recipe or a baseline; "
                f"{near}ser-zoo models and ser-zoo recipes list them"
            ) from None
    local = Path("configs") / shipped.name
    return str(local) if local.is_file() and local.resolve() == shipped.resolve() else str(shipped)


@contextlib.contextmanager
def _own_run_folder() -> Iterator[None]:
    """Without Lightning's warnings that a fold's run or checkpoint folder "exists and is not empty": the
    runner wrote its bench_args.json there, or resumes the fold in its own folder (rows set aside), on
    purpose."""
    with warnings.catch_warnings():
        for folder in ("Experiment logs", "Checkpoint"):
            warnings.filterwarnings("ignore", message=f"{folder} directory .* exists and is not empty")
        yield


@_own_run_folder()
def _lightning_fold(
    spec: str,
    protocol: str,
    fold: int,
    classes: Optional[str],
    out: Path,
    max_epochs: Optional[int],
    root: Optional[str],
    overrides: Sequence[str],
) -> dict:
    """Fit and test one fold through LightningCLI, as ``ser-zoo fit`` and ``test`` would."""
    from ..lit.best_checkpoint import score_best_checkpoint
    from ..lit.cli import build_cli

    args = ["--config", spec] if is_recipe(spec) else ["--model.model", spec]
    args += [
        "--data.protocol",
        protocol,
        "--data.fold",
        str(fold),
        "--trainer.logger.init_args.save_dir",
        str(Path("runs") / "bench" / protocol),
        "--trainer.logger.init_args.name",
        f"{model_label(spec)}-fold{fold}",
    ]
    if classes:
        args += ["--data.classes", classes]
    if max_epochs:
        args += ["--trainer.max_epochs", str(max_epochs)]
    if root:
        args += ["--data.root", root]
    args += overrides
    point = resume_point(fold_runs(protocol, model_label(spec), fold), args)
    resume = ["--trainer.logger.init_args.version", str(point.version)] if point else []
    progress = ["--trainer.enable_progress_bar", str(sys.stderr.isatty()).lower()]
    cli = build_cli([*args, *progress, *resume], run=False)
    model, dm, trainer = cli.model, cli.datamodule, cli.trainer
    record_args(trainer.log_dir, args)
    if point:
        log.warning(f"bench: {model_label(spec)} fold {fold} resumes from {point.checkpoint}")
    start = time.time()
    if point:
        set_metrics_aside(trainer.log_dir)
    trainer.fit(model, datamodule=dm, ckpt_path=str(point.checkpoint) if point else None)
    seconds = time.time() - start + (point.seconds_before if point else 0.0)
    chooser = trainer.checkpoint_callback  # its validation UA at the tested epoch: to choose recipes by
    score = chooser.best_model_score if chooser.monitor == "val/ua" else None
    metrics = score_best_checkpoint(trainer, model, dm)
    join_metrics(trainer.log_dir)  # after the logger's last write: it knows only the keys it logged itself
    import torch

    return {
        "wa": metrics["test/wa"],
        "ua": metrics["test/ua"],
        "f1": metrics["test/f1"],
        "recall": model.test_results["per_class_recall"],
        "confusion": model.test_results["confusion_matrix"],
        "val_ua": None if score is None else float(score),
        "epochs": trainer.current_epoch,
        "train_seconds": round(seconds, 1),
        "params": sum(p.numel() for p in model.net.parameters()),
        "n_test": len(dm.stage_clips("test")),
        "test_speakers": " ".join(sorted({c.speaker for c in dm.stage_clips("test")})),
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
        "config": " ".join([spec, *overrides]) + (f" max_epochs={max_epochs}" if max_epochs else ""),
        "class_names": dm.class_names,
    }


def _baseline_fold(spec: str, protocol: str, fold: int, data: BenchData, root: Optional[str]) -> dict:
    from ..models.classical import parse_baseline_spec, run_baseline

    name, features, vad, speaker_norm = parse_baseline_spec(spec)
    start = time.time()
    r = run_baseline(
        name,
        protocol,
        fold,
        root=root,
        features=features,
        vad_trim=vad,
        data=data.datamodule_kwargs(),
        speaker_norm=speaker_norm,
    )
    return {
        **r,
        "train_seconds": round(time.time() - start, 1),
        "epochs": "",
        "device": "cpu",
        "config": f"baseline {name} features={features}"
        + (" vad_trim" if vad else "")
        + (" speaker_norm" if speaker_norm else ""),
    }


def is_baseline(spec: str) -> bool:
    """A baseline name, with its features and VAD trim if any: ``svm``, ``mlp:stats+mfcc_mean+pitch:vad``."""
    try:
        from ..models.classical import BASELINES, parse_baseline_spec
    except ImportError:
        return False
    return not is_recipe(spec) and parse_baseline_spec(spec)[0] in BASELINES


def check_models(models: Sequence[str]) -> None:
    """Fail on an unknown model, baseline feature or missing recipe before any training starts."""
    for spec in models:
        if is_baseline(spec):
            from ..models.classical import check_features, parse_baseline_spec

            check_features(parse_baseline_spec(spec)[1])
        elif is_recipe(spec):
            if not Path(spec).is_file():
                raise ConfigError(f"recipe not found: {spec}; ser-zoo recipes lists the shipped ones")
        else:
            from ..models import model_entry

            model_entry(spec)


def fold_data(protocol: str, root: Optional[str], data: BenchData = BenchData()):
    """The data module of fold 0 (clip table only, no audio decoded): the folds and classes a run has."""
    from ..data.datamodule import SERDataModule

    return SERDataModule(root=root, protocol=protocol, **data.datamodule_kwargs())


def every_fold(protocol: str, root: Optional[str], data: BenchData = BenchData()) -> range:
    """The folds of a protocol on the corpora it runs on (some protocols have one fold per speaker)."""
    return range(fold_data(protocol, root, data).fold_count())


def run_bench(
    protocol: str,
    models: Sequence[str],
    folds: Optional[Sequence[int]] = None,
    out: str | Path = "benchmarks/results",
    classes: Optional[str] = None,
    max_epochs: Optional[int] = None,
    root: Optional[str] = None,
    overrides: Sequence[str] = (),
    suite: str = "",
) -> list[Path]:
    """Run every (model, fold) not yet in its CSV; returns the CSVs written (one per protocol and data).

    ``classes`` is a class-set name or a comma-separated list of labels; ``overrides`` are LightningCLI words,
    whose ``--data.corpora``, ``--data.label_map`` and ``--data.folds`` the runner reads too. ``suite`` names
    the suite file the run belongs to; it is written in every row beside the commit."""
    get_protocol(protocol)
    root = data_root(root, overrides)
    models = [resolve_model(m) for m in models]
    check_models(models)
    out = Path(out)
    paths: list[Path] = []
    failures: list[str] = []
    for spec in models:
        data = bench_data(overrides, spec if is_recipe(spec) else None, classes)
        facts = fold_data(protocol, root, data)
        classes_label = data.classes_label()
        path = results_path(out, protocol, classes_label, data.tag(protocol))
        paths += [path] if path not in paths else []
        label = model_label(spec)
        for fold in range(facts.fold_count()) if folds is None else folds:
            if (label, str(fold)) in completed(path):
                log.warning(f"bench: {label} fold {fold} already in {path}; skipped")
                continue
            try:
                if is_baseline(spec):
                    r = _baseline_fold(spec, protocol, fold, data, root)
                else:
                    cli_classes = None if classes is None else _cli_value(data.classes)
                    r = _lightning_fold(spec, protocol, fold, cli_classes, out, max_epochs, root, overrides)
            except Exception as e:  # one failing run must not cost the queue behind it (Ctrl-C still stops)
                if stop_requested():  # its workers died of the SIGTERM that stops the whole job
                    raise KeyboardInterrupt("SIGTERM") from e
                failures.append(failed_run(protocol, label, fold, e))
                log.error(f"bench: {failures[-1]}; no row written, the next run goes on")
                continue
            row_classes = classes_label or get_protocol(protocol).classes or "labels"
            row = result_row(protocol, row_classes, label, fold, r, suite=suite)
            append_row(path, row, facts.class_names)
            print(
                f"[{protocol}] {label} fold {fold}: WA {r['wa']:.4f} UA {r['ua']:.4f} F1 {r['f1']:.4f} "
                f"({r['train_seconds']} s) -> {path}",
                flush=True,
            )
            write_report(out)
    if failures:
        raise RunsFailed(failures)
    return paths


def failed_run(protocol: str, label: str, fold, e: BaseException) -> str:
    """``ravdess-6fold mel_cnn fold 2: RuntimeError: ...`` (the error's first line)."""
    first = (str(e).strip().splitlines() or [""])[0]
    return f"{protocol} {label} fold {fold}: {type(e).__name__}: {first}"


def _cli_value(classes) -> str:
    """Bench's ``--classes`` as a ``--data.classes`` value: a set name, or a YAML list of labels."""
    return classes if isinstance(classes, str) else "[" + ", ".join(classes) + "]"
