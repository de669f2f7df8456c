"""``ser-zoo infer``: emotions of files, folders and globs, or a timeline over a long recording.

Good files are classified in batches; a bad file (missing, corrupt, empty, silent, not audio) is reported with
its reason at the end and never stops the run or loses the other results, nor does one the model fails on
(``batch_answers.RetryingBatches``), nor Ctrl-C. A folder's files that are not audio
are listed too, never silently dropped, and ``--format json``/``csv`` carry every skipped file with its reason
beside the results. Long recordings are read window by window from disk (``audio.read_blocks``), so memory
stays flat whatever the file's length.

With ``speech_gate`` (the CLI's default when silero-vad is installed) a file or window Silero VAD finds no
speech in is answered "no speech" with the VAD's evidence instead of an emotion (``ser_zoo.speech_gate``): a
whole file is judged from its own samples, the windows and segments of a long recording from one streamed VAD
pass over the file. Digital silence is then such an answer, not a skipped file.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import sys
from pathlib import Path
from typing import Iterator, NamedTuple, Optional, Sequence

import numpy as np
from tqdm.auto import tqdm

from .audio import MIN_SAMPLES, audio_info, load_audio, prepare_waveform, read_blocks, read_spans
from .batch_answers import RetryingBatches, failure, not_classified, stopped
from .data.scan import FolderScan, Skipped, scan_folder
from .data.vad import VAD_RATE
from .errors import AudioError, ConfigError, SerZooError, error_reason
from .memory import bound_allocator_slack
from .models.network import load_network
from .models.speaker_normalized import is_speaker_normalized
from .speaker_infer import classify_speakers
from .speech_gate import (
    NO_SPEECH,
    SpeechEvidence,
    answer,
    check_waves,
    file_track,
    gated_row,
    no_speech_row,
    resolve_gate,
    span_evidence,
)
from .zoo import load_pretrained


def load_model(spec: str, purpose: Optional[str] = None):
    """A zoo name / .safetensors path, or a ``.ckpt`` written by ``ser-zoo fit``; eval mode. ``purpose`` names
    a job that needs a network (``listen``, ONNX export, AdaBN): a speaker-normalised zoo model, which only
    classifies a speaker's clips together, then fails in one line."""
    if spec.endswith(".ckpt"):
        if not Path(spec).is_file():
            raise ConfigError(f"checkpoint not found: {spec}")
        return load_network(spec)
    model = load_pretrained(spec)
    if purpose and is_speaker_normalized(model):
        raise ConfigError(
            f"{spec} is a speaker-normalised classifier: it classifies a speaker's clips together "
            f"(ser-zoo infer FOLDER --model {spec}); {purpose} needs a network checkpoint, e.g. general6"
        )
    return model


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
    model,
    paths: Sequence[Path],
    batch_size: int = 16,
    max_seconds: float = 60.0,
    progress: bool = True,
    speech_gate: bool = False,
) -> tuple[list[dict], list[tuple[str, str]]]:
    """(one result per good file, [(file, reason)] for the bad ones). With ``speech_gate`` each batch goes
    through Silero first and a file without speech, silent ones included, gets a "no speech" row.

    No finished work is lost: a batch that fails is retried file by file, so only the file that fails alone is
    reported (with the error) and the others are answered; Ctrl-C stops the run, and the files not reached are
    reported as not classified beside the results so far."""
    bound_allocator_slack()
    bad: list[tuple[str, str]] = []
    sr = model.hparams.sample_rate

    def classify(items: Sequence[tuple[dict, np.ndarray]]) -> list[dict]:
        checks = check_waves([w for _, w in items], sr) if speech_gate else [None] * len(items)
        return answer(model, items, checks)

    batches = RetryingBatches(classify, batch_size, lambda item, e: bad.append((item[0]["file"], failure(e))))
    done = 0
    try:
        for path in tqdm(paths, desc="classifying", unit="file", disable=not progress or len(paths) < 2):
            item = None
            try:
                item = (
                    {"file": str(path)},
                    load_audio(path, sr, max_seconds=max_seconds, allow_silent=speech_gate),
                )
            except AudioError as e:
                bad.append((str(path), error_reason(e, path)))
            done += 1  # before answering: from here on a Ctrl-C finds this file in ``pending``
            if item:
                batches.add(item)
        batches.flush()
    except KeyboardInterrupt:
        left = [keys["file"] for keys, _ in batches.pending] + [str(p) for p in paths[done:]]
        bad += [(f, not_classified()) for f in left]
    return batches.answers, bad


