"""LEADERBOARD.md and plots from the bench CSVs: models ranked by UA, mean ± std over folds, with what the
source projects reported beside them."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..data.splits import PROTOCOLS
from .references import TARGETS, reported_numbers
from .results import read_rows


def _mean_std(values: list[float]) -> tuple[float, float]:
    a = np.asarray(values, dtype=float) * 100
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0


def _fmt(values: list[float]) -> str:
    m, s = _mean_std(values)
    return f"{m:.2f} ± {s:.2f}" if len(values) > 1 else f"{m:.2f}"


def _distinct(values) -> str:
    """Each value once, in order of first appearance, comma-separated (a model's folds may come from several
    commits)."""
    return ", ".join(dict.fromkeys(v for v in values if v))


def summarize(rows: list[dict]) -> list[dict]:
    """One entry per model: fold metrics pooled, confusion matrices summed, ranked by mean UA."""
    by_model: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_model[r["model"]].append(r)
    out = []
    for model, rs in by_model.items():
        cms = [np.asarray(json.loads(r["confusion"])) for r in rs if r.get("confusion")]
        cm = sum(cms) if cms else None
        out.append(
            {
                "model": model,
                "folds": sorted(int(r["fold"]) for r in rs),
                "ua": [float(r["ua"]) for r in rs],
                "wa": [float(r["wa"]) for r in rs],
                "f1": [float(r["f1"]) for r in rs],
                "ua_by_fold": {int(r["fold"]): float(r["ua"]) for r in rs},
                "params": rs[0]["params"],
                "train_seconds": np.mean([float(r["train_seconds"]) for r in rs]),
                "device": ", ".join(sorted({r["device"] for r in rs})),
                "epochs": rs[0]["epochs"],
                "config": rs[0]["config"]
                + (
                    ""
                    if len({r["config"] for r in rs}) == 1
                    else f" (as on fold {rs[0]['fold']}; other folds differ, see the CSV)"
                ),
                "confusion": cm,
                "suite": _distinct(Path(r["suite"]).stem for r in rs if r.get("suite")),
                "commit": _distinct(r.get("git_commit") for r in rs),
            }
        )
    return sorted(out, key=lambda e: -np.mean(e["ua"]))


def shared_folds(entries: list[dict]) -> list[int]:
    """The folds every model ran: a one-fold row and an 11-fold mean compare fairly only on these speakers."""
    return sorted(set.intersection(*(set(e["folds"]) for e in entries))) if entries else []


def folds_differ(entries: list[dict], shared: list[int]) -> bool:
    """Some model ran folds beyond the shared ones: its mean is then over other speakers than the rest's."""
    return any(len(e["folds"]) > len(shared) for e in entries)


def best_on_shared_folds(entries: list[dict], shared: list[int]) -> str:
    """The best model by UA on the ``shared`` folds, 'same' when every model ran just those, or 'no fold in
    common'."""
    if not shared:
        return "no fold in common"
    if not folds_differ(entries, shared):
        return "same"
    b = max(entries, key=lambda e: np.mean([e["ua_by_fold"][f] for f in shared]))
    return (
        f"{b['model']} {_fmt([b['ua_by_fold'][f] for f in shared])} (fold{'s' if len(shared) > 1 else ''} "
        f"{','.join(map(str, shared))})"
    )


def _per_class_f1(cm: np.ndarray) -> np.ndarray:
    tp = np.diag(cm).astype(float)
    prec = tp / np.maximum(cm.sum(0), 1)
    rec = tp / np.maximum(cm.sum(1), 1)
    return np.where(prec + rec > 0, 2 * prec * rec / np.maximum(prec + rec, 1e-12), 0.0)


