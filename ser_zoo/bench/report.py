"""LEADERBOARD.md and plots from the bench CSVs: per protocol, the models that ran every fold ranked by UA
(mean ± std over folds), then the partial runs, the ensembles and the speaker-normalised rows, listed but not
ranked, with what the source projects reported beside them.

How many folds a protocol has: every built-in protocol declares its count (``Protocol.known_folds``: a
k-fold's k, a leave-one-corpus-out's corpora, a built-in corpus's speakers for leave-one-speaker-out), and the
report does not read the data. The count is the largest of the declared one and the fold ids the CSV holds
(ids run 0..n-1). Generic protocols (your own corpora, ``--data.folds``) and protocols this module does not
know count the fold ids of the CSV only: a fold no model has run yet is invisible there.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..data.splits import PROTOCOLS
from .references import TARGETS, reported_numbers
from .results import ENSEMBLE_HOW, read_rows, row_complete

#: How an ensemble row's config begins (``bench/ensemble_fold.py`` writes them). A model named ``ensemble...``
#: counts too.
ENSEMBLE_CONFIGS = tuple(ENSEMBLE_HOW.values())
#: The ranked bars' metrics (heading, entry key): the first is the bar, the others markers.
METRICS = (("UA", "ua"), ("WA", "wa"), ("macro-F1", "f1"))
#: The most models the per-class F1 heatmap shows (ranked ones first).
HEATMAP_ROWS = 15
PARTIAL_HEADING = "Partial runs (not ranked: fewer folds than the protocol has)"
ENSEMBLE_HEADING = "Ensembles (not ranked: each combines single models of this protocol)"
SPEAKER_NORM_HEADING = (
    "Speaker-normalised (not ranked: each speaker's features are standardised by the statistics of its own "
    "clips, a test speaker's by its unlabelled test clips, so a clip is classified beside the rest of its "
    "speaker's, never alone)"
)
NO_FULL_RUN = "no model has run every fold yet"


def mean_std_percent(values: list[float]) -> tuple[float, float]:
    """Fractions over folds as (percent mean, percent sample std; 0 for one fold)."""
    a = np.asarray(values, dtype=float) * 100
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0


def mean_std_text(values: list[float]) -> str:
    """``61.95 ± 3.37``: fractions over folds as percent mean ± sample std, the one spelling the leaderboard
    and the zoo cards share (two computations once rounded 61.945 apart)."""
    m, s = mean_std_percent(values)
    return f"{m:.2f} ± {s:.2f}" if len(values) > 1 else f"{m:.2f}"


def _metric_cells(e: dict) -> str:
    """``UA | WA | macro-F1`` cells of a leaderboard row."""
    return " | ".join(mean_std_text(e[k]) for k in ("ua", "wa", "f1"))


def _distinct(values) -> str:
    """Each value once, in order of first appearance, comma-separated (a model's folds may come from several
    commits)."""
    return ", ".join(dict.fromkeys(v for v in values if v))


def fold_text(folds: list[int]) -> str:
    """``0-5`` for a run of consecutive folds, else ``0,2,3``: eleven fold ids stay short in a table cell."""
    if len(folds) > 2 and folds == list(range(folds[0], folds[-1] + 1)):
        return f"{folds[0]}-{folds[-1]}"
    return ",".join(map(str, folds))


def is_ensemble(model: str, config: str) -> bool:
    """An ensemble row: it combines other rows' models, so it is listed beside them, not ranked with them."""
    return model.lower().startswith("ensemble") or config.startswith(ENSEMBLE_CONFIGS)


def is_speaker_normalised(config: str) -> bool:
    """A row whose features were standardised per speaker (a baseline's ``:spknorm``): it sees every clip of
    a test speaker before it classifies one, which a model reading one clip at a time cannot."""
    return "speaker_norm" in config.split()