class Windows(NamedTuple):
    """A timeline's windows in a file's native samples: length, hop, and the shortest last window kept (one
    analysis window at the model's rate, ``audio.MIN_SAMPLES``: a shorter sliver holds nothing a front-end can
    read)."""

    win: int
    hop: int
    tail: int

    @classmethod
    def of(cls, native_rate: int, sample_rate: int, window_s: float, hop_s: float) -> "Windows":
        win, hop = int(window_s * native_rate), int(hop_s * native_rate)
        if hop <= 0 or win <= 0 or hop > win:
            raise ConfigError(f"window {window_s} s and hop {hop_s} s: use 0 < hop <= window")
        return cls(win, hop, int(np.ceil(MIN_SAMPLES * native_rate / sample_rate)))

    def count(self, frames: int) -> Optional[int]:
        """How many windows ``stream_windows`` yields from ``frames`` samples (None when unknown)."""
        if not frames:
            return None
        n = 1 if frames <= self.win else int(np.ceil((frames - self.win) / self.hop)) + 1
        return n - 1 if n > 1 and frames - (n - 1) * self.hop < self.tail else n


def stream_windows(
    path: Path, sample_rate: int, window_s: float, hop_s: float
) -> Iterator[tuple[float, np.ndarray]]:
    """(start second, mono window at ``sample_rate``) read block by block; the last partial window is kept
    unless it is shorter than one analysis window (``Windows.tail``)."""
    info = audio_info(path)
    win, hop, tail = Windows.of(info.samplerate, sample_rate, window_s, hop_s)
    for i, block in enumerate(read_blocks(path, blocksize=win, overlap=win - hop)):
        if i and (len(block) <= win - hop or len(block) < tail):
            break  # only the overlap (or a sliver too short to read) left: covered by the previous window
        yield (
            i * hop / info.samplerate,
            prepare_waveform(block, info.samplerate, sample_rate, name=str(path), allow_silent=True),
        )


def timeline(
    model,
    path: Path,
    window_s: float = 3.0,
    hop_s: float = 1.0,
    batch_size: int = 16,
    progress: bool = True,
    speech_gate: bool = False,
) -> tuple[list[dict], list[tuple[str, str]]]:
    """(per-window predictions over a recording of any length, [(window, reason)] for the windows that could
    not be classified); with ``speech_gate`` a window holding less speech than the gate asks (judged from one
    streamed VAD pass over the file) is "no speech". Ctrl-C keeps the windows done and reports where the
    timeline stops."""
    bound_allocator_slack()
    sr = model.hparams.sample_rate
    track = file_track(path) if speech_gate else None
    total = None  # the progress bar's length only: stream_windows names a bad file or window itself
    try:
        info = audio_info(path)
        total = Windows.of(info.samplerate, sr, window_s, hop_s).count(info.frames)
    except (AudioError, ConfigError):
        pass
    bad: list[tuple[str, str]] = []

    def classify(chunk: Sequence[tuple[float, np.ndarray]]) -> list[dict]:
        spans = [(t, t + len(w) / sr) for t, w in chunk]
        checks = [span_evidence(track, *span) if track else None for span in spans]
        keyed = [({"start": round(a, 3), "end": round(b, 3)}, w) for (a, b), (_, w) in zip(spans, chunk)]
        return answer(model, keyed, checks)

    batches = RetryingBatches(
        classify, batch_size, lambda item, e: bad.append((f"{path}@{item[0]:.2f}s", failure(e)))
    )
    windows = stream_windows(Path(path), sr, window_s, hop_s)
    try:
        for item in tqdm(windows, total=total, desc="windows", unit="win", disable=not progress):
            batches.add(item)
        batches.flush()
    except KeyboardInterrupt:
        stop = batches.pending[0][0] if batches.pending else (batches.answers or [{"end": 0.0}])[-1]["end"]
        bad.append((str(path), f"timeline stops at {stop:.2f} s: {stopped()}"))
    return batches.answers, bad


