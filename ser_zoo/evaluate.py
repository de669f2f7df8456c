"""``ser-zoo evaluate``: score a trained model on labelled clips before any training (zero-shot).

Only the classes the model and the data share are scored: clips of labels the model lacks are left out, and
the model's choice is restricted to the shared classes (a model that knows ``calm`` cannot spend a vote on it
where the data has no calm clip). Both lists are printed beside the numbers. With ``--data.protocol`` each
fold's test speakers are scored on their own (mean ± std over the folds, as a fit on those folds would be
reported); without it, every clip at once. A model that heard any scored speaker (its card lists them) is
refused: the number would not be speaker-independent.

A speaker-normalised zoo model (``general6_spknorm``) is scored the way it is used: each speaker's clips are
standardised together by that speaker's statistics (so every clip needs its speaker, and a speaker with fewer
than ``MIN_SPEAKER_CLIPS`` clips is left out and listed); its figures say "speaker-normalised" beside them.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np
import torch
from torch.utils.data import DataLoader

from .bench.ensemble_fold import member_reading
from .checkpoint_file import load_checkpoint_file
from .data.clips import ClipDataset, build_caches, default_data_root, pad_collate
from .data.corpora import Clip
from .data.sources import as_list, class_names, keep_classes, labels_found, read_sources
from .data.splits import Protocol, check_protocol, get_protocol, with_folds
from .errors import ConfigError, SerZooError
from .infer import load_model
from .lit.module import stage_metrics
from .models.speaker_normalized import MIN_SPEAKER_CLIPS, is_speaker_normalized


def shared_classes(model_classes: Sequence[str], data_classes: Sequence[str]) -> list[str]:
    """The classes both sides know, in the data's order."""
    return [c for c in data_classes if c in set(model_classes)]


@torch.no_grad()
def predict_clips(model, dataset: ClipDataset, batch_size: int, pad_to: int) -> torch.Tensor:
    """Logits of every clip of ``dataset``, in its order."""
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        collate_fn=functools.partial(pad_collate, min_length=pad_to),
    )
    model.eval()
    out = []
    for batch in loader:
        wave, lengths = batch["audio"].to(model.device), batch["lengths"].to(model.device)
        out.append(model(wave, lengths, gender=batch["gender"].to(model.device)).float().cpu())
    return torch.cat(out) if out else torch.zeros(0, len(model.class_names))


def speaker_normalized_logits(model, dataset: ClipDataset, batch_size: int) -> tuple[torch.Tensor, list[str]]:
    """Log-probabilities of a speaker-normalised model for every clip of ``dataset`` (read whole, trimmed as
    the model was trained), each speaker's clips standardised together; rows of speakers with too few clips
    are NaN, and those speakers are returned."""
    speakers = [c.speaker for c in dataset.clips]
    if not all(speakers):
        raise ConfigError(
            "a speaker-normalised model scores each speaker's clips together, but some clips have no "
            "speaker; name them in the manifest's speaker column (or a folder per speaker)"
        )
    counts = {s: speakers.count(s) for s in set(speakers)}
    thin = sorted(s for s, n in counts.items() if n < MIN_SPEAKER_CLIPS)
    rows = [i for i, s in enumerate(speakers) if s not in thin]
    out = torch.full((len(speakers), len(model.class_names)), float("nan"))
    if rows:
        waves = [dataset[i].wave.numpy() for i in rows]
        probs = model.probabilities(
            model.vectors(waves, batch_size, trimmed=True), [speakers[i] for i in rows]
        )
        out[rows] = torch.from_numpy(np.log(np.clip(probs, 1e-12, None))).float()
    return out, thin


def score(logits: torch.Tensor, target: torch.Tensor, num_classes: int) -> dict[str, float]:
    """WA, UA and macro-F1 as a fit's test reports them (``stage_metrics``)."""
    metrics = stage_metrics(num_classes)
    metrics.update(logits, target)
    return {k: float(v) for k, v in metrics.compute().items()}


