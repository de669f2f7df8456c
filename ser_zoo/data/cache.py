"""Decode a clip list once into one memory-mapped int16 array, so epochs never reopen audio files.

The cache key hashes every clip's id, path, size and mtime plus the sample rate and length limit, so a changed
corpus, file list or setting builds a new cache (for your own corpora the path inside the corpus, so a corpus
moved or renamed with its files' mtimes, as ``mv`` does, reuses its cache). Opening checks the index against
the array (key, size on disk, npy header, total length), so a truncated or foreign file is rebuilt, not read.
``clip_key`` names one decoded clip by what it is (corpus, rate, clip id and a digest of its own samples): a
corpus copied or re-mounted with new mtimes, or another protocol's clip list over the same corpus (the 6- and
7-class unions), builds another cache whose clips keep their keys, so the per-clip feature caches keyed by
them (CREPE, GE2E, clip vectors, VAD offsets, which cost hours on a CPU) are found again. Builds hold a file
lock and publish with an atomic rename, so two processes never see (or write) a half-built cache; a builder
killed mid-way leaves only a temp folder, removed by the next build. Clips that fail to decode are reported
and left out; the rest are kept.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np
from filelock import FileLock
from tqdm.auto import tqdm

from ..audio import load_audio
from ..errors import AudioError
from .corpora import Clip

log = logging.getLogger("ser_zoo")
CACHE_VERSION = 1


def default_cache_dir() -> Path:
    return Path(os.environ.get("SER_ZOO_CACHE", Path.home() / ".cache" / "ser-zoo"))


def cache_key(clips: Sequence[Clip], sample_rate: int, max_seconds: float = 60.0) -> str:
    settings = f"v{CACHE_VERSION}|{sample_rate}"
    if max_seconds != 60.0:  # the default keeps the keys of caches built before the limit joined the key
        settings += f"|max{max_seconds:g}"
    h = hashlib.sha256(settings.encode())
    for c in clips:
        st = os.stat(c.path)
        where = c.key or c.path  # your own corpus: the path inside it, so moving or renaming it keeps the key
        h.update(f"|{c.id}|{where}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def clip_digests(offsets: Sequence[int], lengths: Sequence[int], data: np.ndarray) -> list[str]:
    """Each clip's samples, digested: names decoded audio by what it is, not by its file's stat."""
    return [
        hashlib.blake2b(np.ascontiguousarray(data[o : o + n]).tobytes(), digest_size=8).hexdigest()
        for o, n in zip(offsets, lengths)
    ]


def _complete(folder: Path, key: str, sample_rate: int) -> bool:
    """Whether ``folder`` holds the finished cache of ``key``: index readable, array whole and consistent."""
    try:
        index = json.loads((folder / "index.json").read_text())
        waves = folder / "waves.npy"
        if index.get("key", key) != key or index.get("sample_rate", sample_rate) != sample_rate:
            return False
        if "bytes" in index and waves.stat().st_size != index["bytes"]:
            return False  # truncated, or bytes appended
        data = np.load(waves, mmap_mode="r")  # parses the header; fails when shorter than it promises
        total = int(sum(index["lengths"]))
        return (
            data.dtype == np.int16
            and data.ndim == 1
            and data.shape[0] == total
            and len(index["ids"]) == len(index["offsets"]) == len(index["lengths"])
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False


class WaveformCache:
    """Waveforms of ``clips`` at ``sample_rate`` as views into one int16 memory map."""

    def __init__(
        self,
        clips: Sequence[Clip],
        cache_dir: str | Path | None = None,
        sample_rate: int = 16000,
        name: str = "clips",
        max_seconds: float = 60.0,
        workers: int | None = None,
        progress: bool = True,
    ):
        self.sample_rate = sample_rate
        self.key = cache_key(clips, sample_rate, max_seconds)
        self.dir = Path(cache_dir or default_cache_dir()) / f"{name}-{sample_rate}-{self.key}"
        self.built = False  # True when this process decoded the clips (False: an existing cache was reused)
        if not self._complete():
            self._build(clips, max_seconds, workers or min(4, os.cpu_count() or 1), progress)
        index = json.loads((self.dir / "index.json").read_text())
        self.skipped: dict[str, str] = index["skipped"]
        self._row = {cid: i for i, cid in enumerate(index["ids"])}
        self._offsets = np.asarray(index["offsets"], dtype=np.int64)
        self._lengths = np.asarray(index["lengths"], dtype=np.int64)
        self._data = np.load(self.dir / "waves.npy", mmap_mode="r")
        self._digests: list[str] = index.get("digests") or self._store_digests(index)
        self.family = f"{name}-{sample_rate}"  # with a clip id and its digest, names a clip across caches

    def clip_key(self, clip_id: str) -> str:
        """``<name>-<rate>/<clip id>@<digest of its samples>``: the same for the same audio in any cache."""
        return f"{self.family}/{clip_id}@{self.digest(clip_id)}"

    def digest(self, clip_id: str) -> str:
        return self._digests[self._row[clip_id]]

    def _store_digests(self, index: dict) -> list[str]:
        """Clip digests of a cache built before they were kept, written into its index when writable."""
        index["digests"] = clip_digests(index["offsets"], index["lengths"], self._data)
        index.pop("content", None)  # the clip list's digest, which named feature caches before
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".index.", suffix=".json")
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps(index))
            os.replace(tmp, self.dir / "index.json")
        except OSError:  # a read-only cache: the digest is recomputed on each open
            if tmp:
                Path(tmp).unlink(missing_ok=True)
        return index["digests"]

    def _complete(self) -> bool:
        return _complete(self.dir, self.key, self.sample_rate)

    @staticmethod
    def ready(
        clips: Sequence[Clip],
        cache_dir: str | Path | None = None,
        sample_rate: int = 16000,
        name: str = "clips",
        max_seconds: float = 60.0,
    ) -> bool:
        """Whether the cache these arguments name is already built (opening it would decode nothing)."""
        key = cache_key(clips, sample_rate, max_seconds)
        return _complete(
            Path(cache_dir or default_cache_dir()) / f"{name}-{sample_rate}-{key}", key, sample_rate
        )

    def _build(self, clips: Sequence[Clip], max_seconds: float, workers: int, progress: bool) -> None:
        self.dir.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(
            str(self.dir.parent / f"{self.dir.name}.lock")
        ):  # a second builder waits, then finds it done
            if self._complete():
                return
            for stale in self.dir.parent.glob(f".{self.dir.name}.*"):  # temp folders of killed builders
                shutil.rmtree(stale, ignore_errors=True)
            if self.dir.exists():
                log.warning("rebuilding incomplete or damaged cache %s", self.dir)
                shutil.rmtree(self.dir)

            def decode(clip: Clip):
                try:
                    wave = load_audio(clip.path, self.sample_rate, max_seconds=max_seconds)
                    return clip.id, (np.clip(wave, -1.0, 1.0) * 32767).astype(np.int16), None
                except AudioError as e:
                    return clip.id, None, str(e)

            ids, waves, skipped = [], [], {}
            with ThreadPoolExecutor(workers) as pool:
                results = pool.map(decode, clips)
                for cid, wave, error in tqdm(
                    results,
                    total=len(clips),
                    desc=f"caching {self.dir.name}",
                    disable=not progress,
                    unit="clip",
                ):
                    if error:
                        skipped[cid] = error
                        log.warning("skipped: %s", error)
                    else:
                        ids.append(cid)
                        waves.append(wave)
            lengths = [len(w) for w in waves]
            tmp = Path(tempfile.mkdtemp(dir=self.dir.parent, prefix=f".{self.dir.name}."))
            data = np.concatenate(waves) if waves else np.zeros(0, np.int16)
            np.save(tmp / "waves.npy", data)
            offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(int).tolist() if lengths else []
            (tmp / "index.json").write_text(
                json.dumps(
                    {
                        "ids": ids,
                        "offsets": offsets,
                        "lengths": lengths,
                        "skipped": skipped,
                        "sample_rate": self.sample_rate,
                        "key": self.key,
                        "bytes": (tmp / "waves.npy").stat().st_size,
                        "digests": clip_digests(offsets, lengths, data),
                    }
                )
            )
            os.replace(tmp, self.dir)
            self.built = True
            if skipped:
                print(
                    f"ser-zoo: {len(skipped)} of {len(clips)} clips skipped (reasons logged above); "
                    f"{len(ids)} kept"
                )

    def __contains__(self, clip_id: str) -> bool:
        return clip_id in self._row

    def __len__(self) -> int:
        return len(self._row)

    def get(self, clip_id: str) -> np.ndarray:
        """The clip's int16 samples (a read-only view into the memory map)."""
        row = self._row[clip_id]
        start = self._offsets[row]
        return self._data[start : start + self._lengths[row]]

    def length(self, clip_id: str) -> int:
        return int(self._lengths[self._row[clip_id]])