def split_segment(start: float, end: float, max_s: float) -> list[tuple[float, float]]:
    """A speech region cut into equal consecutive parts no longer than ``max_s`` seconds."""
    parts = max(1, int(np.ceil((end - start) / max_s - 1e-9)))
    step = (end - start) / parts
    return [(start + k * step, start + (k + 1) * step) for k in range(parts)]


def speech_rows(
    model,
    paths: Sequence[Path],
    max_segment_s: float = 10.0,
    batch_size: int = 16,
    progress: bool = True,
    speech_gate: bool = False,
) -> tuple[list[dict], list[tuple[str, str]]]:
    """One prediction per speech segment found by Silero VAD (segments over ``max_segment_s`` are split), for
    each file; silence and non-speech are never classified. Bad files are reported and skipped. With
    ``speech_gate`` every segment row carries its evidence and a file without any segment gets one "no
    speech" row (without it, such a file has no row at all)."""
    if max_segment_s <= 0:
        raise ConfigError(f"--max_segment {max_segment_s}: use a positive number of seconds")
    bound_allocator_slack()
    sr = model.hparams.sample_rate
    bad: list[tuple[str, str]] = []

    def classify(
        chunk: Sequence[tuple[str, float, float, np.ndarray, Optional[SpeechEvidence]]],
    ) -> list[dict]:
        keyed = [({"file": f, "start": round(s, 3), "end": round(e, 3)}, w) for f, s, e, w, _ in chunk]
        preds = answer(model, keyed, [None] * len(chunk))  # every segment is speech by construction
        return [r if ev is None else gated_row(r, ev) for r, (*_, ev) in zip(preds, chunk)]

    def on_error(item, e: Exception) -> None:
        bad.append((item[0], f"segment {item[1]:.2f}-{item[2]:.2f} s {failure(e)}"))

    batches = RetryingBatches(classify, batch_size, on_error)
    done = 0
    try:
        for path in tqdm(paths, desc="VAD segments", unit="file", disable=not progress or len(paths) < 2):
            try:
                segment_file(path, sr, max_segment_s, speech_gate, batches)
            except AudioError as e:
                bad.append((str(path), error_reason(e, path)))
            done += 1
        batches.flush()
    except KeyboardInterrupt:
        left = dict.fromkeys([item[0] for item in batches.pending] + [str(p) for p in paths[done:]])
        bad += [(f, f"not (fully) classified: {stopped()}") for f in left]
    return batches.answers, bad


def segment_file(path: Path, sample_rate: int, max_segment_s: float, speech_gate: bool, batches) -> None:
    """Queue ``path``'s speech segments on ``batches`` (a file without any: its "no speech" row if gated)."""
    native = audio_info(path).samplerate
    track = file_track(path)
    if speech_gate and not track.regions:
        batches.flush()  # rows stay in file order
        keys = {"file": str(path), "start": 0.0, "end": round(track.seconds, 3)}
        batches.answers.append(no_speech_row(keys, span_evidence(track, 0.0, track.seconds)))
    regions = [(s / VAD_RATE, e / VAD_RATE) for s, e in track.regions]
    segments = [p for r in regions for p in split_segment(*r, max_segment_s)]
    spans = [(int(start * native), int(np.ceil(end * native))) for start, end in segments]
    for (start, end), data in zip(segments, read_spans(path, spans)):
        wave = prepare_waveform(data, native, sample_rate, name=f"{path}@{start:.2f}s", allow_silent=True)
        batches.add((str(path), start, end, wave, span_evidence(track, start, end) if speech_gate else None))