def declared_folds(protocol: str) -> int:
    """The fold count a built-in protocol fixes without its data (``Protocol.known_folds``); 0 where only
    the data (or the run's ``--data.folds``) knows it: generic and unknown protocols."""
    proto = PROTOCOLS.get(protocol)
    return (proto.known_folds() if proto else None) or 0


def protocol_folds(protocol: str, rows: list[dict]) -> list[int]:
    """The folds a model must have run to be ranked (see the module docstring for how they are counted)."""
    seen = [int(r["fold"]) + 1 for r in rows if str(r.get("fold", "")).isdigit()]
    return list(range(max([declared_folds(protocol), *seen])))


def summarize(rows: list[dict]) -> list[dict]:
    """One entry per model from its complete rows: fold metrics pooled, confusion matrices summed, ranked by
    mean UA."""
    by_model: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        if row_complete(r):
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
                "ensemble": is_ensemble(model, rs[0]["config"]),
                "speaker_norm": is_speaker_normalised(rs[0]["config"]),
                "confusion": cm,
                "suite": _distinct(Path(r["suite"]).stem for r in rs if r.get("suite")),
                "commit": _distinct(r.get("git_commit") for r in rs),
            }
        )
    return sorted(out, key=lambda e: -np.mean(e["ua"]))


def split_entries(
    entries: list[dict], folds: list[int]
) -> tuple[list[dict], list[dict], list[dict], list[dict]]:
    """(ranked, partial, ensembles, speaker-normalised): a mean over fewer folds is over other speakers, an
    ensemble is built from the ranked models, and a speaker-normalised row reads a test speaker's other clips,
    so only single models that ran every fold, one clip at a time, compete in the headline table."""
    every = [set(folds) <= set(e["folds"]) for e in entries]
    full = [e for e, ran in zip(entries, every) if ran]
    ensembles = [e for e in full if e["ensemble"]]
    normalised = [e for e in full if e.get("speaker_norm") and not e["ensemble"]]
    ranked = [e for e in full if not e["ensemble"] and not e.get("speaker_norm")]
    return ranked, [e for e, ran in zip(entries, every) if not ran], ensembles, normalised


def _kind_word(e: dict) -> str:
    """'ensemble', 'speaker-normalised' or '' (a plain single model)."""
    return "ensemble" if e["ensemble"] else "speaker-normalised" if e.get("speaker_norm") else ""


def unranked_kind(e: dict, n_folds: int) -> str:
    """Why a row is not ranked: 'ensemble', 'speaker-normalised', 'partial, 1 of 5 folds' or 'partial
    ensemble, 1 of 5 folds'."""
    if len(e["folds"]) >= n_folds:
        return _kind_word(e)
    return f"partial{' ensemble' if e['ensemble'] else ''}, {len(e['folds'])} of {n_folds} folds"


def best_ranked_on(ranked: list[dict], folds: list[int]) -> str:
    """The best ranked model by UA on ``folds``: what a partial row's folds compare against fairly."""
    if not ranked:
        return "-"
    b = max(ranked, key=lambda e: np.mean([e["ua_by_fold"][f] for f in folds]))
    return f"{b['model']} {mean_std_text([b['ua_by_fold'][f] for f in folds])}"


def _cost_cells(e: dict) -> str:
    return (
        f"{int(float(e['params'])):,} | {e['train_seconds']:.0f} | {e['device']} | `{e['config']}` | "
        f"{e['suite'] or '-'} | {e['commit'] or '-'} |"
    )


def ranked_table(ranked: list[dict], folds: list[int]) -> list[str]:
    """The headline table: every-fold single models, ranked by mean UA."""
    if not ranked:
        return [
            f"**{NO_FULL_RUN.capitalize()}** ({len(folds)} folds): nothing is ranked; see the rows below."
        ]
    lines = [
        "| rank | model | UA | WA | macro-F1 | folds | params | train s / fold | device | recipe | suite "
        "| commit |",
        "|---:|---|---:|---:|---:|---|---:|---:|---|---|---|---|",
    ]
    for i, e in enumerate(ranked, 1):
        lines.append(
            f"| {i} | {e['model']} | {_metric_cells(e)} | "
            f"{len(e['folds'])}: {fold_text(e['folds'])} | {_cost_cells(e)}"
        )
    return lines