def evaluate(
    model_spec: str,
    corpora: Union[str, Sequence[str]],
    root: Optional[str] = None,
    protocol: Optional[str] = None,
    folds: Optional[int] = None,
    classes: Optional[Union[str, Sequence[str]]] = None,
    label_map: Optional[dict[str, str]] = None,
    batch_size: int = 32,
) -> dict[str, Any]:
    """Zero-shot WA, UA and macro-F1 of a model on labelled clips, per ``protocol`` fold or on all clips."""
    model = load_model(model_spec)
    by_speaker = is_speaker_normalized(model)
    saved = load_checkpoint_file(model_spec) if model_spec.endswith(".ckpt") else None
    reading = member_reading(model, saved)
    table = read_sources(as_list(corpora), root or default_data_root(), label_map)
    if table.missing:
        raise SerZooError(f"{len(table.missing)} listed files do not exist: {', '.join(table.missing[:5])}")
    data_classes = class_names(table, classes, "")
    shared = shared_classes(model.class_names, data_classes)
    if not shared:
        raise ConfigError(
            f"the model's classes {list(model.class_names)} and the data's {list(data_classes)} share none; "
            "map your labels onto the model's with --data.label_map"
        )
    clips = keep_classes(table.clips, data_classes, say=table.custom)
    left_out = {c: sum(x.emotion == c for x in clips) for c in data_classes if c not in shared}
    clips = [c for c in clips if c.emotion in shared]
    proto = _protocol(protocol, folds, clips)
    _refuse_heard(getattr(model, "card", None) or {}, clips, model_spec)
    dataset, unread = _dataset(clips, shared, reading)
    clips = dataset.clips
    columns = [list(model.class_names).index(c) for c in shared]
    pad_to = dataset.num_samples if reading["eval_crop"] == "center" else 0
    if by_speaker:
        logits, thin = speaker_normalized_logits(model, dataset, batch_size)
    else:
        logits, thin = predict_clips(model, dataset, batch_size, pad_to), []
    logits = logits[:, columns]
    target = torch.tensor(dataset.labels)
    scored = set(np.flatnonzero(~logits.isnan().any(1).numpy()).tolist())
    parts = [
        (fold, [i for i in idx if i in scored])
        for fold, idx in (
            [(f, proto.split(clips, f).test) for f in range(proto.num_folds(clips))]
            if proto
            else [(None, list(range(len(clips))))]
        )
    ]
    rows = [
        {
            "fold": fold,
            "test_speakers": sorted({clips[i].speaker for i in idx if clips[i].speaker}),
            "clips": len(idx),
            **score(logits[idx], target[idx], len(shared)),
        }
        for fold, idx in parts
        if idx
    ]
    if not rows and thin:
        raise ConfigError(
            f"no speaker has {MIN_SPEAKER_CLIPS} clips, which the speaker-normalised '{model_spec}' needs to "
            f"score any ({len(thin)} speakers, e.g. {thin[0]}): give more clips per speaker"
        )
    summary = {
        k: {"mean": float(np.mean([r[k] for r in rows])), "std": _std([r[k] for r in rows])}
        for k in ("wa", "ua", "f1")
    }
    return {
        "model": model_spec,
        "corpora": as_list(corpora),
        "protocol": proto.name if proto else "all clips",
        "speaker_independent": bool(proto is None or proto.speaker_independent),
        "shared_classes": shared,
        "model_only_classes": [c for c in model.class_names if c not in shared],
        "data_only_labels": left_out,
        "data_labels": labels_found(table.clips),
        "unreadable": unread,
        "skipped_files": [list(s) for s in table.skipped],
        "reading": reading,
        "speaker_normalized": by_speaker,
        "speakers_left_out": thin,
        "folds": rows,
        "summary": summary,
    }


def _protocol(name: Optional[str], folds: Optional[int], clips: Sequence[Clip]) -> Optional[Protocol]:
    """The protocol whose test folds are scored apart (None: all clips at once), checked against the clips."""
    if name is None:
        return None
    proto = get_protocol(name) if folds is None else with_folds(get_protocol(name), folds)
    errors, _ = check_protocol(clips, proto)
    if errors:
        raise ConfigError(errors[0])
    return proto


def _refuse_heard(card: dict[str, Any], clips: Sequence[Clip], model_spec: str) -> None:
    heard = sorted(set(card.get("heard_speakers", ())) & {c.speaker for c in clips})
    if heard:
        raise ConfigError(
            f"'{model_spec}' heard {len(heard)} of these speakers in training or validation "
            f"({', '.join(heard[:5])}); its score on them would not be speaker-independent: evaluate another "
            "model or other speakers"
        )


