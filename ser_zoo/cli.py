"""``ser-zoo``: one entry point for training (LightningCLI) and the tools around it.

``fit``, ``validate``, ``test`` and ``predict`` go to the LightningCLI in ``ser_zoo.lit.cli``, so the
SERModule and SERDataModule signatures are the config schema. Every other sub-command is a ``Command`` in
``COMMANDS``: a function that adds its arguments and a handler that calls the library with keyword arguments.
Handlers import the library when they run, so a command loads only what it uses.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Callable, NoReturn, Optional, Sequence

from .errors import ConfigError, RunsFailed, SerZooError
from .stopping import exit_status, sigterm_as_ctrl_c, stop_cause, stop_requested
from .suggest import hint
from .zoo_paths import DEFAULT_MODEL, DEFAULT_RECIPE, DEMO_EPOCHS

#: a handler gets the parsed arguments and the ones no parser knew (bench and demo pass them to LightningCLI)
Handler = Callable[[argparse.Namespace, list[str]], Optional[int]]


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``arguments`` of a command that takes none."""


@dataclass(frozen=True)
class Command:
    """One sub-command: a one-line ``help``, the ``arguments`` it adds, and the handler that ``run``s it, or
    ``actions``: sub-commands of its own (``ser-zoo data summary``)."""

    help: str
    run: Optional[Handler] = None
    arguments: Callable[[argparse.ArgumentParser], None] = _no_arguments
    description: Optional[str] = None  # the longer text of ``ser-zoo NAME --help``; default: ``help``
    actions: dict[str, Command] = field(default_factory=dict)
    overrides: bool = False  # the arguments no parser knows go to LightningCLI (bench, demo); else refused


#: LightningCLI's sub-commands: ``main`` hands them to ``build_cli`` before any parsing here
TRAINING = {
    "fit": "train a model on one fold of a protocol",
    "validate": "score a model on a fold's validation speakers",
    "test": "score a model on a fold's test speakers",
    "predict": "write per-clip class probabilities of a fold",
}

MODEL_HELP = "zoo name (ser-zoo zoo list), hf-hub:ORG/NAME, a .safetensors path or a .ckpt from ser-zoo fit"
DEFAULT_MODEL_HELP = f"{MODEL_HELP} (default: {DEFAULT_MODEL}, shipped in the package)"
ROOT_HELP = "data root (default: $SER_ZOO_DATA or ../shared/data)"
RESULTS = "benchmarks/results"


# data


def _data_summary_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", default=None, help=ROOT_HELP)


def _data_summary(args: argparse.Namespace, extra: list[str]) -> None:
    from .data.clips import default_data_root
    from .data.summary import format_summary, summarize

    root = args.root or default_data_root()
    summary = summarize(root)
    if not summary:
        raise SerZooError(f"no corpus folders (ravdess/, crema_d/, tess/, savee/) under {root}; check --root")
    print(f"data root: {root}\n{format_summary(summary)}")


def _data_download_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name")
    parser.add_argument("--root", required=True)
    parser.add_argument(
        "--url", default=None, help="mirror URL or local archive instead of the official source"
    )
    parser.add_argument("--checksum", default=None, help="sha256:<hex> or md5:<hex> to verify against")
    parser.add_argument("--force", action="store_true")


def _data_download(args: argparse.Namespace, extra: list[str]) -> None:
    from .data.download import download_corpus

    path = download_corpus(
        name=args.name, root=args.root, url=args.url, checksum=args.checksum, force=args.force
    )
    print(f"{args.name}: ready at {path}")


def _data_protocols(args: argparse.Namespace, extra: list[str]) -> None:
    from .data.splits import PROTOCOLS

    for p in PROTOCOLS.values():
        tag = "speaker-independent" if p.speaker_independent else "NOT speaker-independent"
        print(f"{p.name:<15} {tag:<24} {p.classes or 'the data':<10} {p.description}")


