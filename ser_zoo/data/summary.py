"""Per-corpus counts of clips, speakers and hours, and clips per emotion: a first look at a data root."""

from __future__ import annotations

from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable

import soundfile as sf

from .corpora import READERS, Clip, read_corpus
from .labels import EMOTIONS


def _seconds(clip: Clip) -> float:
    try:
        info = sf.info(clip.path)
        return info.frames / info.samplerate
    except Exception:  # an unreadable clip still counts as a clip; the cache build reports it
        return 0.0


def summarize(root: str | Path, corpora: Iterable[str] | None = None) -> dict[str, dict]:
    """{corpus: {clips, speakers, female, male, hours, emotions: {emotion: clips}}} for corpora present."""
    out = {}
    for name in corpora or READERS:
        if not (Path(root) / name).is_dir():
            continue
        clips = read_corpus(name, root)
        with ThreadPoolExecutor(4) as pool:
            seconds = sum(pool.map(_seconds, clips))
        genders = Counter(g for g in {(c.speaker, c.gender) for c in clips})
        out[name] = {
            "clips": len(clips),
            "speakers": len({c.speaker for c in clips}),
            "female": sum(v for (_, g), v in genders.items() if g == "female"),
            "male": sum(v for (_, g), v in genders.items() if g == "male"),
            "hours": seconds / 3600,
            "emotions": dict(Counter(c.emotion for c in clips)),
        }
    return out


def format_summary(summary: dict[str, dict]) -> str:
    lines = [f"{'corpus':<9} {'clips':>6} {'speakers':>9} {'(f/m)':>8} {'hours':>6}"]
    for name, s in summary.items():
        lines.append(
            f"{name:<9} {s['clips']:>6} {s['speakers']:>9} {s['female']:>4}/{s['male']:<3} {s['hours']:>6.2f}"
        )
    total = defaultdict(float)
    for s in summary.values():
        for k in ("clips", "speakers", "hours"):
            total[k] += s[k]
    lines.append(
        f"{'total':<9} {int(total['clips']):>6} {int(total['speakers']):>9} {'':>8} {total['hours']:>6.2f}"
    )
    lines.append("")
    lines.append(f"{'clips per emotion':<18}" + "".join(f"{n:>10}" for n in summary))
    for emotion in EMOTIONS:
        lines.append(
            f"{emotion:<18}" + "".join(f"{s['emotions'].get(emotion, 0):>10}" for s in summary.values())
        )
    return "\n".join(lines)
