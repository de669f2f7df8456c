"""``ser-zoo``: LightningCLI subcommands (fit/validate/test/predict) plus data and demo tools.

The training commands are a LightningCLI, so the SERModule and SERDataModule signatures are the
config schema; the other subcommands are small tools that need no trainer.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Optional, Sequence

from .errors import SerZooError
from .lit.cli import build_cli

TOOLS = ("bench", "data", "demo", "export", "infer", "leaderboard", "listen", "models", "zoo")


def _tools_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ser-zoo", description="speech emotion recognition model zoo")
    sub = p.add_subparsers(dest="tool", required=True)
    data = sub.add_parser("data", help="inspect or fetch corpora").add_subparsers(
        dest="action", required=True
    )
    s = data.add_parser("summary", help="clips, speakers and hours per corpus and emotion")
    s.add_argument("--root", default=None, help="data root (default: $SER_ZOO_DATA or ../shared/data)")
    d = data.add_parser("download", help="fetch a corpus from its official source")
    d.add_argument("name")
    d.add_argument("--root", required=True)
    d.add_argument("--url", default=None, help="mirror URL or local archive instead of the official source")
    d.add_argument("--checksum", default=None, help="sha256:<hex> or md5:<hex> to verify against")
    d.add_argument("--force", action="store_true")
    data.add_parser("protocols", help="list the evaluation protocols")
    sub.add_parser("models", help="list registered models and their front-ends")
    demo = sub.add_parser("demo", help="train and test the default recipe on real data for a short schedule")
    demo.add_argument("--config", default=None)
    demo.add_argument("--max_epochs", type=int, default=None)
    demo.add_argument("overrides", nargs="*", help="extra LightningCLI overrides, e.g. --data.fold=1")
    b = sub.add_parser("bench", help="run models on every fold of a protocol; one CSV row per model x fold")
    b.add_argument("--protocol", required=True)
    b.add_argument(
        "--models",
        nargs="+",
        required=True,
        help="recipe paths (configs/x.yaml), registered model names or baseline names",
    )
    b.add_argument("--folds", nargs="*", type=int, default=None, help="default: every fold")
    b.add_argument("--classes", default=None, help="class set (emotions6/7/8); default: the protocol's")
    b.add_argument("--out", default="benchmarks/results")
    b.add_argument("--max_epochs", type=int, default=None, help="override the recipes' schedule")
    b.add_argument("--root", default=None, help="data root (default: $SER_ZOO_DATA or ../shared/data)")
    inf = sub.add_parser(
        "infer", help="emotions of audio files, folders or globs, or a timeline of one recording"
    )
    inf.add_argument("inputs", nargs="+")
    inf.add_argument("--model", required=True, help="zoo name, .safetensors path or a .ckpt from ser-zoo fit")
    inf.add_argument("--format", default="table", choices=["table", "csv", "json"])
    inf.add_argument("--out", default=None, help="write the results here instead of stdout")
    inf.add_argument("--batch_size", type=int, default=16)
    inf.add_argument(
        "--window", type=float, default=None, help="seconds per window: timeline of one long file"
    )
    inf.add_argument("--hop", type=float, default=1.0, help="seconds between windows")
    inf.add_argument("--plot", default=None, help="PNG of emotion probabilities over time (with --window)")
    inf.add_argument(
        "--vad",
        action="store_true",
        help="classify only the speech segments Silero VAD finds (needs ser-zoo[pretrained])",
    )
    inf.add_argument("--max_segment", type=float, default=10.0, help="with --vad: longer segments are split")
    li = sub.add_parser("listen", help="emotion of live microphone input, every hop over a rolling window")
    li.add_argument("--model", required=True, help="zoo name, .safetensors path or a .ckpt from ser-zoo fit")
    li.add_argument("--window", type=float, default=3.0, help="seconds classified each time")
    li.add_argument("--hop", type=float, default=1.0, help="seconds between results")
    li.add_argument(
        "--device", default=None, help="input device index or name (python -m sounddevice lists them)"
    )
    li.add_argument(
        "--seconds", type=float, default=None, help="stop after this long (default: until Ctrl-C)"
    )
    exp = sub.add_parser("export", help="a model as an ONNX file (front-end included where it exports)")
    exp.add_argument("--model", required=True, help="zoo name, .safetensors path or a .ckpt from ser-zoo fit")
    exp.add_argument("--format", default="onnx", help="onnx")
    exp.add_argument("--out", required=True, help="the .onnx file to write")
    exp.add_argument(
        "--seconds", type=float, default=None, help="clip length of the input (default: the model's)"
    )
    lb = sub.add_parser("leaderboard", help="rebuild LEADERBOARD.md and plots from the bench CSVs")
    lb.add_argument("--out", default="benchmarks/results")
    zoo = sub.add_parser("zoo", help="published checkpoints").add_subparsers(dest="action", required=True)
    zoo.add_parser("list", help="the zoo checkpoints and their headline numbers")
    ex = zoo.add_parser("export", help="turn a fit .ckpt into a zoo checkpoint (safetensors + card)")
    ex.add_argument("ckpt")
    ex.add_argument("--name", required=True)
    ex.add_argument("--out", default=None, help="default: the repo's checkpoints/")
    ex.add_argument("--fp32", action="store_true", help="keep fp32 weights (default fp16)")
    ex.add_argument(
        "--card", default=None, help="JSON file with card fields: data, protocol, metrics, config, command"
    )
    return p


def run_tool(argv: Sequence[str]) -> int:
    args, unknown = _tools_parser().parse_known_args(argv)
    if args.tool == "data" and args.action == "summary":
        from .data.datamodule import default_data_root
        from .data.summary import format_summary, summarize

        root = args.root or default_data_root()
        summary = summarize(root)
        if not summary:
            raise SerZooError(
                f"no corpus folders (ravdess/, crema_d/, tess/, savee/) under {root}; check --root"
            )
        print(f"data root: {root}\n{format_summary(summary)}")
    elif args.tool == "data" and args.action == "download":
        from .data.download import download_corpus

        path = download_corpus(args.name, args.root, url=args.url, checksum=args.checksum, force=args.force)
        print(f"{args.name}: ready at {path}")
    elif args.tool == "data" and args.action == "protocols":
        from .data.splits import PROTOCOLS

        for p in PROTOCOLS.values():
            tag = "speaker-independent" if p.speaker_independent else "NOT speaker-independent"
            print(f"{p.name:<15} {tag:<24} {p.classes:<10} {p.description}")
    elif args.tool == "models":
        from .models import list_models, model_entry

        for name in list_models():
            e = model_entry(name)
            print(f"{name:<20} {e.source:<9} {e.description}\n{'':<20} front-end {e.frontend}")
        from .models.classical import BASELINES, DEFAULT_FEATURES

        print(
            f"\nscikit-learn baselines on clip vectors ({DEFAULT_FEATURES}); run with `ser-zoo bench --models NAME`:"
        )
        for name, make in sorted(BASELINES.items()):
            print(f"{name:<20} {'seeds':<9} {' '.join(repr(make()).split())}")
    elif args.tool == "bench":
        from .bench import run_bench

        run_bench(
            args.protocol,
            args.models,
            args.folds,
            args.out,
            args.classes,
            args.max_epochs,
            args.root,
            unknown,
        )
    elif args.tool == "infer":
        from .infer import run_infer

        return run_infer(
            args.inputs,
            args.model,
            args.format,
            args.out,
            args.batch_size,
            args.window,
            args.hop,
            args.plot,
            args.vad,
            args.max_segment,
        )
    elif args.tool == "listen":
        from .listen import run_listen

        return run_listen(args.model, args.window, args.hop, args.device, args.seconds)
    elif args.tool == "export":
        from .export import run_export

        return run_export(args.model, args.format, args.out, args.seconds)
    elif args.tool == "leaderboard":
        from .bench.report import write_report

        print(f"wrote {write_report(args.out)}")
    elif args.tool == "zoo" and args.action == "list":
        from .zoo import list_zoo
        from .zoo.checkpoints import zoo_table

        cards = list_zoo()
        print("\n".join(zoo_table(cards)) if cards else "no zoo checkpoints yet")
    elif args.tool == "zoo" and args.action == "export":
        import json
        from pathlib import Path

        from .zoo import export_checkpoint

        extra = json.loads(Path(args.card).read_text()) if args.card else None
        path = export_checkpoint(args.ckpt, args.name, args.out, fp16=not args.fp32, card_extra=extra)
        print(f"wrote {path} and its card")
    elif args.tool == "demo":
        from .demo import run_demo

        run_demo(args.config, args.max_epochs, list(args.overrides) + unknown)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    from_sys = argv is None  # LightningCLI reads sys.argv itself then (and warns when given both)
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="ser-zoo: %(message)s")
    try:
        if argv and argv[0] in TOOLS:
            return run_tool(argv)
        build_cli(None if from_sys else argv)
        return 0
    except SerZooError as e:
        print(f"ser-zoo: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