def _yaml_value(text: str, flag: str):
    """A YAML flow value of the command line (``[a, b]``, ``{joy: happy}``)."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(
            f"{flag} {text!r} is not YAML ({str(e).splitlines()[0]}); e.g. '{{joy: happy}}'"
        ) from None


def _listed(values: Optional[list[str]], flag: str) -> Optional[list[str]]:
    """``a b`` or ``[a, b]`` as a list."""
    if values and len(values) == 1 and values[0].lstrip().startswith("["):
        return [str(v) for v in _yaml_value(values[0], flag)]
    return values


def _label_map(text: Optional[str]) -> Optional[dict[str, str]]:
    if text is None:
        return None
    value = _yaml_value(text, "--data.label_map")
    if not isinstance(value, dict):
        raise ConfigError(f"--data.label_map {text!r}: give a mapping, e.g. '{{joy: happy, anger: angry}}'")
    return {str(k): str(v) for k, v in value.items()}


def _data_options(parser: argparse.ArgumentParser, corpora_flag: bool) -> None:
    """The ``--data.*`` options of ``data check`` and ``evaluate``, named as in ``ser-zoo fit``."""
    if corpora_flag:
        parser.add_argument(
            "--data.corpora",
            dest="corpora",
            nargs="+",
            required=True,
            metavar="CORPUS",
            help="your folders (label/[speaker/]*.wav) or manifests (CSV/TSV/JSONL), and built-in names",
        )
    parser.add_argument("--data.root", "--root", dest="root", default=None, help=ROOT_HELP)
    parser.add_argument(
        "--data.label_map", "--label_map", dest="label_map", default=None, help="e.g. '{joy: happy}'"
    )
    parser.add_argument(
        "--data.classes", "--classes", dest="classes", nargs="+", default=None, help="default: every label"
    )
    parser.add_argument("--data.protocol", "--protocol", dest="protocol", default=None)
    parser.add_argument(
        "--data.folds", "--folds", dest="folds", type=int, default=None, help="of speaker-kfold"
    )
    parser.add_argument("--format", default="table", choices=["table", "json"])


def _data_check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("corpora", nargs="+", metavar="PATH", help="folders, manifests or built-in names")
    _data_options(parser, corpora_flag=False)
    parser.add_argument("--min_seconds", type=float, default=0.5, help="clips shorter than this are flagged")


def _data_check(args: argparse.Namespace, extra: list[str]) -> int:
    from .data.check import check_data, format_check

    report = check_data(
        corpora=args.corpora,
        root=args.root,
        label_map=_label_map(args.label_map),
        classes=_listed(args.classes, "--data.classes"),
        protocol=args.protocol,
        folds=args.folds or 5,
        min_seconds=args.min_seconds,
        progress=sys.stderr.isatty(),
    )
    print(format_check(report, args.format))
    return 0 if report["ok"] else 1


# models, bench, leaderboard


def _models(args: argparse.Namespace, extra: list[str]) -> None:
    from .models import model_table

    print(model_table())


def _bench_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--suite",
        nargs="+",
        default=None,
        metavar="FILE",
        help="a benchmark suite (benchmarks/suites/*.yaml): its protocol, folds, models and schedule; "
        "instead of --protocol and --models. Several run one after another, every file checked first",
    )
    parser.add_argument("--protocol", default=None)
    parser.add_argument(
        "--models",
        nargs="+",
        default=None,
        help="recipes (configs/x.yaml or a shipped recipe's name), registered model names or baseline names",
    )
    parser.add_argument("--folds", nargs="*", type=int, default=None, help="default: every fold")
    parser.add_argument(
        "--classes",
        default=None,
        help="class set (emotions6/7/8) or your labels, comma-separated; default: the protocol's, or every "
        "label of your data",
    )
    parser.add_argument(
        "--out", default=None, help=f"folder of the CSVs (default: {RESULTS}, or the suite's own out)"
    )
    parser.add_argument("--max_epochs", type=int, default=None, help="override the recipes' schedule")
    parser.add_argument("--root", default=None, help=ROOT_HELP)
    parser.add_argument(
        "--dry_run", action="store_true", help="with --suite: say what would run, and train nothing"
    )


def _bench(args: argparse.Namespace, extra: list[str]) -> None:
    if args.suite is not None:
        _bench_suite(args, extra)
        return
    if args.protocol is None or args.models is None:
        raise ConfigError("bench needs --protocol and --models, or --suite FILE")
    if args.dry_run:
        raise ConfigError("--dry_run goes with --suite FILE")
    from .bench import run_bench

    run_bench(
        protocol=args.protocol,
        models=args.models,
        folds=args.folds,
        out=args.out or RESULTS,
        classes=args.classes,
        max_epochs=args.max_epochs,
        root=args.root,
        overrides=extra,
    )


def _bench_suite(args: argparse.Namespace, extra: list[str]) -> None:
    """A suite is the whole schedule of its results: settings from the command line would change them."""
    given = {
        "--protocol": args.protocol,
        "--models": args.models,
        "--folds": args.folds,
        "--classes": args.classes,
        "--max_epochs": args.max_epochs,
    }
    clashes = [flag for flag, value in given.items() if value is not None] + extra
    if clashes:
        raise ConfigError(
            f"--suite {' '.join(args.suite)} names its protocol, folds, models and schedule itself; "
            f"drop {' '.join(clashes)} (or edit the suite)"
        )
    from .bench.suite import run_suites

    run_suites(args.suite, out=args.out, root=args.root, dry_run=args.dry_run)


def _leaderboard_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default=RESULTS)


def _leaderboard(args: argparse.Namespace, extra: list[str]) -> None:
    from .bench.report import write_report

    print(f"wrote {write_report(out=args.out)}")


# using a trained model: infer, listen, export


def _infer_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=DEFAULT_MODEL_HELP)
    parser.add_argument("--format", default="table", choices=["table", "csv", "json"])
    parser.add_argument("--out", default=None, help="write the results here instead of stdout")
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument(
        "--window", type=float, default=None, help="seconds per window: timeline of one long file"
    )
    parser.add_argument("--hop", type=float, default=1.0, help="seconds between windows")
    parser.add_argument("--plot", default=None, help="PNG of emotion probabilities over time (with --window)")
    parser.add_argument(
        "--vad",
        action="store_true",
        help="classify only the speech segments Silero VAD finds (needs ser-zoo[pretrained])",
    )
    parser.add_argument(
        "--max_segment", type=float, default=10.0, help="with --vad: longer segments are split"
    )
    parser.add_argument(
        "--speaker_by",
        default=None,
        choices=["folder", "all"],
        help="for a speaker-normalised model (general6_spknorm), which files share a voice and are "
        "classified together: folder (default: each parent folder one speaker) or all (one speaker)",
    )
    _speech_gate_argument(parser, "file or window")


def _speech_gate_argument(
    parser: argparse.ArgumentParser,
    what: str,
    then: str = "says 'no speech' and the VAD's evidence instead of an emotion",
    off: str = "raw model output",
) -> None:
    """``--speech_gate`` of infer, listen and adapt: what happens where Silero VAD hears no speech."""
    parser.add_argument(
        "--speech_gate",
        default="auto",
        choices=["auto", "on", "off"],
        help=f"a {what} without speech (Silero VAD) {then}; auto: on when silero-vad is installed "
        f"(ser-zoo[pretrained]), off: {off}",
    )


def _infer(args: argparse.Namespace, extra: list[str]) -> int:
    from .infer import run_infer

    return run_infer(
        inputs=args.inputs,
        model_spec=args.model,
        fmt=args.format,
        out=args.out,
        batch_size=args.batch_size,
        window=args.window,
        hop=args.hop,
        plot=args.plot,
        vad=args.vad,
        max_segment=args.max_segment,
        speech_gate=args.speech_gate,
        speaker_by=args.speaker_by,
    )


def _listen_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=DEFAULT_MODEL, help=DEFAULT_MODEL_HELP)
    parser.add_argument(
        "--window",
        type=float,
        default=None,
        help="seconds classified each time (default: the clip length the model was trained on; 3 s for a "
        "speaker-normalised model)",
    )
    parser.add_argument("--hop", type=float, default=1.0, help="seconds between results")
    parser.add_argument(
        "--device", default=None, help="input device index or name (python -m sounddevice lists them)"
    )
    parser.add_argument(
        "--seconds", type=float, default=None, help="stop after this long (default: until Ctrl-C)"
    )
    _speech_gate_argument(parser, "window")


def _listen(args: argparse.Namespace, extra: list[str]) -> int:
    from .listen import run_listen

    return run_listen(
        model_spec=args.model,
        window=args.window,
        hop=args.hop,
        device=args.device,
        seconds=args.seconds,
        speech_gate=args.speech_gate,
    )


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help=MODEL_HELP)
    parser.add_argument("--format", default="onnx", help="onnx")
    parser.add_argument("--out", required=True, help="the .onnx file to write")
    parser.add_argument(
        "--seconds", type=float, default=None, help="clip length of the input (default: the model's)"
    )


def _export(args: argparse.Namespace, extra: list[str]) -> int:
    from .export import run_export

    return run_export(model_spec=args.model, fmt=args.format, out=args.out, seconds=args.seconds)


def _adapt_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "inputs", nargs="+", help="audio files, folders or globs of the new set-up (no labels)"
    )
    parser.add_argument("--model", default=DEFAULT_MODEL, help=DEFAULT_MODEL_HELP)
    parser.add_argument("--out", required=True, help="the adapted .ckpt to write (then: --model OUT)")
    parser.add_argument("--batch_size", type=int, default=16)
    _speech_gate_argument(parser, "file", "is left out of the statistics", "every readable file counts")


def _adapt(args: argparse.Namespace, extra: list[str]) -> int:
    from .adapt import adapt_files
    from .speech_gate import resolve_gate

    gate, note = resolve_gate(args.speech_gate)
    if note:
        print(note, file=sys.stderr)
    done = adapt_files(args.model, args.inputs, args.out, batch_size=args.batch_size, speech_gate=gate)
    for path, reason in done.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    for path, reason in done.no_speech:
        print(f"left out {path}: {reason}", file=sys.stderr)
    print(
        f"wrote {args.out}: {args.model} with its BatchNorm statistics re-estimated on {done.clips} clip(s) "
        f"({done.windows} training-length windows; AdaBN, no labels); use it with --model {args.out}"
    )
    return 1 if done.skipped else 0


def _evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help=MODEL_HELP)
    _data_options(parser, corpora_flag=True)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--out", default=None, help="write the report here instead of stdout")


def _evaluate(args: argparse.Namespace, extra: list[str]) -> int:
    from .evaluate import run_evaluate

    return run_evaluate(
        fmt=args.format,
        out=args.out,
        model_spec=args.model,
        corpora=_listed(args.corpora, "--data.corpora"),
        root=args.root,
        protocol=args.protocol,
        folds=args.folds,
        classes=_listed(args.classes, "--data.classes"),
        label_map=_label_map(args.label_map),
        batch_size=args.batch_size,
    )


def _calibrate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ckpt", help="a .ckpt from ser-zoo fit or bench (its saved data settings are reused)")
    parser.add_argument(
        "--out", default=None, help="the calibrated .ckpt (default: CKPT's name + -calibrated, beside it)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    parser.add_argument("--root", default=None, help=ROOT_HELP)
    parser.add_argument("--batch_size", type=int, default=None, help="default: the checkpoint's")
    parser.add_argument("--device", default=None, help="default: cuda when available, else cpu")


def _calibrate(args: argparse.Namespace, extra: list[str]) -> int:
    from .calibrate import run_calibrate

    return run_calibrate(
        args.ckpt,
        out=args.out,
        overwrite=args.overwrite,
        root=args.root,
        batch_size=args.batch_size,
        device=args.device,
    )


# zoo, demo


def _zoo_list(args: argparse.Namespace, extra: list[str]) -> None:
    from .zoo import list_zoo
    from .zoo.checkpoints import zoo_table

    cards = list_zoo()
    print("\n".join(zoo_table(cards)) if cards else "no zoo checkpoints yet")


def _zoo_card_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="zoo name, hf-hub:ORG/NAME, or a .safetensors/.json path")


def _zoo_card(args: argparse.Namespace, extra: list[str]) -> None:
    from .weights import load_card
    from .zoo.checkpoints import model_card_markdown

    print(model_card_markdown(load_card(args.name)).rstrip())


def _zoo_download_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="+", metavar="NAME", help="zoo names, or all")


def _zoo_download(args: argparse.Namespace, extra: list[str]) -> None:
    from .weights import list_pretrained, resolve
    from .zoo_paths import zoo_home

    names = list_pretrained() if "all" in args.names else args.names
    for name in names:
        weights, _ = resolve(name, verify_cached=True)
        print(f"{name}: {weights}")
    print(f"cache: {zoo_home()} ($SER_ZOO_HOME); these load offline from now on")


def _zoo_push_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="zoo name or a .safetensors path with its .json card beside it")
    parser.add_argument("--repo-id", "--repo_id", dest="repo_id", required=True, help="ORG/NAME on the Hub")
    parser.add_argument("--private", action="store_true", help="create the repository private")
    parser.add_argument("--token", default=None, help="Hub token (default: HF_TOKEN or the saved login)")
    parser.add_argument("--revision", default=None, help="branch to commit to (default: main)")


def _zoo_push(args: argparse.Namespace, extra: list[str]) -> None:
    from .zoo.push import push_checkpoint

    url = push_checkpoint(
        args.name, repo_id=args.repo_id, private=args.private, token=args.token, revision=args.revision
    )
    print(f"pushed {args.name} to {url}; load it with hf-hub:{args.repo_id}")


def _recipes(args: argparse.Namespace, extra: list[str]) -> None:
    from .recipes import recipe_table

    print("\n".join(recipe_table()))


def _zoo_export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ckpt")
    parser.add_argument("--name", required=True)
    parser.add_argument(
        "--out", default=None, help="default: a source checkout's checkpoints/, else ./checkpoints"
    )
    parser.add_argument("--fp32", action="store_true", help="keep fp32 weights (default fp16)")
    parser.add_argument(
        "--card", default=None, help="JSON file with card fields: data, protocol, metrics, config, command"
    )


def _zoo_export(args: argparse.Namespace, extra: list[str]) -> None:
    import json
    from pathlib import Path

    from .zoo import export_checkpoint

    card = json.loads(Path(args.card).read_text()) if args.card else None
    path = export_checkpoint(
        ckpt_path=args.ckpt, name=args.name, out_dir=args.out, fp16=not args.fp32, card_extra=card
    )
    print(f"wrote {path} and its card")


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        default=None,
        help=f"a recipe's name or path (default: {DEFAULT_RECIPE}, the fast default)",
    )
    parser.add_argument(
        "--max_epochs", type=int, default=None, help=f"epochs of the short run (default: {DEMO_EPOCHS})"
    )


def _demo(args: argparse.Namespace, extra: list[str]) -> None:
    from .demo import run_demo

    run_demo(config=args.config, max_epochs=args.max_epochs, overrides=extra)


COMMANDS: dict[str, Command] = {
    "adapt": Command(
        "adapt a model to your recording set-up from unlabelled audio (AdaBN)",
        _adapt,
        _adapt_arguments,
        description="re-estimate a model's BatchNorm statistics on unlabelled audio of a new set-up (AdaBN) "
        "and write the adapted checkpoint",
    ),
    "bench": Command(
        "run models or a suite on the folds of a protocol",
        _bench,
        _bench_arguments,
        description="run models on every fold of a protocol, or a benchmark suite; one CSV row per "
        "model x fold, resumable. Other --trainer.*/--model.*/--data.* words go to each fold's LightningCLI; "
        "--data.corpora PATH (your folders or manifests, with --data.label_map and --data.folds) runs "
        "speaker-kfold, loso, given-split or random-split on your own data, into a CSV of its own",
        overrides=True,
    ),
    "calibrate": Command(
        "fit a checkpoint's temperature on its validation speakers",
        _calibrate,
        _calibrate_arguments,
        description="temperature scaling: fit one temperature on the checkpoint's validation speakers, "
        "report ECE and NLL before and after (validation and test), write a calibrated copy",
    ),
    "data": Command(
        "corpora: summary, download, protocols, check",
        description="inspect, fetch or check corpora (built-in ones, and your own folders and manifests)",
        actions={
            "summary": Command(
                "clips, speakers and hours per corpus and emotion", _data_summary, _data_summary_arguments
            ),
            "download": Command(
                "fetch a corpus from its official source", _data_download, _data_download_arguments
            ),
            "protocols": Command("list the evaluation protocols", _data_protocols),
            "check": Command(
                "counts, durations, rates and faults of a corpus, before training",
                _data_check,
                _data_check_arguments,
                description="per-label and per-speaker counts, durations and sample rates; unreadable, "
                "silent, too short and clipped files; identical audio under two labels; what blocks or "
                "weakens the protocol. Exits 1 only where training cannot proceed",
            ),
        },
    ),
    "demo": Command(
        "train and test the default recipe briefly",
        _demo,
        _demo_arguments,
        description="train and test the default recipe on real data for a short schedule; any other "
        "--trainer.*/--model.*/--data.* words override the recipe, as in ser-zoo fit (--data.fold 1)",
        overrides=True,
    ),
    "evaluate": Command(
        "zero-shot scores of a trained model on labelled clips",
        _evaluate,
        _evaluate_arguments,
        description="WA, UA and macro-F1 of a trained model on your labelled clips before any training, on "
        "the classes the model and the data share (per fold with --data.protocol)",
    ),
    "export": Command(
        "a model as an ONNX file",
        _export,
        _export_arguments,
        description="a model as an ONNX file (front-end included where it exports)",
    ),
    "infer": Command(
        "emotions of audio files, folders or globs",
        _infer,
        _infer_arguments,
        description="emotions of audio files, folders or globs, or a timeline of one recording",
    ),
    "leaderboard": Command(
        "rebuild LEADERBOARD.md and plots from bench CSVs", _leaderboard, _leaderboard_arguments
    ),
    "listen": Command(
        "emotion of live microphone input",
        _listen,
        _listen_arguments,
        description="emotion of live microphone input, every hop over a rolling window",
    ),
    "models": Command("registered models: source, licence, front-end", _models),
    "recipes": Command(
        "the shipped training recipes (ser-zoo fit --config NAME)",
        _recipes,
        description="the training recipes shipped in the package: ser-zoo fit --config NAME (or a path)",
    ),
    "zoo": Command(
        "published checkpoints: list, card, download, export, push",
        description="published checkpoints",
        actions={
            "list": Command("the zoo checkpoints and their headline numbers", _zoo_list),
            "card": Command(
                "one checkpoint's model card: data, protocol, metrics, licence, how to reproduce",
                _zoo_card,
                _zoo_card_arguments,
            ),
            "download": Command(
                "fetch zoo weights into $SER_ZOO_HOME now, for offline use later",
                _zoo_download,
                _zoo_download_arguments,
            ),
            "export": Command(
                "turn a fit .ckpt into a zoo checkpoint (safetensors + card)",
                _zoo_export,
                _zoo_export_arguments,
            ),
            "push": Command(
                "publish a zoo checkpoint on the Hugging Face Hub (weights, card, README)",
                _zoo_push,
                _zoo_push_arguments,
            ),
        },
    ),
}


TRAINING_NOTE = """\
fit, validate, test and predict are LightningCLI commands; ser-zoo fit --help
lists their options (a recipe: --config NAME, as ser-zoo recipes lists, or a path).
ser-zoo COMMAND --help describes each of the others."""


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line (the usage it prints first is ``--help``'s job), naming the nearest
    choice for a mistyped command or action; its sub-parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        chosen = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        near = hint(chosen.group(1), re.findall(r"'([^']*)'", chosen.group(2))) if chosen else ""
        self.exit(2, f"{self.prog}: error: {message}; {near}{self.prog} --help says more\n")


def build_parser() -> argparse.ArgumentParser:
    """The parser of every sub-command; the training ones are named here (so a typo's error lists them) but
    parsed by LightningCLI."""
    listing = _listing("commands", {**TRAINING, **{name: c.help for name, c in COMMANDS.items()}})
    parser = OneLineParser(
        prog="ser-zoo",
        usage="ser-zoo [-h] COMMAND ...",
        description="speech emotion recognition model zoo",
        epilog=f"{listing}\n\n{TRAINING_NOTE}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, help=argparse.SUPPRESS)
    for name in TRAINING:
        commands.add_parser(name, add_help=False)
    for name, command in COMMANDS.items():
        _add_command(commands, name, command)
    return parser


def _listing(title: str, lines: dict[str, str]) -> str:
    """Sub-commands one to a line, aligned (argparse's own list wraps a long name's help to the next line)."""
    width = max(map(len, lines)) + 2
    return f"{title}:\n" + "\n".join(f"  {name:<{width}}{text}" for name, text in lines.items())


def _add_command(commands, name: str, command: Command, parent: str = "ser-zoo") -> None:
    """Add ``command`` (and its actions) under ``commands``, the sub-parsers of ``parent``."""
    prog = f"{parent} {name}"
    description = command.description or command.help
    if not command.actions:
        parser = commands.add_parser(name, prog=prog, description=description)
        command.arguments(parser)
        parser.set_defaults(handler=command.run, command_=command, parser_=parser)
        return
    parser = commands.add_parser(
        name,
        prog=prog,
        usage=f"{prog} [-h] ACTION ...",
        description=description,
        epilog=_listing("actions", {action: a.help for action, a in command.actions.items()}),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.arguments(parser)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True, help=argparse.SUPPRESS)
    for action_name, action in command.actions.items():
        _add_command(actions, action_name, action, parent=prog)


def run_tool(argv: Sequence[str]) -> int:
    """Parse and run one of ``COMMANDS``: arguments no parser knows go to a handler that takes overrides,
    and are refused in one line, with the nearest options, by every other."""
    args, extra = build_parser().parse_known_args(argv)
    if extra and not args.command_.overrides:
        raise ConfigError(unknown_arguments(args.parser_, extra))
    return args.handler(args, extra) or 0


def unknown_arguments(parser: argparse.ArgumentParser, extra: list[str]) -> str:
    """``ser-zoo infer does not take --formt; did you mean --format? ...`` for the words ``parser`` left."""
    options = [o for a in parser._actions for o in a.option_strings if o.startswith("--") and o != "--help"]
    flag = next((w.split("=", 1)[0] for w in extra if w.startswith("-")), None)
    near = hint(flag, options, cutoff=0.75)
    return f"{parser.prog} does not take {' '.join(extra)}; {near}{parser.prog} --help lists its options"


def goes_to_lightning(first: str) -> bool:
    """LightningCLI takes its commands and its own top-level options (``-c CONFIG``, ``--print_config``)."""
    return first in TRAINING or (first.startswith("-") and first not in ("-h", "--help"))


def main(argv: Optional[Sequence[str]] = None) -> int:
    from_sys = argv is None  # LightningCLI reads sys.argv itself then (and warns when given both)
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="ser-zoo: %(message)s")
    with sigterm_as_ctrl_c():
        try:
            return run(argv, from_sys)
        except (KeyboardInterrupt, SystemExit) as e:
            if isinstance(e, SystemExit) and not stop_requested():  # --help, or Lightning's exit after Ctrl-C
                raise
            print(
                f"ser-zoo: stopped by {stop_cause()}; what finished is kept (a training run in its "
                "last.ckpt, bench rows in their CSV): rerun the same command to carry on",
                file=sys.stderr,
            )
            return exit_status()
        except RunsFailed as e:  # a batch job that went on past its failures: done, but not all of it
            print(f"ser-zoo: error: {e}", file=sys.stderr)
            return 1
        except SerZooError as e:
            print(f"ser-zoo: error: {e}", file=sys.stderr)
            return 2
        except BrokenPipeError:  # `ser-zoo zoo list | head`: the reader has what it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
            return 0


def run(argv: list[str], from_sys: bool) -> int:
    """One command: a tool of ``COMMANDS``, or LightningCLI's fit/validate/test/predict."""
    if not argv:
        build_parser().print_help(sys.stderr)
        return 2
    if not goes_to_lightning(argv[0]):
        return run_tool(argv)
    from .lit.cli import build_cli

    build_cli(None if from_sys else argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
