"""How much of loco's gap is the held-out corpus's feature statistics? AdaBN on each loco fold's checkpoint.

Each fold's best-on-validation checkpoint from ``ser-zoo bench --suite benchmarks/suites/general6_loco.yaml``
is tested twice on the held-out corpus: as trained, and after re-estimating every BatchNorm layer's running
mean and variance on that corpus's test audio (AdaBN, Li et al. 2016: one forward pass, no labels, no
gradients).
The second figure is transductive (it reads the test clips' audio, never their labels), so it is not a loco
headline number: it says what a user gains by letting the model see a folder of their own unlabelled audio.

    python benchmarks/loco_adabn.py [--runs runs/bench/loco] [--folds 0 1 2 3]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from _env import write_result

from ser_zoo.adapt import adapt_batchnorm
from ser_zoo.bench.fold_resume import best_checkpoint
from ser_zoo.calibrate import saved_datamodule
from ser_zoo.lit.safe_ckpt import load_checkpoint_file, load_module
from ser_zoo.models.ensemble import evaluate


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", default="runs/bench/loco")
    p.add_argument("--recipe", default="general6")
    p.add_argument("--folds", type=int, nargs="*", default=[0, 1, 2, 3])
    args = p.parse_args(argv)
    rows = []
    for fold in args.folds:
        ckpt = best_checkpoint(Path(args.runs) / f"{args.recipe}-fold{fold}")
        if ckpt is None:
            print(f"fold {fold}: no best-*.ckpt under {args.runs}; run the general6_loco suite first")
            continue
        saved = load_checkpoint_file(ckpt, "cpu")
        dm = saved_datamodule(saved, str(ckpt), None, 64)
        dm.setup("test")
        model = load_module(ckpt).eval()
        before = evaluate(model, dm)
        seen = adapt_batchnorm(model, dm.test_dataloader())
        after = evaluate(model, dm)
        corpus = dm.stage_clips("test")[0].corpus
        rows.append({"fold": fold, "held_out": corpus, "clips": seen, "before": before, "after": after})
        print(f"loco fold {fold} ({corpus} held out): UA {before['ua']:.4f} -> {after['ua']:.4f} (AdaBN)")
    lines = [
        f"# AdaBN on loco: {args.recipe}'s fold checkpoints, BatchNorm statistics re-estimated on the "
        "held-out corpus",
        "",
        "Transductive: the held-out corpus's test audio (never its labels) sets each BatchNorm layer's mean "
        "and variance, in one forward pass; not a loco headline figure. In %.",
        "",
        "| fold | held out | clips | UA as trained | UA after AdaBN | WA as trained | WA after | macro-F1 as "
        "trained | macro-F1 after |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        b, a = r["before"], r["after"]
        lines.append(
            f"| {r['fold']} | {r['held_out']} | {r['clips']} | {100 * b['ua']:.2f} | {100 * a['ua']:.2f} | "
            f"{100 * b['wa']:.2f} | {100 * a['wa']:.2f} | {100 * b['f1']:.2f} | {100 * a['f1']:.2f} |"
        )
    if len(rows) > 1:

        def pct(stage: str) -> str:
            v = [100 * r[stage]["ua"] for r in rows]
            return f"{statistics.mean(v):.2f} ± {statistics.stdev(v):.2f}"

        lines += [
            "",
            f"UA mean ± std over folds {[r['fold'] for r in rows]}: {pct('before')} as trained, "
            f"{pct('after')} after AdaBN.",
        ]
    result = [
        {k: r[k] for k in ("fold", "held_out", "clips")}
        | {f"{m}_{s}": r[s][m] for s in ("before", "after") for m in ("wa", "ua", "f1")}
        for r in rows
    ]
    write_result("loco_adabn", {"recipe": args.recipe, "folds": result}, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