def _row_kind(e: dict) -> str:
    word = _kind_word(e)
    return word if e["ensemble"] else f"{word} single model".lstrip()


def unranked_table(heading: str, entries: list[dict], ranked: list[dict], n_folds: int) -> list[str]:
    """A labelled, unranked list: each row's folds and UA per fold, and the best ranked model on the same
    folds (the only fair comparison for a partial row)."""
    if not entries:
        return []
    lines = [
        "",
        f"### {heading}",
        "",
        "| model | kind | folds run | UA per fold | UA | WA | macro-F1 | best ranked model on these folds "
        "| params | train s / fold | device | recipe | suite | commit |",
        "|---|---|---|---|---:|---:|---:|---|---:|---:|---|---|---|---|",
    ]
    for e in entries:
        per_fold = ", ".join(f"{f}: {100 * e['ua_by_fold'][f]:.2f}" for f in e["folds"])
        lines.append(
            f"| {e['model']} | {_row_kind(e)} | "
            f"{len(e['folds'])} of {n_folds}: {fold_text(e['folds'])} | "
            f"{per_fold} | {_metric_cells(e)} | "
            f"{best_ranked_on(ranked, e['folds'])} | {_cost_cells(e)}"
        )
    return lines


def summary_line(stem: str, tag: str, target, ranked, unranked, n_folds: int) -> str:
    """The protocol's row of 'Best UA per protocol': the best every-fold model beside the best unranked row,
    or, when no model ran every fold, the best unranked row labelled as such (never checked against the
    target)."""
    target_cell = "" if target is None else f"{target:.0f}"
    if not ranked:
        b = unranked[0]
        return (
            f"| {stem} | {tag} | {NO_FULL_RUN}; best "
            f"{'partial run' if len(b['folds']) < n_folds else 'unranked row'}: {b['model']} "
            f"({unranked_kind(b, n_folds)}) | "
            f"{mean_std_text(b['ua'])} | {len(b['folds'])} of {n_folds} | - | {target_cell} | "
            f"{'' if target is None else 'not yet'} |"
        )
    b, o = ranked[0], (unranked[0] if unranked else None)
    other = "-" if o is None else f"{o['model']} {mean_std_text(o['ua'])} ({unranked_kind(o, n_folds)})"
    reached = "" if target is None else ("yes" if np.mean(b["ua"]) * 100 >= target else "no")
    return (
        f"| {stem} | {tag} | {b['model']} | {mean_std_text(b['ua'])} | {len(b['folds'])} of {n_folds} | "
        f"{other} | {target_cell} | {reached} |"
    )


def per_class_f1(cm: np.ndarray) -> np.ndarray:
    """F1 per class from a (true x predicted) confusion matrix; 0 for a class never predicted nor present."""
    tp = np.diag(cm).astype(float)
    prec = tp / np.maximum(cm.sum(0), 1)
    rec = tp / np.maximum(cm.sum(1), 1)
    return np.where(prec + rec > 0, 2 * prec * rec / np.maximum(prec + rec, 1e-12), 0.0)


def heatmap_rows(ranked: list[dict], unranked: list[dict], n_folds: int) -> tuple[list[dict], list[str], int]:
    """The heatmap's models (ranked first, then unranked; HEATMAP_ROWS at most, those with a confusion
    matrix), their labels, and how many of them are ranked."""
    top = [e for e in ranked if e["confusion"] is not None][:HEATMAP_ROWS]
    rest = [e for e in unranked if e["confusion"] is not None][: HEATMAP_ROWS - len(top)]
    labels = [f"{e['model']}  (UA {100 * np.mean(e['ua']):.1f})" for e in top] + [
        f"{e['model']}  (UA {100 * np.mean(e['ua']):.1f}; {unranked_kind(e, n_folds)})" for e in rest
    ]
    return top + rest, labels, len(top)


