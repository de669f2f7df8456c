"""Ensembles on one speaker-independent fold: each member alone, probability averaging, stacking and selection.

The members are ``ser-zoo fit`` / ``ser-zoo bench`` checkpoints trained on the same protocol and fold, and
``--baselines`` specs (scikit-learn on clip vectors, fitted here on the fold's training speakers); the stacker and
the ensemble selection's member weights are fitted on that fold's validation speakers only. Appends a table to
``--out`` (markdown) with the command, and with ``--leaderboard LABEL`` the average's, the stack's and the
selection's rows to the protocol's CSV (run it on every fold for a leaderboard mean).
A member that heard any of the fold's test speakers (a .ckpt trained on another fold, a zoo checkpoint) is refused.

    python benchmarks/ensemble_fold.py --protocol ravdess-6fold --fold 1 \
        --members runs/bench/ravdess-6fold/resnet18_ravdess-fold1/version_0/checkpoints/best-*.ckpt \
                  runs/bench/ravdess-6fold/resnet18_ravdess_aug-fold1/version_0/checkpoints/best-*.ckpt
    python benchmarks/ensemble_fold.py --protocol union-11fold --fold 0 --baselines svm:stats+mfcc_mean+pitch+ge2e:vad \
        --members resnet18_union6     # a zoo checkpoint: refused if it heard this fold's test speakers
"""

from __future__ import annotations

import argparse
import glob
import inspect
import sys
import time
from pathlib import Path
from typing import Optional

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import environment  # noqa: E402

from ser_zoo.data.datamodule import SERDataModule  # noqa: E402
from ser_zoo.errors import ConfigError  # noqa: E402
from ser_zoo.lit.safe_ckpt import load_checkpoint_file  # noqa: E402
from ser_zoo.models.ensemble import COMBINED_ROWS, BaselineMember, ensemble_table, load_members  # noqa: E402
from ser_zoo.zoo.heard import check_unheard, saved_heard_speakers  # noqa: E402


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--protocol", required=True)
    p.add_argument("--fold", type=int, required=True)
    p.add_argument("--classes", default=None)
    p.add_argument("--members", nargs="*", default=[], help=".ckpt paths (globs allowed)")
    p.add_argument(
        "--baselines", nargs="*", default=[], help="baseline specs, e.g. svm:stats+mfcc_mean+ge2e:vad"
    )
    p.add_argument("--root", default=None)
    p.add_argument("--limit_clips", type=int, default=None, help="a quick check on a few clips per stage")
    p.add_argument("--out", default="benchmarks/results/seed_zoo/ensemble.md")
    p.add_argument(
        "--leaderboard",
        default=None,
        metavar="LABEL",
        help="also append the average's, the stack's and the selection's fold rows, as models "
        "LABEL-average, LABEL-stack and LABEL-select, to the protocol's CSV under --results and "
        "regenerate LEADERBOARD.md (run every fold with the same members for a mean ± std)",
    )
    p.add_argument("--results", default="benchmarks/results")
    args = p.parse_args(argv)
    if len(args.members) + len(args.baselines) < 2:
        raise SystemExit(str(ConfigError("an ensemble needs two or more --members / --baselines")))
    paths = [(sorted(glob.glob(m)) or [m])[-1] for m in args.members]
    deep = load_members(paths)
    saved = [load_checkpoint_file(p, map_location="cpu") if p.endswith(".ckpt") else None for p in paths]
    readings = [member_reading(m, s) for m, s in zip(deep, saved)]
    by_reading: dict = {}  # reading settings -> a set-up data module: each deep member reads the fold as it was benched

    def data_module(reading: dict):
        key = tuple(sorted(reading.items()))
        if key not in by_reading:
            by_reading[key] = SERDataModule(
                root=args.root,
                protocol=args.protocol,
                fold=args.fold,
                classes=args.classes,
                batch_size=32,
                num_workers=1,
                limit_clips=args.limit_clips,
                **reading,
            )
            by_reading[key].setup("fit")
            by_reading[key].setup("test")
        return by_reading[key]

    member_dms = [data_module(r) for r in readings]
    dm = member_dms[0] if deep else data_module({})  # labels, baselines and the speaker check read this one
    for path, m, s in zip(paths, deep, saved):  # no member may have heard this fold's test speakers
        check_unheard(
            m.card
            if getattr(m, "card", None)
            else {"name": path, "heard_speakers": saved_heard_speakers(s, path, args.root)},
            dm,
            role="--members",
        )
    t0 = time.time()
    members = [(f"{member_label(pth, m)} ({reading_text(r)})", m) for pth, m, r in zip(paths, deep, readings)]
    members += [
        (
            f"{spec} (fitted on training speakers)",
            BaselineMember(spec, args.protocol, args.fold, args.classes, args.root, args.limit_clips),
        )
        for spec in args.baselines
    ]
    rows = ensemble_table(members, dm, member_dms)
    combined = {kind: dict(rows)[name] for kind, name in COMBINED_ROWS.items()}
    seconds = time.time() - t0
    lines = [
        f"## {args.protocol} fold {args.fold} (speaker-independent), {len(members)} members, "
        f"{rows[0][1]['n_test']} test clips",
        "",
        "| model | UA | WA | macro-F1 |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {name} | {r['ua'] * 100:.2f} | {r['wa'] * 100:.2f} | {r['f1'] * 100:.2f} |" for name, r in rows
    ]
    env = environment()
    m, v = env["machine"], env["versions"]
    lines += [
        "",
        f"Members: {', '.join(f'`{x}`' for x in paths + args.baselines)}.  ",
        "Ensemble-selection weights (picked on validation speakers): "
        + ", ".join(f"{name} {w:g}" for (name, _), w in zip(members, combined["select"]["weights"]))
        + ".  ",
        f"Evaluation took {seconds:.0f} s on {m['cpu']}, {m['cores']} cores, GPU {m['gpu'] or 'none'}; "
        + ", ".join(f"{k} {val}" for k, val in v.items())
        + f"; commit {env['git_commit']}, {env['date']}.  ",
        f"Command: `python benchmarks/ensemble_fold.py {' '.join(sys.argv[1:] if argv is None else argv)}`",
        "",
    ]
    if args.leaderboard:
        leaderboard_rows(args, dm, deep, paths, combined, seconds)
    text = "\n".join(lines)
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    header = "" if out.exists() else "# Ensembles of zoo members (seed 000's next step), one fold each\n\n"
    with out.open("a") as f:
        f.write(header + text + "\n")