#: CSV columns of the no-speech check, after ``skipped`` so the older columns keep their places
GATE_COLUMNS = ["speech", "vad_speech_s", "vad_max_p", "vad_mean_p", "vad_threshold"]


def _gate_cells(row: Optional[dict]) -> list[str]:
    """A row's GATE_COLUMNS cells (blank for a skipped file)."""
    if row is None:
        return [""] * len(GATE_COLUMNS)
    v = row["vad"]
    return [
        str(row["speech"]).lower(),
        *(f"{v[k]:.3f}" for k in ("speech_s", "max_prob", "mean_prob")),
        f"{v['threshold']:g}",
    ]


def _csv(rows, class_names, keys, skipped, speech_gate: bool) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        [
            *keys,
            "label",
            "prob",
            *[f"p_{c}" for c in class_names],
            "skipped",
            *(GATE_COLUMNS if speech_gate else []),
        ]
    )
    for r in rows:
        scores = (
            [f"{r['prob']:.4f}", *[f"{r['probs'][c]:.4f}" for c in class_names]]
            if r["probs"] is not None
            else [""] * (1 + len(class_names))
        )
        w.writerow([*[r[k] for k in keys], r["label"], *scores, "", *(_gate_cells(r) if speech_gate else [])])
    for f, why in skipped:
        w.writerow(
            [f, *[""] * (len(keys) + len(class_names) + 1), why, *(_gate_cells(None) if speech_gate else [])]
        )
    return buf.getvalue()


def _table_line(r: dict, keys: list[str], width: dict[str, int]) -> str:
    """``clip.wav  angry      0.812``, or for a row without speech its evidence:
    ``clip.wav  no speech  (VAD: 0.00 s speech < 0.25 s, max p 0.04 < 0.5, mean p 0.01)``."""
    where = "  ".join(f"{str(r[k]):<{width[k]}}" for k in keys)
    if r.get("speech") is False:
        return f"{where}  {NO_SPEECH:<10} ({SpeechEvidence.from_dict(r['vad']).describe()})"
    return f"{where}  {r['label']:<10} {r['prob']:.3f}"


def format_rows(
    rows: list[dict],
    class_names: list[str],
    fmt: str,
    key: str = "file",
    skipped: Sequence[tuple[str, str]] = (),
    speech_gate: bool = False,
) -> str:
    """The results as a table, CSV or JSON; CSV and JSON carry the ``skipped`` files and their reasons too
    (JSON: ``{"results": [...], "skipped": [{"file", "reason"}]}``; CSV: a row per skipped file with its
    ``skipped`` column filled), so a program reading them learns of every file it asked about.

    With ``speech_gate`` every row carries the VAD's evidence: JSON rows ``speech`` (bool) and ``vad``
    (``speech_s``, ``max_prob``, ``mean_prob``, ``threshold``, ``min_speech_s``), a no-speech row ``label``
    "no speech" with ``prob`` and ``probs`` null; CSV the GATE_COLUMNS; the table the evidence in place of
    the probability on a no-speech line."""
    if fmt == "json":
        gone = [{"file": f, "reason": why} for f, why in skipped]
        return json.dumps({"results": rows, "skipped": gone}, indent=1)
    keys = {"file": ["file"], "segment": ["file", "start", "end"]}.get(key, ["start", "end"])
    if fmt == "csv":
        return _csv(rows, class_names, keys, skipped, speech_gate)
    if fmt != "table":
        raise ConfigError(f"--format {fmt!r}; use table, csv or json")
    width = {k: max([len(str(r[k])) for r in rows] + [len(k)]) for k in keys}  # each column its own
    lines = [f"{'  '.join(f'{k:<{width[k]}}' for k in keys)}  {'emotion':<10} prob"]
    return "\n".join(lines + [_table_line(r, keys, width) for r in rows])


