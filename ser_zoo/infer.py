"""``ser-zoo infer``: emotions of files, folders and globs, or a timeline over a long recording.

Good files are classified in batches; a bad file (missing, corrupt, empty, silent, not audio) is reported with
its reason at the end and never stops the run or loses the other results. A folder's files that are not audio
are listed too, never silently dropped, and ``--format json``/``csv`` carry every skipped file with its reason
beside the results. Long recordings are read window by window from disk (``audio.read_blocks``), so memory
stays flat whatever the file's length.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import sys
from pathlib import Path
from typing import Iterator, Optional, Sequence

import numpy as np
from tqdm.auto import tqdm

from .audio import audio_info, load_audio, prepare_waveform, read_blocks, read_spans
from .data.scan import FolderScan, Skipped, scan_folder
from .data.vad import stream_speech_segments
from .errors import AudioError, ConfigError, SerZooError
from .inference import predict_waveforms
from .lit.safe_ckpt import load_module
from .memory import bound_allocator_slack
from .zoo import load_pretrained


def load_model(spec: str):
    """A zoo name / .safetensors path, or a ``.ckpt`` written by ``ser-zoo fit``; eval mode."""
    if spec.endswith(".ckpt"):
        if not Path(spec).is_file():
            raise ConfigError(f"checkpoint not found: {spec}")
        return load_module(spec).eval()
    return load_pretrained(spec)


def scan_inputs(items: Sequence[str]) -> FolderScan:
    """Files as given (even missing ones, to be reported), folders searched recursively (their files that are
    not audio listed with a reason), globs expanded."""
    out: list[Path] = []
    skipped: list[Skipped] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            scan = scan_folder(p)
            out += scan.audio
            skipped += scan.skipped
        elif any(c in item for c in "*?["):
            out += sorted(Path(f) for f in glob.glob(item, recursive=True) if Path(f).is_file())
        else:
            out.append(p)
    return FolderScan(out, skipped)


def expand_inputs(items: Sequence[str]) -> list[Path]:
    """The audio files of ``scan_inputs``."""
    return scan_inputs(items).audio


def classify_files(
    model, paths: Sequence[Path], batch_size: int = 16, max_seconds: float = 60.0, progress: bool = True
) -> tuple[list[dict], list[tuple[str, str]]]:
    """(one result per good file, [(file, reason)] for the bad ones)."""
    bound_allocator_slack()
    results, bad = [], []
    sr = model.hparams.sample_rate
    pending: list[tuple[Path, np.ndarray]] = []

    def flush():
        if pending:
            preds = predict_waveforms(model, [w for _, w in pending])
            results.extend({"file": str(p), **r} for (p, _), r in zip(pending, preds))
            pending.clear()

    for path in tqdm(paths, desc="classifying", unit="file", disable=not progress or len(paths) < 2):
        try:
            pending.append((path, load_audio(path, sr, max_seconds=max_seconds)))
        except AudioError as e:
            bad.append((str(path), str(e).removeprefix(f"{path}: ")))
            continue
        if len(pending) == batch_size:
            flush()
    flush()
    return results, bad


def stream_windows(
    path: Path, sample_rate: int, window_s: float, hop_s: float
) -> Iterator[tuple[float, np.ndarray]]:
    """(start second, mono window at ``sample_rate``) read block by block; the last partial window is kept."""
    info = audio_info(path)
    win, hop = int(window_s * info.samplerate), int(hop_s * info.samplerate)
    if hop <= 0 or win <= 0 or hop > win:
        raise ConfigError(f"window {window_s} s and hop {hop_s} s: use 0 < hop <= window")
    for i, block in enumerate(read_blocks(path, blocksize=win, overlap=win - hop)):
        if i and len(block) <= win - hop:
            break  # only the overlap left: already covered by the previous window
        yield (
            i * hop / info.samplerate,
            prepare_waveform(block, info.samplerate, sample_rate, name=str(path), allow_silent=True),
        )


def timeline(
    model, path: Path, window_s: float = 3.0, hop_s: float = 1.0, batch_size: int = 16, progress: bool = True
) -> list[dict]:
    """Per-window predictions over a recording of any length."""
    bound_allocator_slack()
    rows, chunk = [], []
    total = None  # the progress bar's length only: stream_windows names a missing or unreadable file itself
    try:
        info = audio_info(path)
        total = max(1, int(info.frames / info.samplerate / hop_s)) if info.frames else None
    except AudioError:
        pass

    def flush():
        preds = predict_waveforms(model, [w for _, w in chunk])
        rows.extend(
            {"start": round(t, 3), "end": round(t + len(w) / model.hparams.sample_rate, 3), **r}
            for (t, w), r in zip(chunk, preds)
        )
        chunk.clear()

    for t, w in tqdm(
        stream_windows(Path(path), model.hparams.sample_rate, window_s, hop_s),
        total=total,
        desc="windows",
        unit="win",
        disable=not progress,
    ):
        chunk.append((t, w))
        if len(chunk) == batch_size:
            flush()
    if chunk:
        flush()
    return rows


def split_segment(start: float, end: float, max_s: float) -> list[tuple[float, float]]:
    """A speech region cut into equal consecutive parts no longer than ``max_s`` seconds."""
    parts = max(1, int(np.ceil((end - start) / max_s - 1e-9)))
    step = (end - start) / parts
    return [(start + k * step, start + (k + 1) * step) for k in range(parts)]


def speech_rows(
    model, paths: Sequence[Path], max_segment_s: float = 10.0, batch_size: int = 16, progress: bool = True
) -> tuple[list[dict], list[tuple[str, str]]]:
    """One prediction per speech segment found by Silero VAD (segments over ``max_segment_s`` are split), for
    each file; silence and non-speech are never classified. Bad files are reported and skipped."""
    if max_segment_s <= 0:
        raise ConfigError(f"--max_segment {max_segment_s}: use a positive number of seconds")
    bound_allocator_slack()
    sr = model.hparams.sample_rate
    rows, bad, chunk = [], [], []

    def flush():
        preds = predict_waveforms(model, [w for *_, w in chunk])
        rows.extend(
            {"file": f, "start": round(s, 3), "end": round(e, 3), **r}
            for (f, s, e, _), r in zip(chunk, preds)
        )
        chunk.clear()

    for path in tqdm(paths, desc="VAD segments", unit="file", disable=not progress or len(paths) < 2):
        try:
            native = audio_info(path).samplerate
            regions = stream_speech_segments(path)
            segments = [p for r in regions for p in split_segment(*r, max_segment_s)]
            spans = [(int(start * native), int(np.ceil(end * native))) for start, end in segments]
            for (start, end), data in zip(segments, read_spans(path, spans)):
                chunk.append(
                    (
                        str(path),
                        start,
                        end,
                        prepare_waveform(data, native, sr, name=f"{path}@{start:.2f}s", allow_silent=True),
                    )
                )
                if len(chunk) == batch_size:
                    flush()
        except AudioError as e:
            bad.append((str(path), str(e).removeprefix(f"{path}: ")))
    if chunk:
        flush()
    return rows, bad


def format_rows(
    rows: list[dict],
    class_names: list[str],
    fmt: str,
    key: str = "file",
    skipped: Sequence[tuple[str, str]] = (),
) -> str:
    """The results as a table, CSV or JSON; CSV and JSON carry the ``skipped`` files and their reasons too
    (JSON: ``{"results": [...], "skipped": [{"file", "reason"}]}``; CSV: a row per skipped file with its
    ``skipped`` column filled), so a program reading them learns of every file it asked about."""
    if fmt == "json":
        gone = [{"file": f, "reason": why} for f, why in skipped]
        return json.dumps({"results": rows, "skipped": gone}, indent=1)
    keys = {"file": ["file"], "segment": ["file", "start", "end"]}.get(key, ["start", "end"])
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow([*keys, "label", "prob", *[f"p_{c}" for c in class_names], "skipped"])
        for r in rows:
            w.writerow(
                [
                    *[r[k] for k in keys],
                    r["label"],
                    f"{r['prob']:.4f}",
                    *[f"{r['probs'][c]:.4f}" for c in class_names],
                    "",
                ]
            )
        for f, why in skipped:
            w.writerow([f, *[""] * (len(keys) + len(class_names) + 1), why])
        return buf.getvalue()
    if fmt != "table":
        raise ConfigError(f"--format {fmt!r}; use table, csv or json")
    width = max([len(str(r[keys[0]])) for r in rows] + [4])
    lines = [f"{'  '.join(f'{k:<{width}}' for k in keys)}  {'emotion':<10} prob"]
    lines += [
        f"{'  '.join(f'{str(r[k]):<{width}}' for k in keys)}  {r['label']:<10} {r['prob']:.3f}" for r in rows
    ]
    return "\n".join(lines)


def plot_timeline(rows: list[dict], class_names: list[str], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [r["start"] for r in rows]
    fig, ax = plt.subplots(figsize=(10, 3.2))
    ax.stackplot(t, *[[r["probs"][c] for r in rows] for c in class_names], labels=class_names, step="post")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("probability")
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", bbox_to_anchor=(1, 1), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def run_infer(
    inputs: Sequence[str],
    model_spec: str,
    fmt: str = "table",
    out: Optional[str] = None,
    batch_size: int = 16,
    window: Optional[float] = None,
    hop: float = 1.0,
    plot: Optional[str] = None,
    vad: bool = False,
    max_segment: float = 10.0,
) -> int:
    """The CLI job; returns the exit code (0 when every file was classified, 1 when some were skipped)."""
    if fmt not in ("table", "csv", "json"):
        raise ConfigError(f"--format {fmt!r}; use table, csv or json")
    if vad and window:
        raise ConfigError("--vad classifies speech segments and --window fixed windows; give one of them")
    model = load_model(model_spec)
    names = list(model.class_names)
    paths, not_audio = scan_inputs(inputs)
    if not paths:
        listed = f" ({len(not_audio)} other files, e.g. {not_audio[0].path})" if not_audio else ""
        raise SerZooError(f"no audio files found in {list(inputs)}{listed}; give files, folders or globs")
    if window:
        if len(paths) != 1:
            raise ConfigError("--window makes a timeline of one recording; give exactly one file")
        rows, bad, key = timeline(model, paths[0], window, hop, batch_size), [], "start"
        if plot:
            print(f"timeline plot: {plot_timeline(rows, names, Path(plot))}", file=sys.stderr)
    elif vad:
        (rows, bad), key = speech_rows(model, paths, max_segment, batch_size), "segment"
    else:
        (rows, bad), key = classify_files(model, paths, batch_size), "file"
    bad = [*bad, *((s.path, s.reason) for s in not_audio)]
    text = format_rows(rows, names, fmt, key=key, skipped=bad) if rows or fmt != "table" else ""
    if out:
        Path(out).write_text(text + ("\n" if not text.endswith("\n") else ""))
        print(f"wrote {len(rows)} rows to {out}", file=sys.stderr)
    elif text:
        print(text)
    if bad:
        print(f"skipped {len(bad)} file(s):", file=sys.stderr)
        for f, why in bad:
            print(f"  {f}: {why}", file=sys.stderr)
    return 1 if bad else 0
