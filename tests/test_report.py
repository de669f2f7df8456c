"""The leaderboard ranks only models that ran every fold of their protocol; partial runs and ensembles are
listed below, unranked; the per-class F1 chart is a models x classes heatmap."""

from __future__ import annotations

import numpy as np
import pytest

from ser_zoo.bench.report import (
    ENSEMBLE_HEADING,
    NO_FULL_RUN,
    PARTIAL_HEADING,
    SPEAKER_NORM_HEADING,
    heatmap_rows,
    protocol_folds,
    split_entries,
    summarize,
    write_report,
)
from ser_zoo.bench.results import append_row, read_rows

CLASSES = ["neutral", "happy"]


def add(out, stem, protocol, model, uas, config=None, classes="emotions6"):
    """One complete row per fold 0, 1, ... of ``model``, UA (and WA, F1) as given; ``config`` a string or a
    function of the fold (a recipe whose weights differ per fold)."""
    for fold, ua in enumerate(uas):
        append_row(
            out / f"{stem}.csv",
            {
                "protocol": protocol,
                "classes": classes,
                "model": model,
                "fold": fold,
                "wa": ua,
                "ua": ua,
                "f1": ua,
                "params": 10,
                "train_seconds": 1,
                "device": "cpu",
                "config": config(fold) if callable(config) else config or f"configs/{model}.yaml",
                "confusion": "[[3, 1], [1, 3]]",
            },
            CLASSES,
        )


def section(text: str, heading: str) -> str:
    """The markdown between ``heading`` and the next heading of any level."""
    rest = text[text.index(heading) + len(heading) :]
    end = rest.find("\n#")
    return rest if end < 0 else rest[:end]


def test_a_one_fold_model_is_listed_as_partial_not_ranked(tmp_path):
    """crema_d-kfold has 5 folds: the 5-fold model is ranked, the better one-fold model only listed."""
    add(tmp_path, "crema_d-kfold", "crema_d-kfold", "full", [0.5, 0.6, 0.5, 0.6, 0.5])
    add(tmp_path, "crema_d-kfold", "crema_d-kfold", "one", [0.9])
    text = write_report(tmp_path, plots=False).read_text()
    ranked = section(text, "## crema_d-kfold")
    assert "| 1 | full | 54.00 ± 5.48 |" in ranked and "| one |" not in ranked
    partial = section(text, PARTIAL_HEADING)
    assert "| one | single model | 1 of 5: 0 | 0: 90.00 | 90.00 |" in partial
    assert "| full 50.00 |" in partial  # the best ranked model on fold 0, the fair comparison
    summary = next(line for line in text.splitlines() if line.startswith("| crema_d-kfold |"))
    assert "| full | 54.00 ± 5.48 | 5 of 5 | one 90.00 (partial, 1 of 5 folds) | 65 | no |" in summary


def test_summary_says_when_no_model_ran_every_fold(tmp_path):
    """ravdess-6fold declares 6 folds: two models on folds 0-2 leave nothing ranked, the best one labelled."""
    add(tmp_path, "ravdess-6fold", "ravdess-6fold", "a", [0.4, 0.5, 0.6], classes="emotions8")
    add(tmp_path, "ravdess-6fold", "ravdess-6fold", "b", [0.3, 0.3, 0.3], classes="emotions8")
    text = write_report(tmp_path, plots=False).read_text()
    summary = next(line for line in text.splitlines() if line.startswith("| ravdess-6fold |"))
    assert NO_FULL_RUN in summary and "best partial run: a (partial, 3 of 6 folds)" in summary
    assert "| 50.00 ± 10.00 | 3 of 6 |" in summary and summary.endswith("| 70 | not yet |")
    assert "| rank |" not in text  # no headline table at all
    assert "| a | single model | 3 of 6: 0-2 | 0: 40.00, 1: 50.00, 2: 60.00 |" in section(
        text, PARTIAL_HEADING
    )


def test_ensembles_are_listed_apart_even_over_every_fold(tmp_path):
    """An ensemble combines the ranked models: listed under its own heading, never ranked or the best."""
    add(tmp_path, "tess-loso", "tess-loso", "single", [0.5, 0.7])
    add(
        tmp_path,
        "tess-loso",
        "tess-loso",
        "x+y-stack",
        [0.9, 0.9],
        config="stack (logreg on val speakers) of x",
    )
    add(tmp_path, "tess-loso", "tess-loso", "ensemble_top", [0.8, 0.8])
    text = write_report(tmp_path, plots=False).read_text()
    assert "| 1 | single |" in text and "| 2 |" not in text
    listed = section(text, ENSEMBLE_HEADING)
    assert "| x+y-stack | ensemble | 2 of 2: 0,1 |" in listed and "| ensemble_top | ensemble |" in listed
    summary = next(line for line in text.splitlines() if line.startswith("| tess-loso |"))
    assert "| single | 60.00 ± 14.14 | 2 of 2 | x+y-stack 90.00 ± 0.00 (ensemble) |" in summary


def test_speaker_normalised_rows_are_listed_apart_and_never_meet_the_target(tmp_path):
    """A ``:spknorm`` baseline reads a test speaker's other clips: its own section, never ranked, and the
    target column judges the best model that reads one clip at a time."""
    add(tmp_path, "loco", "loco", "per_clip", [0.3, 0.4, 0.3, 0.4])
    add(tmp_path, "loco", "loco", "svm:spknorm", [0.6] * 4, config="baseline svm features=stats speaker_norm")
    text = write_report(tmp_path, plots=False).read_text()
    assert "| 1 | per_clip |" in text and "| 2 |" not in text
    listed = section(text, SPEAKER_NORM_HEADING)
    assert "| svm:spknorm | speaker-normalised single model | 4 of 4: 0-3 |" in listed
    summary = next(line for line in text.splitlines() if line.startswith("| loco |"))
    assert "| per_clip | 35.00 ± 5.77 | 4 of 4 | svm:spknorm 60.00 ± 0.00 (speaker-normalised) |" in summary
    assert summary.endswith("| 50 | no |")


