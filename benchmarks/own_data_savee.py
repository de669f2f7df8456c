"""Your own data, measured: SAVEE laid out as ``label/speaker/*.flac`` and read only through the generic
folder source, on leave-one-speaker-out folds (``loso``, 4 folds: the same speakers as ``savee-loso``).

Three ways to a SAVEE classifier, each timed: the zoo checkpoints scored zero-shot (``ser-zoo evaluate``, only
the classes they share with SAVEE), fine-tuning the best zoo checkpoint that never heard a SAVEE speaker
(``--model.init_from``: its backbone and the head rows of the shared classes), and the same recipe from
scratch. The folder is a tree of symlinks to the real SAVEE clips made in a temp dir (never in the repo); the
built-in SAVEE reader is used only to lay it out. Checkpoints whose cards list SAVEE speakers among those they
heard are scored too, for reference, but marked: on them a zero-shot number is not speaker-independent, and
the generic source cannot tell (its speaker names are the folder's, not ``savee_DC``), so this script checks
the cards.
Run:  python benchmarks/own_data_savee.py [--epochs 6] [--recipe resnet18_savee] [--threads 1] [--root DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import write_result  # noqa: E402

from ser_zoo.data.clips import default_data_root  # noqa: E402
from ser_zoo.data.corpora import read_savee  # noqa: E402
from ser_zoo.evaluate import evaluate  # noqa: E402
from ser_zoo.lit.cli import build_cli  # noqa: E402
from ser_zoo.weights import list_zoo  # noqa: E402

PROTOCOL = "loso"


def lay_out(root: Path, out: Path) -> Path:
    """``out/<emotion>/<speaker>/<file>.flac`` symlinks to the SAVEE clips under the data root ``root``."""
    for clip in read_savee(root):
        folder = out / clip.emotion / clip.speaker.removeprefix("savee_")
        folder.mkdir(parents=True, exist_ok=True)
        link = folder / Path(clip.path).name
        if not link.exists():
            os.symlink(os.path.abspath(clip.path), link)
    return out


def mean_std(values: list[float]) -> dict[str, float]:
    return {"mean": float(np.mean(values)), "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0}


def zero_shot(tree: Path) -> list[dict]:
    rows = []
    for card in list_zoo():
        heard = sorted(s for s in card.get("heard_speakers", ()) if s.startswith("savee_"))
        start, cpu = time.time(), time.process_time()
        r = evaluate(card["name"], str(tree), protocol=PROTOCOL)
        rows.append(
            {
                "name": card["name"],
                "classes": len(r["shared_classes"]),
                "shared": r["shared_classes"],
                "heard_savee": heard,
                "folds": [{k: f[k] for k in ("fold", "wa", "ua", "f1")} for f in r["folds"]],
                **{k: mean_std([f[k] for f in r["folds"]]) for k in ("wa", "ua", "f1")},
                "seconds": round(time.time() - start, 1),
                "cpu_seconds": round(time.process_time() - cpu, 1),
            }
        )
        print(
            f"zero-shot {card['name']}: UA {rows[-1]['ua']['mean']:.4f} ({rows[-1]['seconds']} s)", flush=True
        )
    return rows


def train_folds(tree: Path, recipe: str, start: str | None, epochs: int, runs: Path, label: str) -> dict:
    folds, seconds, cpu = [], 0.0, 0.0
    for fold in range(4):
        args = [
            "--config", recipe,
            "--data.corpora", str(tree),
            "--data.protocol", PROTOCOL,
            "--data.fold", str(fold),
            "--data.num_workers", "0",
            "--model.init_from", start or "null",
            "--trainer.max_epochs", str(epochs),
            "--trainer.enable_progress_bar", "false",
            "--trainer.logger.init_args.save_dir", str(runs),
            "--trainer.logger.init_args.name", f"{label}-fold{fold}",
        ]  # fmt: skip
        cli = build_cli(args, run=False)
        t0, c0 = time.time(), time.process_time()
        cli.trainer.fit(cli.model, datamodule=cli.datamodule)
        best = cli.trainer.checkpoint_callback.best_model_path or None
        [m] = cli.trainer.test(cli.model, datamodule=cli.datamodule, ckpt_path=best, verbose=False)
        seconds += time.time() - t0
        cpu += time.process_time() - c0
        speakers = sorted({c.speaker for c in cli.datamodule.stage_clips("test")})
        folds.append(
            {"fold": fold, "test": speakers, "wa": m["test/wa"], "ua": m["test/ua"], "f1": m["test/f1"]}
        )
        print(f"{label} fold {fold}: UA {m['test/ua']:.4f} ({seconds:.0f} s so far)", flush=True)
    return {
        "folds": folds,
        **{k: mean_std([f[k] for f in folds]) for k in ("wa", "ua", "f1")},
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu, 1),
    }


def pct(stat: dict[str, float]) -> str:
    return f"{100 * stat['mean']:.2f} ± {100 * stat['std']:.2f}"


def markdown(result: dict) -> str:
    zs, ft, sc = result["zero_shot"], result["fine_tuned"], result["scratch"]
    best = result["start"]
    shared = next(r for r in zs if r["name"] == best)["classes"]
    lines = [
        "# Your own data: SAVEE through the generic folder source",
        "",
        "SAVEE (480 clips, 4 male speakers, 7 classes) laid out as `label/speaker/*.flac` and read only "
        f"through `--data.corpora FOLDER`; protocol `{PROTOCOL}` (leave one speaker out, the next speaker "
        "validates; 4 folds, the speakers of `savee-loso`), speaker-independent. WA = accuracy, UA = mean "
        "per-class recall, F1 = macro-F1, mean ± std (sample) over the 4 folds, in %. Zero-shot scores only "
        "the classes a checkpoint shares with SAVEE (its choice restricted to them).",
        "",
        f"| way ({PROTOCOL}, 4 folds) | model | classes scored | WA | UA | macro-F1 | wall (CPU) time |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in sorted(zs, key=lambda r: (bool(r["heard_savee"]), -r["ua"]["mean"])):
        what = (
            "zero-shot"
            if not r["heard_savee"]
            else (f"not zero-shot: heard {len(r['heard_savee'])} of 4 SAVEE speakers")
        )
        lines.append(
            f"| {what} | `{r['name']}` | {r['classes']} | {pct(r['wa'])} | {pct(r['ua'])} | {pct(r['f1'])} | "
            f"{r['seconds']:.0f} s ({r['cpu_seconds']:.0f} s) |"
        )
    epochs = result["epochs"]
    lines += [
        f"| fine-tuned from `{best}`, {epochs} epochs | `{result['recipe']}` | 7 | {pct(ft['wa'])} | "
        f"{pct(ft['ua'])} | {pct(ft['f1'])} | {ft['seconds']:.0f} s ({ft['cpu_seconds']:.0f} s) |",
        f"| from scratch, {epochs} epochs | `{result['recipe']}` | 7 | {pct(sc['wa'])} | {pct(sc['ua'])} | "
        f"{pct(sc['f1'])} | {sc['seconds']:.0f} s ({sc['cpu_seconds']:.0f} s) |",
        "",
        "UA per fold (test speaker DC, JE, JK, KL):",
        "",
        f"- zero-shot `{best}`: "
        + ", ".join(f"{100 * f['ua']:.2f}" for f in next(r for r in zs if r["name"] == best)["folds"]),
        "- fine-tuned: " + ", ".join(f"{100 * f['ua']:.2f}" for f in ft["folds"]),
        "- from scratch: " + ", ".join(f"{100 * f['ua']:.2f}" for f in sc["folds"]),
        "",
        "The fine-tuning start is the zero-shot checkpoint with the best UA among those that never heard a "
        f"SAVEE speaker; `{best}` shares {shared} of SAVEE's 7 classes, whose head rows it keeps (the others "
        "start fresh). Times are the whole fold loop on one CPU thread, wall clock and (in brackets) the "
        "process's CPU time, which other jobs on a shared machine do not inflate: zero-shot decodes and "
        "scores all 480 clips once per checkpoint (the first one also fills the waveform cache); training "
        "includes validation every epoch and the test of the best-on-validation checkpoint. Short schedules: "
        "a trend on one small corpus, not a leaderboard figure (`savee-loso` in LEADERBOARD.md holds the "
        "longer runs).",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--recipe", default="resnet18_savee", help="the training recipe of both fits")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--root", default=None, help="data root holding savee/ (default: as ser-zoo finds it)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    root = Path(args.root or default_data_root())
    with tempfile.TemporaryDirectory(prefix="own_data_savee.") as tmp:
        tree = lay_out(root, Path(tmp) / "savee_as_folders")
        zs = zero_shot(tree)
        eligible = [r for r in zs if not r["heard_savee"]]
        best = max(eligible, key=lambda r: r["ua"]["mean"])["name"]
        runs = Path(tmp) / "runs"
        ft = train_folds(tree, args.recipe, best, args.epochs, runs, "fine-tuned")
        sc = train_folds(tree, args.recipe, None, args.epochs, runs, "scratch")
    result = {
        "protocol": PROTOCOL,
        "recipe": args.recipe,
        "epochs": args.epochs,
        "start": best,
        "zero_shot": zs,
        "fine_tuned": ft,
        "scratch": sc,
    }
    print(write_result("own_data_savee", result, markdown(result)))


if __name__ == "__main__":
    main()