def _folds_words(folds: list[int], every: str = "") -> str:
    """'fold 0' or 'all 6 folds (0-5)' / '6 folds (0-5)', for titles and sentences."""
    return f"fold {folds[0]}" if len(folds) == 1 else f"{every}{len(folds)} folds ({fold_text(folds)})"


def _title(stem: str) -> str:
    proto = PROTOCOLS.get(stem.split("-emotions")[0])
    return (
        f"{stem}: {'speaker-independent' if proto is None or proto.speaker_independent else 'random-split'}"
    )


def _bars_plot(stem: str, ranked: list[dict], folds: list[int], path: Path) -> bool:
    """UA bars (mean ± std) of the every-fold models with WA and macro-F1 beside them; False, and no file,
    when no model ran every fold."""
    from ..plots import plot_ranked_bars

    if not ranked:
        path.unlink(missing_ok=True)
        return False
    plot_ranked_bars(
        [e["model"] for e in ranked],
        {name: tuple(zip(*(mean_std_percent(e[key]) for e in ranked))) for name, key in METRICS},
        path,
        title=f"{_title(stem)}, models that ran {_folds_words(folds, 'all ')}",
        xlabel="% (mean ± std over folds)",
    )
    return True


def _confusion_title(stem: str, best: dict, ranked: bool, n_folds: int) -> str:
    """Model (labelled when it is not a ranked one) over the folds its matrix sums."""
    label = "" if ranked else f" ({unranked_kind(best, n_folds)})"
    folds = best["folds"]
    summed = f"folds {fold_text(folds)} summed" if len(folds) > 1 else f"fold {folds[0]}"
    return f"{stem}: {best['model']}{label}\ntest {summed}"


def _heatmap_title(stem: str, shown: int, total: int, n_ranked: int) -> str:
    """What the heatmap holds: how many of the models, and which rows are ranked."""
    title = f"{stem}: per-class F1 (folds pooled)" + (
        f", top {shown} of {total} models" if shown < total else ""
    )
    if not n_ranked:
        return title + f"\n{NO_FULL_RUN}: no row is ranked"
    return title + ("\nabove the line: ranked (every fold); below: not ranked" if n_ranked < shown else "")


def _plots(stem: str, ranked, unranked, class_names: list[str], folds: list[int], out: Path) -> list[str]:
    """The ranked bars (every-fold models), the best model's confusion matrix and the per-class F1 heatmap;
    a plot with nothing to show is removed, so no stale PNG outlives its data."""
    from ..plots import plot_confusion_matrix, plot_heatmap

    bars, confusion, heatmap = (
        out / f"{stem}_{kind}.png" for kind in ("leaderboard", "best_confusion", "per_class_f1")
    )
    files = [bars.name] if _bars_plot(stem, ranked, folds, bars) else []
    rows, labels, n_ranked = heatmap_rows(ranked, unranked, len(folds))
    if not rows:
        confusion.unlink(missing_ok=True)
        heatmap.unlink(missing_ok=True)
        return files
    plot_confusion_matrix(
        rows[0]["confusion"],
        class_names,
        confusion,
        title=_confusion_title(stem, rows[0], n_ranked > 0, len(folds)),
    )
    plot_heatmap(
        np.stack([100 * per_class_f1(e["confusion"]) for e in rows]),
        labels,
        class_names,
        heatmap,
        title=_heatmap_title(
            stem, len(rows), sum(e["confusion"] is not None for e in ranked + unranked), n_ranked
        ),
        colorbar_label="F1 %",
        separator=n_ranked,
    )
    return files + [confusion.name, heatmap.name]