def _plots(stem: str, entries: list[dict], class_names: list[str], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..plots import plot_confusion_matrix

    files = []
    fig, ax = plt.subplots(figsize=(max(5, 0.9 * len(entries) + 2), 3.6))
    x = np.arange(len(entries))
    for k, (metric, off) in enumerate((("ua", -0.27), ("wa", 0), ("f1", 0.27))):
        stats = [_mean_std(e[metric]) for e in entries]
        ax.bar(
            x + off, [m for m, _ in stats], 0.27, yerr=[s for _, s in stats], capsize=3, label=metric.upper()
        )
    ax.set_xticks(x, [e["model"] for e in entries], rotation=30, ha="right")
    ax.set_ylabel("% (mean ± std over folds)")
    ax.set_title(
        f"{stem}: speaker-independent"
        if PROTOCOLS.get(stem.split("-emotions")[0], None) is None
        or PROTOCOLS[stem.split("-emotions")[0]].speaker_independent
        else f"{stem}: random-split"
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / f"{stem}_leaderboard.png", dpi=110)
    plt.close(fig)
    files.append(f"{stem}_leaderboard.png")

    with_cm = [e for e in entries if e["confusion"] is not None]
    if with_cm:
        best = with_cm[0]
        plot_confusion_matrix(
            best["confusion"],
            class_names,
            out / f"{stem}_best_confusion.png",
            title=f"{stem}: {best['model']}, test folds {best['folds']} summed",
        )
        files.append(f"{stem}_best_confusion.png")
        fig, ax = plt.subplots(figsize=(max(5, 0.8 * len(class_names) + 2), 3.6))
        width = 0.8 / len(with_cm)
        for i, e in enumerate(with_cm):
            ax.bar(
                np.arange(len(class_names)) + i * width,
                100 * _per_class_f1(e["confusion"]),
                width,
                label=e["model"],
            )
        ax.set_xticks(np.arange(len(class_names)) + 0.4 - width / 2, class_names, rotation=30, ha="right")
        ax.set_ylabel("F1 % (folds pooled)")
        ax.set_title(f"{stem}: per-class F1")
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        fig.savefig(out / f"{stem}_per_class_f1.png", dpi=110)
        plt.close(fig)
        files.append(f"{stem}_per_class_f1.png")
    return files


def write_report(out: str | Path = "benchmarks/results", plots: bool = True) -> Path:
    """Rebuild LEADERBOARD.md (and the PNGs) from every ``<protocol>[-<classes>].csv`` under ``out``."""
    out = Path(out)
    lines = [
        "# ser-zoo leaderboard",
        "",
        "Every number is measured by `ser-zoo bench` under the named protocol: test speakers never appear in "
        "training or validation, the checkpoint is chosen on validation speakers only. UA = mean per-class "
        "recall, WA = accuracy, F1 = macro-F1; mean ± std (sample) over the folds run, in %. "
        "Regenerate with `ser-zoo leaderboard`. Each row names the suite that ran it (rerun with "
        "`ser-zoo bench --suite benchmarks/suites/<suite>.yaml`) and the commit of the code it ran.",
        "",
    ]
    best_lines, header = [], len(lines)
    for path in sorted(out.glob("*.csv")):
        rows = read_rows(path)
        if not rows or "ua" not in rows[0]:
            continue
        stem, protocol, classes = path.stem, rows[0]["protocol"], rows[0]["classes"]
        proto = PROTOCOLS.get(protocol)
        tag = "speaker-independent" if proto is None or proto.speaker_independent else "random-split"
        class_names = [c.removeprefix("recall_") for c in rows[0] if c.startswith("recall_")]
        entries = summarize(rows)
        shared = shared_folds(entries)
        matched = bool(shared) and folds_differ(entries, shared)
        if entries:
            b = entries[0]
            target = TARGETS.get((protocol, classes))
            reached = "" if target is None else ("yes" if np.mean(b["ua"]) * 100 >= target else "no")
            best_lines.append(
                f"| {stem} | {tag} | {b['model']} | {_fmt(b['ua'])} | {len(b['folds'])} | "
                f"{best_on_shared_folds(entries, shared)} | "
                f"{'' if target is None else f'{target:.0f}'} | {reached} |"
            )
        shared_head = (
            f" UA, fold{'s' if len(shared) > 1 else ''} {','.join(map(str, shared))} |" if matched else ""
        )
        lines += [
            f"## {stem} ({tag}, {classes}: {', '.join(class_names)})",
            "",
            f"{proto.description if proto else ''}",
            "",
            f"| rank | model | UA | WA | macro-F1 | folds |{shared_head} params | train s / fold | device "
            "| recipe | suite | commit |",
            f"|---:|---|---:|---:|---:|---|{'---:|' if matched else ''}---:|---:|---|---|---|---|",
        ]
        for i, e in enumerate(entries, 1):
            on_shared = f" {_fmt([e['ua_by_fold'][f] for f in shared])} |" if matched else ""
            lines.append(
                f"| {i} | {e['model']} | {_fmt(e['ua'])} | {_fmt(e['wa'])} | {_fmt(e['f1'])} | "
                f"{len(e['folds'])}: {','.join(map(str, e['folds']))} |{on_shared} "
                f"{int(float(e['params'])):,} | {e['train_seconds']:.0f} | {e['device']} | `{e['config']}` | "
                f"{e['suite'] or '-'} | {e['commit'] or '-'} |"
            )
        refs = reported_numbers(protocol, classes)
        if refs:
            lines += [
                "",
                "What the source projects reported on this corpus and class set (their protocol beside each; "
                "random-split figures leak speakers and are not comparable):",
                "",
                "| reported by | system | metric | reported % | their protocol |",
                "|---|---|---|---:|---|",
            ]
            lines += [f"| {r[2]} | {r[3]} | {r[4]} | {r[5]} | {r[6]} |" for r in refs]
        if plots:
            files = _plots(stem, entries, class_names, out)
            lines += [""] + [f"![{f}]({f})" for f in files]
        lines.append("")
    if best_lines:
        summary = [
            "Best UA per protocol (the top row of each table below) against the project's "
            "speaker-independent targets. Means over different folds are not directly comparable, so the "
            "best model on the folds every model of the protocol ran is shown beside it (each table then has "
            "a column for them):",
            "",
            "| protocol | kind | best model | UA | folds run | best on the folds every model ran | target UA "
            "| reached |",
            "|---|---|---|---:|---:|---|---:|---|",
            *best_lines,
            "",
        ]
        lines[header:header] = summary
    path = out / "LEADERBOARD.md"
    path.write_text("\n".join(lines))
    return path