@pytest.mark.parametrize(
    "protocol, seen, expected",
    [
        ("crema_d-kfold", [0], 5),  # declared by the SpeakerKFold
        ("cross-corpus", [0], 1),
        ("savee-loso", [0], 4),  # one fold per speaker of the built-in corpus
        ("loco", [0, 1], 4),  # one fold per corpus
        ("speaker-kfold", [0, 1, 2], 3),  # generic: --data.folds may differ from its default 5
        ("mine-3fold", [0, 1], 2),  # a protocol this module does not know
    ],
)
def test_fold_count_per_protocol(protocol, seen, expected):
    assert protocol_folds(protocol, [{"fold": str(f)} for f in seen]) == list(range(expected))


def test_unfinished_rows_do_not_count_as_run_folds(tmp_path):
    """A fold with an empty UA (killed run) is not run: the model stays partial."""
    append_row(
        tmp_path / "tess-loso.csv",
        {"protocol": "tess-loso", "classes": "emotions7", "model": "m", "fold": 1, "ua": ""},
        CLASSES,
    )
    add(tmp_path, "tess-loso", "tess-loso", "m", [0.5])
    rows = read_rows(tmp_path / "tess-loso.csv")
    assert protocol_folds("tess-loso", rows) == [0, 1]  # the unfinished fold still tells the fold exists
    ranked, partial, *_ = split_entries(summarize(rows), [0, 1])
    assert not ranked and [e["model"] for e in partial] == ["m"] and partial[0]["folds"] == [0]


def test_heatmap_puts_ranked_models_first_and_caps_the_rows():
    ranked = [{"model": "r0", "ua": [0.5], "folds": [0, 1], "ensemble": False, "confusion": np.eye(2)}]
    unranked = [
        {"model": f"p{i}", "ua": [0.9], "folds": [0], "ensemble": False, "confusion": np.eye(2)}
        for i in range(30)
    ]
    rows, labels, n_ranked = heatmap_rows(ranked, unranked, 2)
    assert n_ranked == 1 and len(rows) == 15 and rows[0]["model"] == "r0"
    assert labels[1] == "p0  (UA 90.0; partial, 1 of 2 folds)"


def test_plots_heatmap_written_and_bars_only_for_every_fold_models(tmp_path):
    add(tmp_path, "crema_d-kfold", "crema_d-kfold", "full", [0.5] * 5)
    add(tmp_path, "crema_d-kfold", "crema_d-kfold", "one", [0.9])
    add(tmp_path, "ravdess-6fold", "ravdess-6fold", "one", [0.9])
    (tmp_path / "ravdess-6fold_leaderboard.png").write_bytes(b"stale")
    text = write_report(tmp_path).read_text()
    for png in ("crema_d-kfold_leaderboard", "crema_d-kfold_per_class_f1", "ravdess-6fold_per_class_f1"):
        assert (tmp_path / f"{png}.png").read_bytes()[:4] == b"\x89PNG" and f"({png}.png)" in text
    assert not (tmp_path / "ravdess-6fold_leaderboard.png").exists()  # nothing ranked there: no bars


def test_leaderboard_ranks_by_ua_with_mean_and_std(tmp_path):
    add(tmp_path, "tess-loso", "tess-loso", "a", [0.5, 0.7], config=lambda fold: f"a weights {fold}")
    add(tmp_path, "tess-loso", "tess-loso", "b", [0.8, 0.8], config="b")
    text = write_report(tmp_path).read_text()
    assert "| cpu | `b` |" in text  # one recipe on every fold
    assert "| cpu | `a weights 0 (as on fold 0; other folds differ, see the CSV)` |" in text
    assert text.index("| 1 | b | 80.00 ± 0.00") < text.index("| 2 | a | 60.00 ± 14.14")
    assert "| tess-loso | speaker-independent | b | 80.00 ± 0.00 | 2 of 2 | - |  |  |" in text  # no target
    assert "UA, fold" not in text  # every model ran the same folds: no fold-matched column


def test_leaderboard_compares_models_on_the_folds_they_all_ran(tmp_path):
    """A one-fold row beside a 3-fold mean: the one-fold row is not ranked, and is shown beside the best
    ranked model's UA on its fold."""
    add(tmp_path, "loso-calls", "loso", "many", [0.4, 0.8, 0.9], config="many", classes="labels")
    add(tmp_path, "loso-calls", "loso", "one", [0.6], config="one", classes="labels")
    text = write_report(tmp_path, plots=False).read_text()
    assert (
        "| loso-calls | speaker-independent | many | 70.00 ± 26.46 | 3 of 3 | "
        "one 60.00 (partial, 1 of 3 folds) |  |  |" in text
    )
    assert "| 1 | many | 70.00 ± 26.46 | 70.00 ± 26.46 | 70.00 ± 26.46 | 3: 0-2 | 10 |" in text
    assert "| one | single model | 1 of 3: 0 | 0: 60.00 | 60.00 | 60.00 | 60.00 | many 40.00 | 10 |" in text