def member_reading(model, saved: Optional[dict]) -> dict:
    """How a member read the fold's evaluation clips when it was benched (crop, VAD trim, ...): the data settings saved
    in its .ckpt, or its zoo card's ``eval``; else its training crop."""
    data = (
        (saved or {}).get("datamodule_hyper_parameters")
        or (getattr(model, "card", None) or {}).get("eval")
        or {}
    )
    reading = {k: data[k] for k in SERDataModule.READING if k in data} or {
        "clip_seconds": model.hparams.example_seconds
    }
    defaults = inspect.signature(SERDataModule).parameters
    return {
        k: reading.get(k, defaults[k].default) for k in SERDataModule.READING
    }  # complete: equal readings share


def reading_text(reading: dict) -> str:
    """``2.5 s crops``, ``whole clips``, ``3 s crops, VAD-trimmed``: what a member's table name says of its reading."""
    text = "whole clips" if reading["eval_crop"] == "full" else f"{reading['clip_seconds']:g} s crops"
    return text + (", VAD-trimmed" if reading["vad_trim"] else "")


def member_label(path: str, model) -> str:
    """A member's recipe (a bench run folder is ``<recipe>-fold<N>``), zoo name, or else file stem."""
    if getattr(model, "card", None):
        return f"zoo:{model.card['name']}"
    run = [part for part in Path(path).parts if "-fold" in part]
    return run[-1].rsplit("-fold", 1)[0] if run else Path(path).stem


def leaderboard_rows(args, dm, deep, paths, results: dict[str, dict], seconds: float) -> None:
    """The average's and the stack's test metrics on this fold as bench rows (every member was trained or fitted on
    this fold's training speakers; the stacker on its validation speakers)."""
    import torch as _torch

    from ser_zoo.bench.report import write_report
    from ser_zoo.bench.runner import append_row, result_row, results_path
    from ser_zoo.data.splits import get_protocol

    classes = args.classes or get_protocol(args.protocol).classes
    members = " + ".join([member_label(p, m) for p, m in zip(paths, deep)] + list(args.baselines))
    how = {
        "average": "mean of the probabilities of ",
        "stack": "stack (logreg on val speakers) of ",
        "select": "ensemble selection (weights from val-speaker UA) of ",
    }
    path = results_path(Path(args.results), args.protocol, args.classes)
    common = {
        "epochs": "",
        "train_seconds": round(seconds, 1),
        "params": sum(p.numel() for m in deep for p in m.net.parameters()),
        "test_speakers": " ".join(sorted({c.speaker for c in dm.stage_clips("test")})),
        "device": _torch.cuda.get_device_name(0) if _torch.cuda.is_available() else "cpu",
    }
    for kind, r in results.items():
        picked = f" (weights {' / '.join(f'{w:g}' for w in r['weights'])})" if "weights" in r else ""
        r = {**r, **common, "config": how[kind] + members + picked}
        label = f"{args.leaderboard}-{kind}"
        append_row(path, result_row(args.protocol, classes, label, args.fold, r), list(dm.class_names))
        print(f"[{args.protocol}] {label} fold {args.fold}: UA {r['ua']:.4f} -> {path}")
    write_report(args.results)


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    try:
        main()
    except ConfigError as e:  # bad input: one line naming it, no traceback
        raise SystemExit(str(e)) from None
