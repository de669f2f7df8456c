"""Build .gpu_lane/carry/, the git-ignored folder the GPU lane takes to the device (issue 21), and its size.

The device gets the working tree (tracked and untracked-not-ignored files) plus at most 8 carried paths,
64 MiB in all, and reaches no network. The lane (benchmarks/gpu_lane.sh) needs, beside the tree:

- ``data.tar.gz``: RAVDESS, CREMA-D, TESS and SAVEE in their official folder layout and file names, re-encoded
  to 16 kHz mono Ogg Opus (libopus through PyAV, VoIP mode) at ``--kbps``; ``auto`` picks the highest of 24,
  16, 12 and 10 kbit/s that fits what the tree and the wheels leave. 10 kbit/s is the floor: below it libopus
  drops to narrowband and the log-mel bands above 4 kHz are lost (18.9 dB mean error there at 8 kbit/s, 3.3
  at 10). One archive, not 12,162 small files: one transfer, and gzip takes 7% off the Ogg page headers. The
  encoded files stay in .gpu_lane/encoded/ (not carried), so a rebuild after a commit re-encodes nothing.
- ``whl/``: cp312 wheels of what the device image lacks (jsonargparse[signatures], soundfile, librosa and
  their needs) at the versions installed here, fetched with ``pip download``.
- ``COMMIT`` (the rows' git_commit, since .git does not travel) and ``BUILD.txt`` (what was built).

It prints the size of each part and the total, and the run call to paste.

    python benchmarks/build_gpu_lane.py [--kbps auto|10] [--jobs 4] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata
import io
import json
import os
import subprocess
import sys
import tarfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LANE = REPO / ".gpu_lane"
CARRY = LANE / "carry"  # what travels: whl/, data.tar.gz, COMMIT, BUILD.txt
ENCODED = LANE / "encoded"  # the encoded corpora, kept between builds; they travel as carry/data.tar.gz
MIB = 2**20
LIMIT = 64 * MIB  # what one device call carries: the tree, shared/ and the carried paths together
MARGIN = 1 * MIB  # for files that land in the tree before the run
LADDER = (24, 16, 12, 10)  # kbit/s tried by --kbps auto, best first
EFFECTIVE = 0.9  # bytes written / nominal bitrate, measured on CREMA-D and RAVDESS clips (VBR, silences)
FILE_OVERHEAD = 150  # Ogg + OpusHead + OpusTags bytes per file (PyAV)
#: every corpus a step of benchmarks/suites/gpu_lane.yaml reads (tests/test_gpu_lane.py checks it), as the
#: folders and files its reader (ser_zoo/data/corpora.py) opens
CORPORA = {
    "ravdess": ("ravdess",),
    "crema_d": ("crema_d/AudioWAV", "crema_d/VideoDemographics.csv"),
    "tess": ("tess",),
    "savee": ("savee/AudioData",),
}
AUDIO = (".wav", ".flac", ".ogg", ".opus")
#: what ser_zoo imports for a bench run that the device image (.library/device/KINDS.md) lacks
PACKAGES = (
    "jsonargparse",
    "docstring_parser",
    "typeshed_client",  # jsonargparse[signatures], which LightningCLI requires
    "soundfile",
    "cffi",
    "pycparser",
    "librosa",
    "audioread",
    "decorator",
    "pooch",
    "platformdirs",
    "soxr",
)
FALLBACK_VERSIONS = {
    "jsonargparse": "4.53.0",
    "docstring_parser": "0.18.0",
    "typeshed_client": "2.15.0",
    "soundfile": "0.14.0",
    "cffi": "2.1.1",
    "pycparser": "3.12",
    "librosa": "0.11.0",
    "audioread": "3.1.0",
    "decorator": "5.3.1",
    "pooch": "1.9.0",
    "platformdirs": "4.14.9",
    "soxr": "1.1.0",
}
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64")
PLATFORMS += ("manylinux2014_x86_64", "manylinux1_x86_64")
RUN_CALL = {"command": "bash benchmarks/gpu_lane.sh", "carry": [".gpu_lane/carry"], "timeout_s": 600}


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout


def files_size(names: list[str]) -> tuple[int, list[tuple[int, str]]]:
    sizes = []
    for name in names:
        p = REPO / name
        try:
            sizes.append((p.lstat().st_size, name))
        except OSError:  # deleted in the working tree: it does not travel
            pass
    return sum(s for s, _ in sizes), sorted(sizes, reverse=True)


def tree_size() -> dict:
    """Bytes that travel without carry: tracked files present here, untracked files git does not ignore."""
    tracked, biggest = files_size(git("ls-files", "-z").split("\0")[:-1])
    untracked, _ = files_size(git("ls-files", "-o", "--exclude-standard", "-z").split("\0")[:-1])
    return {"tracked": tracked, "untracked": untracked, "biggest": biggest[:6]}


def dir_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0


def norm(name: str) -> str:
    return name.lower().replace("-", "_")


def wheel_specs() -> list[str]:
    specs = []
    for name in PACKAGES:
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = FALLBACK_VERSIONS[name]
        specs.append(f"{name}=={version}")
    return specs


def fetch_wheels(whl: Path) -> list[str]:
    """One cp312 manylinux wheel per package into ``whl``; returns the problems (empty when all are there)."""
    whl.mkdir(parents=True, exist_ok=True)
    specs = wheel_specs()
    wanted = dict((norm(name), version) for name, version in (s.split("==") for s in specs))
    for w in whl.glob("*.whl"):  # keep one version of each: two stop the whole install on the device
        name, version = w.name.split("-")[:2]
        if wanted.get(norm(name)) != version:
            w.unlink()
    have = {norm(w.name.split("-")[0]) for w in whl.glob("*.whl")}
    missing = [s for s in specs if norm(s.split("==")[0]) not in have]
    if missing:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
        ]
        cmd += ["3.12", "--implementation", "cp", *[f"--platform={p}" for p in PLATFORMS], "-d", str(whl)]
        print("wheels:", " ".join(missing), flush=True)
        r = subprocess.run([*cmd, *missing], capture_output=True, text=True)
        if r.returncode:
            print(r.stdout[-2000:], r.stderr[-2000:], sep="\n")
    have = {norm(w.name.split("-")[0]) for w in whl.glob("*.whl")}
    return [s for s in specs if norm(s.split("==")[0]) not in have]


def manifest_seconds(data: Path) -> dict[str, float]:
    table = data / "manifest.csv"
    if not table.is_file():
        return {}
    with table.open(newline="") as f:
        return {row["path"]: float(row["seconds"]) for row in csv.DictReader(f) if row.get("seconds")}


def sources(data: Path, corpora: list[str], limit: int | None) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """(audio file, its copy's path inside data/) pairs, and the other files to copy as they are."""
    audio, other = [], []
    for corpus in corpora:
        for part in CORPORA[corpus]:
            p = data / part
            if p.is_file():
                other.append(p)
                continue
            if not p.is_dir():
                sys.exit(f"{p} not found: point --data at the corpora (the folder holding {corpus}/)")
            files = sorted(f for f in p.rglob("*") if f.suffix.lower() in AUDIO and f.is_file())
            audio += [(f, f.relative_to(data).with_suffix(".opus")) for f in files[:limit]]
    return audio, other


def seconds_of(data: Path, audio: list[tuple[Path, Path]]) -> float:
    known = manifest_seconds(data)
    total = 0.0
    for src, _ in audio:
        rel = src.relative_to(data).as_posix()
        if rel in known:
            total += known[rel]
        else:
            import soundfile as sf

            total += sf.info(str(src)).duration
    return total


def estimate(seconds: float, n: int, kbps: float) -> int:
    return int(seconds * kbps * 1000 / 8 * EFFECTIVE + n * FILE_OVERHEAD)


def encode(x, kbps: float) -> bytes:
    """16 kHz mono float32 -> Ogg Opus bytes (libopus, VoIP mode, 20 ms frames)."""
    try:
        import av
    except ImportError:  # libsndfile: its OpusTags padding costs ~0.8 kB a file
        import soundfile as sf

        buf = io.BytesIO()
        level = min(1.0, max(0.0, (256000 - kbps * 1000) / 250000))  # libsndfile: 0 -> 256, 1 -> 6 kbit/s
        sf.write(buf, x, 16000, format="OGG", subtype="OPUS", compression_level=level)
        return buf.getvalue()
    import numpy as np

    buf = io.BytesIO()
    with av.open(buf, "w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=16000, layout="mono", options={"application": "voip"})
        stream.bit_rate = int(kbps * 1000)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(x[None, :]), format="flt", layout="mono")
        frame.sample_rate = 16000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    return buf.getvalue()


def transcode(job: tuple[str, str, float]) -> tuple[str, str]:
    """One file: read, encode, check that it decodes to as many samples, write through a temp file."""
    import soundfile as sf

    src, dst, kbps = job
    x, sr = sf.read(src, dtype="float32", always_2d=True)
    if sr != 16000:
        return src, f"sample rate {sr}, not 16000"
    data = encode(x.mean(axis=1), kbps)
    y, _ = sf.read(io.BytesIO(data), dtype="float32")
    if abs(len(y) - len(x)) > 1:
        return src, f"decodes to {len(y)} samples, not {len(x)}"
    tmp = Path(dst + ".tmp")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_bytes(data)
    os.replace(tmp, dst)
    return src, ""


def build_data(data: Path, out: Path, audio, other, kbps: float, jobs: int) -> None:
    stamp = out / "KBPS"
    if stamp.is_file() and stamp.read_text().strip() != f"{kbps:g}":
        print(
            f"data: bitrate changed ({stamp.read_text().strip()} -> {kbps:g} kbit/s): re-encoding everything"
        )
        for f in out.rglob("*.opus"):
            f.unlink()
    out.mkdir(parents=True, exist_ok=True)
    stamp.write_text(f"{kbps:g}\n")
    keep = {out / rel for _, rel in audio}
    for f in out.rglob("*.opus"):  # a smaller --limit or a dropped corpus: only what was asked travels
        if f not in keep:
            f.unlink()
    for src in other:
        dst = out / src.relative_to(data)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(src.read_bytes())
    todo = [
        (str(src), str(out / rel), kbps)
        for src, rel in audio
        if not (out / rel).is_file() or (out / rel).stat().st_mtime < src.stat().st_mtime
    ]
    print(
        f"data: {len(audio) - len(todo)} files already at {kbps:g} kbit/s, {len(todo)} to encode", flush=True
    )
    start, bad = time.time(), []
    with ProcessPoolExecutor(jobs) as pool:
        for i, (src, problem) in enumerate(pool.map(transcode, todo, chunksize=16), 1):
            if problem:
                bad.append(f"{src}: {problem}")
            if i % 1000 == 0 or i == len(todo):
                print(f"data: {i}/{len(todo)} encoded, {time.time() - start:.0f} s", flush=True)
    if bad:
        sys.exit("data: files not encoded:\n  " + "\n  ".join(bad[:20]))


def mib(n: float) -> str:
    return f"{n / MIB:.1f} MiB"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=os.environ.get("SER_ZOO_DATA") or str(REPO.parent / "shared" / "data"))
    p.add_argument("--corpora", nargs="+", default=list(CORPORA), choices=list(CORPORA))
    p.add_argument("--kbps", default="auto", help="Opus bitrate in kbit/s, or auto (default)")
    p.add_argument("--jobs", type=int, default=1, help="encoding processes (default 1)")
    p.add_argument("--limit", type=int, default=None, help="only the first N files of each corpus (a test)")
    p.add_argument("--no_wheels", action="store_true", help="keep whl/ as it is")
    args = p.parse_args(argv)
    data = Path(args.data).resolve()
    CARRY.mkdir(parents=True, exist_ok=True)

    tree = tree_size()
    problems = [] if args.no_wheels else fetch_wheels(CARRY / "whl")
    wheels = dir_size(CARRY / "whl")
    audio, other = sources(data, args.corpora, args.limit)
    seconds = seconds_of(data, audio)
    fixed = tree["tracked"] + tree["untracked"] + wheels + sum(f.stat().st_size for f in other) + 4096
    room = LIMIT - MARGIN - fixed
    if args.kbps == "auto":
        fits = [k for k in LADDER if estimate(seconds, len(audio), k) <= room]
        kbps = float(fits[0] if fits else LADDER[-1])
        print(
            f"data: {len(audio)} files, {seconds / 3600:.2f} h; {mib(room)} left for them -> {kbps:g} kbit/s"
        )
    else:
        kbps = float(args.kbps)
    build_data(data, ENCODED, audio, other, kbps, args.jobs)
    archive = CARRY / "data.tar.gz"  # one file travels, and gzip takes 7% off the Ogg pages' headers
    with tarfile.open(f"{archive}.tmp", "w:gz") as tar:
        for corpus in args.corpora:
            tar.add(ENCODED / corpus, arcname=corpus)
    os.replace(f"{archive}.tmp", archive)

    commit = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)benchmarks/results")
    (CARRY / "COMMIT").write_text(commit + "\n")
    per_corpus = {c: dir_size(ENCODED / c) for c in args.corpora}
    total = tree["tracked"] + tree["untracked"] + dir_size(CARRY)
    lines = [
        f"gpu lane built {time.strftime('%Y-%m-%d %H:%M:%S %Z')} from commit {commit}"
        + (" (tracked code differs from it)" if dirty.strip() else ""),
        f"corpora: {', '.join(args.corpora)}: {len(audio)} clips, {seconds / 3600:.2f} h, 16 kHz mono "
        f"Ogg Opus at {kbps:g} kbit/s (libopus VoIP mode), from {data}"
        + (f"; first {args.limit} files" if args.limit else ""),
    ]
    (CARRY / "BUILD.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print("\nWhat one device call carries (64 MiB at most):")
    print(f"  tracked files        {mib(tree['tracked']):>10}   biggest:")
    for size, name in tree["biggest"]:
        print(f"    {mib(size):>10}  {name}")
    print(f"  untracked, not ignored {mib(tree['untracked']):>8}")
    n_wheels = len(list((CARRY / "whl").glob("*.whl")))
    print(f"  .gpu_lane/carry/whl  {mib(wheels):>10}   ({n_wheels} wheels)")
    print(f"  .gpu_lane/carry/data.tar.gz {mib(archive.stat().st_size):>3}   (", end="")
    print(", ".join(f"{c} {mib(size)}" for c, size in per_corpus.items()) + " as files)")
    print(f"  total                {mib(total):>10}   of {mib(LIMIT)}", end="")
    if total > LIMIT:
        over = total - LIMIT
        print(f": OVER by {mib(over)}. Take the zoo weights (checkpoints/*.safetensors, unused by the lane)")
        print("  out of the index for the call: bash benchmarks/gpu_lane_tree.sh off (then on, right after),")
        print("  and build again; or --kbps / --corpora carry less.")
    else:
        print(f": fits, {mib(LIMIT - total)} to spare")
    if problems:
        print(
            f"\nwheels NOT fetched: {' '.join(problems)}; the device lacks them (pip download failed above)"
        )
    print("\nThe run call for a session lent a GPU (device tool `run`):")
    print(json.dumps(RUN_CALL))
    return 1 if total > LIMIT or problems else 0


if __name__ == "__main__":
    sys.exit(main())