def _dataset(
    clips: Sequence[Clip], shared: Sequence[str], reading: dict[str, Any]
) -> tuple[ClipDataset, dict[str, str]]:
    """The readable clips as the model was benched to read them (crop, VAD trim), and the unreadable ones."""
    cache = build_caches(clips, None, reading["sample_rate"], reading["max_clip_seconds"])
    unread = {f"{name}/{clip_id}": why for name, c in cache.items() for clip_id, why in c.skipped.items()}
    clips = [c for c in clips if c.id in cache[c.corpus]]
    if reading["vad_trim"]:
        from .data.vad import TrimmedCache

        cache = {
            name: TrimmedCache(c, [x.id for x in clips if x.corpus == name]) for name, c in cache.items()
        }
    index = {name: i for i, name in enumerate(shared)}
    num_samples = int(round(reading["clip_seconds"] * reading["sample_rate"]))
    labels = [index[c.emotion] for c in clips]
    return ClipDataset(clips, labels, cache, reading["eval_crop"], num_samples), unread


def _std(values: list[float]) -> float:
    """Sample standard deviation over folds, as the leaderboard reports it."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def format_report(result: dict[str, Any], fmt: str = "table") -> str:
    if fmt == "json":
        return json.dumps(result, indent=1)
    if fmt != "table":
        raise ConfigError(f"--format {fmt!r}; use table or json")
    shared = result["shared_classes"]
    lines = [
        f"zero-shot: {result['model']} on {', '.join(result['corpora'])} (no training)",
        f"scored: the {len(shared)} classes the model and the data share: {', '.join(shared)}",
    ]
    if result["model_only_classes"]:
        lines.append(
            f"model classes absent from the data (never predicted): {', '.join(result['model_only_classes'])}"
        )
    if result["data_only_labels"]:
        left = ", ".join(f"{k} ({v} clips)" for k, v in result["data_only_labels"].items())
        lines.append(f"data labels the model lacks (left out): {left}")
    unread = (
        ("unreadable clips", list(result["unreadable"].items())),
        ("files not read", result["skipped_files"]),
    )
    for what, items in unread:
        if items:
            lines.append(f"{what} ({len(items)}): " + "; ".join(f"{a}: {b}" for a, b in items[:5]))
    if result.get("speakers_left_out"):
        thin = result["speakers_left_out"]
        lines.append(
            f"speakers with fewer than {MIN_SPEAKER_CLIPS} clips (left out of the speaker-normalised scores, "
            f"{len(thin)}): {', '.join(thin[:10])}"
        )
    if result.get("speaker_normalized"):
        lines.append(
            "speaker-normalised: each speaker's clips were standardised together by that speaker's "
            "statistics (unlabelled), so a clip is judged beside its speaker's other clips; not a per-clip "
            "figure"
        )
    protocol = result["protocol"]
    lines.append(f"{'protocol':<14} {'fold':>4} {'clips':>6} {'WA':>7} {'UA':>7} {'F1':>7}  test speakers")
    for r in result["folds"]:
        fold = "-" if r["fold"] is None else str(r["fold"])
        lines.append(
            f"{protocol:<14} {fold:>4} {r['clips']:>6} {100 * r['wa']:>7.2f} {100 * r['ua']:>7.2f} "
            f"{100 * r['f1']:>7.2f}  {' '.join(r['test_speakers'])}"
        )
    if len(result["folds"]) > 1:
        s = result["summary"]
        lines.append(
            f"{protocol:<14} mean ± std over {len(result['folds'])} folds: WA {100 * s['wa']['mean']:.2f} ± "
            f"{100 * s['wa']['std']:.2f}  UA {100 * s['ua']['mean']:.2f} ± {100 * s['ua']['std']:.2f}  "
            f"macro-F1 {100 * s['f1']['mean']:.2f} ± {100 * s['f1']['std']:.2f}"
        )
    if not result["speaker_independent"]:
        lines.append(f"{protocol}: NOT speaker-independent")
    return "\n".join(lines)


def run_evaluate(fmt: str = "table", out: Optional[str] = None, **kwargs: Any) -> int:
    """The CLI job: the report on stdout or in ``out``."""
    text = format_report(evaluate(**kwargs), fmt)
    if out:
        Path(out).write_text(text + "\n")
        print(f"wrote {out}")
    else:
        print(text)
    return 0