def protocol_section(path: Path, rows: list[dict], plots: bool) -> tuple[list[str], str]:
    """One CSV's markdown section and its line of the summary table."""
    out, stem, protocol, classes = path.parent, path.stem, rows[0]["protocol"], rows[0]["classes"]
    proto = PROTOCOLS.get(protocol)
    tag = "speaker-independent" if proto is None or proto.speaker_independent else "random-split"
    class_names = [c.removeprefix("recall_") for c in rows[0] if c.startswith("recall_")]
    folds = protocol_folds(protocol, rows)
    ranked, partial, ensembles, normalised = split_entries(summarize(rows), folds)
    unranked = sorted(partial + ensembles + normalised, key=lambda e: -np.mean(e["ua"]))
    incomplete = sum(not row_complete(r) for r in rows)
    lines = [
        f"## {stem} ({tag}, {classes}: {', '.join(class_names)})",
        "",
        f"{proto.description if proto else ''}",
        "",
        f"Ranked: the single models that ran {_folds_words(folds, 'all ')}, by mean UA."
        + (
            ""
            if declared_folds(protocol)
            else " The fold count is read off this CSV's fold ids (this protocol's folds depend on the "
            "data): a fold no model has run yet is not counted."
        )
        + (
            f" {incomplete} unfinished row{'s' if incomplete > 1 else ''} of the CSV left out."
            if incomplete
            else ""
        ),
        "",
        *ranked_table(ranked, folds),
        *unranked_table(PARTIAL_HEADING, partial, ranked, len(folds)),
        *unranked_table(ENSEMBLE_HEADING, ensembles, ranked, len(folds)),
        *unranked_table(SPEAKER_NORM_HEADING, normalised, ranked, len(folds)),
    ]
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
        files = _plots(stem, ranked, unranked, class_names, folds, out)
        lines += [""] + [f"![{f}]({f})" for f in files]
    lines.append("")
    target = TARGETS.get((protocol, classes))
    best = summary_line(stem, tag, target, ranked, unranked, len(folds)) if ranked or unranked else ""
    return lines, best


def write_report(out: str | Path = "benchmarks/results", plots: bool = True) -> Path:
    """Rebuild LEADERBOARD.md (and the PNGs) from every ``<protocol>[-<classes>].csv`` under ``out``."""
    out = Path(out)
    lines = [
        "# ser-zoo leaderboard",
        "",
        "Every number is measured by `ser-zoo bench` under the named protocol: test speakers never appear in "
        "training or validation, the checkpoint is chosen on validation speakers only. UA = mean per-class "
        "recall, WA = accuracy, F1 = macro-F1; mean ± std (sample) over the folds run, in %. Each protocol's "
        "table ranks only the single models that ran every one of its folds; partial runs and ensembles "
        "follow it, listed but not ranked. Regenerate with `ser-zoo leaderboard`. Each row names the suite "
        "that ran it (rerun with `ser-zoo bench --suite benchmarks/suites/<suite>.yaml`) and the commit of "
        "the code it ran.",
        "",
    ]
    best_lines, header = [], len(lines)
    for path in sorted(out.glob("*.csv")):
        rows = read_rows(path)
        if not rows or "ua" not in rows[0]:
            continue
        section, best = protocol_section(path, rows, plots)
        lines += section
        if best:
            best_lines.append(best)
    if best_lines:
        lines[header:header] = [
            "Best UA per protocol: the top of each ranked table (single models that ran every fold) against "
            "the project's speaker-independent targets, and the best row that is not ranked (a partial run, "
            "whose mean is over fewer speakers, or an ensemble):",
            "",
            "| protocol | kind | best model (every fold) | UA | folds run | best not ranked | target UA "
            "| reached |",
            "|---|---|---|---:|---:|---|---:|---|",
            *best_lines,
            "",
        ]
    path = out / "LEADERBOARD.md"
    path.write_text("\n".join(lines))
    return path