def plot_timeline(rows: list[dict], class_names: list[str], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [r["start"] for r in rows]
    fig, ax = plt.subplots(figsize=(10, 3.2))
    probs = [[(r["probs"] or {}).get(c, 0.0) for r in rows] for c in class_names]  # no speech: a gap
    ax.stackplot(t, *probs, labels=class_names, step="post")
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
    speech_gate: str = "auto",
    speaker_by: Optional[str] = None,
) -> int:
    """The CLI job; returns the exit code (0 when every file was classified or found without speech, 1 when
    some were skipped). A speaker-normalised model classifies each speaker's files together, the speakers
    told apart by ``speaker_by`` (``speaker_infer.SPEAKER_BY``; default: folder)."""
    if fmt not in ("table", "csv", "json"):
        raise ConfigError(f"--format {fmt!r}; use table, csv or json")
    if vad and window:
        raise ConfigError("--vad classifies speech segments and --window fixed windows; give one of them")
    gate, note = resolve_gate(speech_gate)
    if note:
        print(note, file=sys.stderr)
    model = load_model(model_spec)
    names = list(model.class_names)
    by_speaker = is_speaker_normalized(model)
    if by_speaker and (window or vad):
        raise ConfigError(
            f"{model_spec} classifies a speaker's whole clips together; --window and --vad cut one recording "
            "into parts: use a network model for those (e.g. general6)"
        )
    if speaker_by and not by_speaker:
        raise ConfigError(
            f"--speaker_by groups files for a speaker-normalised model (e.g. general6_spknorm); {model_spec} "
            "classifies each file alone: drop --speaker_by"
        )
    paths, not_audio = scan_inputs(inputs)
    if not paths:
        listed = f" ({len(not_audio)} other files, e.g. {not_audio[0].path})" if not_audio else ""
        raise SerZooError(f"no audio files found in {list(inputs)}{listed}; give files, folders or globs")
    if window:
        if len(paths) != 1:
            raise ConfigError("--window makes a timeline of one recording; give exactly one file")
        (rows, bad), key = timeline(model, paths[0], window, hop, batch_size, speech_gate=gate), "start"
        if plot:
            print(f"timeline plot: {plot_timeline(rows, names, Path(plot))}", file=sys.stderr)
    elif vad:
        (rows, bad), key = speech_rows(model, paths, max_segment, batch_size, speech_gate=gate), "segment"
    elif by_speaker:
        rows, bad, notes = classify_speakers(
            model, paths, speaker_by or "folder", batch_size, speech_gate=gate
        )
        key = "file"
        for line in notes:
            print(line, file=sys.stderr)
    else:
        (rows, bad), key = classify_files(model, paths, batch_size, speech_gate=gate), "file"
    bad = [*bad, *((s.path, s.reason) for s in not_audio)]
    text = (
        format_rows(rows, names, fmt, key=key, skipped=bad, speech_gate=gate)
        if rows or fmt != "table"
        else ""
    )
    if out:
        Path(out).write_text(text + ("\n" if not text.endswith("\n") else ""))
        print(f"wrote {len(rows)} rows to {out}", file=sys.stderr)
    elif text:
        print(text)
    quiet = sum(r.get("speech") is False for r in rows)
    if quiet:
        what, of = ("window", len(rows)) if key == "start" else ("file", len({r["file"] for r in rows}))
        print(
            f"no speech (Silero VAD) in {quiet} of {of} {what}(s): no emotion named; "
            "--speech_gate off classifies them anyway",
            file=sys.stderr,
        )
    if bad:
        print(f"skipped {len(bad)} file(s):", file=sys.stderr)
        for f, why in bad:
            print(f"  {f}: {why}", file=sys.stderr)
    return 1 if bad else 0
