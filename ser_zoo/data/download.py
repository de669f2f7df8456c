"""Fetch an emotional-speech corpus from its official source into the layout the readers expect.

``ser-zoo data download NAME --root DIR`` ends up in :func:`download_corpus`: download with
resume and retries, verify a pinned checksum, extract safely (no path traversal, never a
half-extracted corpus at the final path) and check that the result looks like the corpus.
Only the standard library and tqdm, so downloading needs nothing beyond the base install.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import functools
import hashlib
import http.client
import os
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath
from typing import IO, Callable, Iterable, Iterator, Mapping

from tqdm import tqdm

from ..errors import ConfigError, SerZooError

#: Seconds to wait for a connection or a stalled read before retrying.
TIMEOUT_S = 60.0
#: Attempts per download; connection errors and HTTP 5xx are retried, 4xx is not.
ATTEMPTS = 4
#: First retry waits this long, then doubles (tests set it to 0).
BACKOFF_S = 2.0
CHUNK = 1 << 16
USER_AGENT = "ser-zoo/0.1 (python-urllib)"  # some hosts refuse urllib's default agent
#: Files archivers add that are never part of a corpus.
_ARCHIVE_NOISE = {"__MACOSX", ".DS_Store", "MANIFEST.TXT", "Thumbs.db"}
_LFS_MAGIC = b"version https://git-lfs.github.com/spec/v1"

CREMA_D_REPO = "https://github.com/CheyneyComputerScience/CREMA-D"
#: Archive ref of the CREMA-D repository; a tag or commit sha pins it harder than a branch.
CREMA_D_REF = "master"


@dataclasses.dataclass(frozen=True)
class Source:
    """Where a corpus comes from and how its archive maps onto ``DIR/<name>/``."""

    name: str
    url: str
    filename: str
    checksum: str | None  # "md5:<hex>" or "sha256:<hex>"; None = not pinned (sha256 is printed)
    licence: str
    homepage: str
    #: archive prefix (after stripping) -> destination prefix under DIR/<name>; None = everything as is.
    extract: Mapping[str, str] | None = None
    #: leading folders to drop from member names; "auto" drops one folder that wraps everything.
    strip_components: int | str = 0
    #: globs (relative to DIR/<name>) that must all match for the corpus to count as present.
    layout: tuple[str, ...] = ()
    #: (user, password) environment variables for HTTP basic auth, for sources behind a login.
    auth_env: tuple[str, str] | None = None


SOURCES: dict[str, Source] = {
    "ravdess": Source(
        name="ravdess",
        url="https://zenodo.org/record/1188976/files/Audio_Speech_Actors_01-24.zip",
        filename="Audio_Speech_Actors_01-24.zip",
        # The md5 Zenodo publishes for this file (208,468,073 bytes). Not read from Zenodo here (no
        # network while writing this); the same md5 + size appears in several independent public
        # RAVDESS loaders/READMEs that state they verified it against Zenodo record 1188976.
        # If Zenodo ever re-uploads the file, override with checksum="md5:..." / --checksum.
        checksum="md5:bc696df654c87fed845eb13823edef8a",
        licence="CC BY-NC-SA 4.0",
        homepage="https://zenodo.org/record/1188976",
        layout=("Actor_*/*.wav",),
    ),
    "crema_d": Source(
        name="crema_d",
        # Audio lives in Git LFS; GitHub archives usually hold LFS *pointers*, which we detect.
        url=f"{CREMA_D_REPO}/archive/refs/heads/{CREMA_D_REF}.zip",
        filename=f"CREMA-D-{CREMA_D_REF}.zip",
        checksum=None,  # GitHub archives are generated on the fly; their bytes are not stable
        licence="Open Database License (ODbL) 1.0; contents under Database Contents License",
        homepage=CREMA_D_REPO,
        extract={"AudioWAV": "AudioWAV", "VideoDemographics.csv": "VideoDemographics.csv"},
        strip_components="auto",  # drops the CREMA-D-<ref>/ folder GitHub wraps archives in
        layout=("AudioWAV/*.wav", "VideoDemographics.csv"),
    ),
    "tess": Source(
        name="tess",
        # TSpace handle 1807/24487 now points at the Borealis Dataverse record doi:10.5683/SP2/E8H2MF;
        # this is Dataverse's documented "download all files as one zip" access API for it.
        url="https://borealisdata.ca/api/access/dataset/:persistentId/?persistentId=doi:10.5683/SP2/E8H2MF",
        filename="TESS.zip",
        checksum=None,
        licence="CC BY-NC-ND 4.0",
        homepage="https://tspace.library.utoronto.ca/handle/1807/24487",
        strip_components="auto",  # some zips wrap the <SPEAKER>_<emotion>/ folders in one folder
        layout=("*_*/*.wav",),
    ),
    "savee": Source(
        name="savee",
        url="http://kahlan.eps.surrey.ac.uk/savee/Data/AudioData.zip",
        filename="SAVEE_AudioData.zip",
        checksum=None,
        licence="free for research after registration (see homepage)",
        homepage="http://kahlan.eps.surrey.ac.uk/savee/",
        extract={"": "AudioData"},  # DC/ JE/ JK/ KL/ go under AudioData/ whether or not the zip wraps them
        strip_components="auto",
        layout=("AudioData/*/*.wav",),
        auth_env=("SAVEE_USER", "SAVEE_PASSWORD"),
    ),
}


# --- checksums --------------------------------------------------------------------------------
def _parse_checksum(checksum: str) -> tuple[str, str]:
    algo, sep, digest = checksum.strip().partition(":")
    if not sep:  # bare hex: tell the algorithm from its length
        algo, digest = {32: "md5", 64: "sha256"}.get(len(algo), ""), algo
    algo, digest = algo.lower(), digest.lower()
    if algo not in ("md5", "sha1", "sha256", "sha512") or not digest or digest.strip("0123456789abcdef"):
        raise ConfigError(f"bad checksum {checksum!r}; write it as sha256:<hex> or md5:<hex>")
    return algo, digest


def file_digest(path: str | Path, algo: str = "sha256") -> str:
    """Hex digest of a file, read in chunks so multi-GB archives never sit in memory."""
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK * 16), b""):
            h.update(block)
    return h.hexdigest()


def verify_checksum(path: str | Path, checksum: str) -> None:
    """Raise SerZooError naming the file and both digests unless ``path`` matches ``checksum``."""
    algo, expected = _parse_checksum(checksum)
    actual = file_digest(path, algo)
    if actual != expected:
        raise SerZooError(f"checksum mismatch for {path}: expected {algo}:{expected}, got {algo}:{actual}")


# --- downloading ------------------------------------------------------------------------------
class _Interrupted(ConnectionError):
    """The server closed the stream before sending everything it announced."""


def _local_path(url: str) -> Path | None:
    """The file a ``file://`` URL or plain path points at; None for network URLs."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        return Path(urllib.request.url2pathname(parsed.path))
    if not parsed.scheme or len(parsed.scheme) == 1:  # "dir/x.zip" or a Windows drive "C:\..."
        return Path(url).expanduser()
    return None


def _bar(total: int | None, initial: int, desc: str, progress: bool) -> tqdm:
    return tqdm(
        total=total,
        initial=initial,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=desc,
        disable=not progress,
        leave=False,
    )


def _copy_stream(src: IO[bytes], dst: IO[bytes], bar: tqdm) -> int:
    n = 0
    for block in iter(lambda: src.read(CHUNK), b""):
        dst.write(block)
        bar.update(len(block))
        n += len(block)
    return n


def _request(url: str, offset: int, auth: tuple[str, str] | None) -> urllib.request.Request:
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
    if offset:
        req.add_header("Range", f"bytes={offset}-")
    if auth:  # unredirected: the password is never forwarded to another host on a redirect
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        req.add_unredirected_header("Authorization", f"Basic {token}")
    return req


def _fetch_once(url: str, part: Path, auth: tuple[str, str] | None, progress: bool) -> None:
    """One HTTP attempt: resume ``part`` when the server honours Range, else start over."""
    offset = part.stat().st_size if part.exists() else 0
    with urllib.request.urlopen(_request(url, offset, auth), timeout=TIMEOUT_S) as resp:
        length = resp.headers.get("Content-Length")
        if resp.status == 206 and offset:
            start = resp.headers.get("Content-Range", "").removeprefix("bytes ").split("-")[0]
            if start != str(offset):
                raise SerZooError(f"{url}: server resumed at byte {start or '?'} instead of {offset}")
            mode = "ab"
        else:  # 200: the server ignored Range, so the partial file is useless
            offset, mode = 0, "wb"
        expected = offset + int(length) if length is not None else None
        with open(part, mode) as f, _bar(expected, offset, part.name.removesuffix(".part"), progress) as bar:
            received = _copy_stream(resp, f, bar)
    if expected is not None and offset + received < expected:
        raise _Interrupted(f"connection closed after {offset + received} of {expected} bytes")


def _http_download(url: str, part: Path, auth: tuple[str, str] | None, progress: bool) -> None:
    error: BaseException | None = None
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(BACKOFF_S * 2 ** (attempt - 1))
        try:
            _fetch_once(url, part, auth, progress)
            return
        except urllib.error.HTTPError as e:
            if e.code == 416 and part.exists():  # our offset is past the end: the .part is stale
                part.unlink()
                error = e
                continue
            hint = "; check the credentials" if e.code in (401, 403) and auth else ""
            if e.code < 500:
                raise SerZooError(f"download failed: HTTP {e.code} {e.reason} for {url}{hint}") from None
            error = e
        except (urllib.error.URLError, http.client.HTTPException, OSError) as e:  # incl. timeouts, resets
            error = e
    if isinstance(error, urllib.error.HTTPError):
        raise SerZooError(
            f"download failed: HTTP {error.code} {error.reason} for {url} (after {ATTEMPTS} attempts)"
        )
    reason = getattr(error, "reason", error)
    raise SerZooError(
        f"download failed for {url} after {ATTEMPTS} attempts: {reason}; "
        f"run the command again to resume from {part}"
    )


def download_file(
    url: str,
    dest: str | Path,
    checksum: str | None = None,
    progress: bool = True,
    auth: tuple[str, str] | None = None,
) -> Path:
    """Download ``url`` (http(s), ``file://`` or a plain path) to ``dest`` and verify it.

    Data goes to ``dest.part`` first and is renamed only once complete and verified, so an
    existing ``dest`` is always a whole file; an interrupted run resumes from the ``.part``.
    """
    dest = Path(dest)
    if checksum:
        _parse_checksum(checksum)  # reject a malformed checksum before spending time downloading
    if dest.exists():
        if checksum is None:
            return dest
        try:
            verify_checksum(dest, checksum)
            return dest
        except SerZooError:
            print(f"ser-zoo: {dest} does not match {checksum}; downloading it again", file=sys.stderr)
            dest.unlink()
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    local = _local_path(url)
    if local is not None:
        if not local.is_file():
            raise SerZooError(f"{url}: file not found")
        size = local.stat().st_size
        with open(local, "rb") as src, open(part, "wb") as dst, _bar(size, 0, dest.name, progress) as bar:
            _copy_stream(src, dst, bar)
    else:
        _http_download(url, part, auth, progress)
    if checksum:
        algo, expected = _parse_checksum(checksum)
        actual = file_digest(part, algo)
        if actual != expected:
            part.unlink()
            raise SerZooError(
                f"checksum mismatch for {dest.name} from {url}: expected {algo}:{expected}, "
                f"got {algo}:{actual}; the download was deleted"
            )
    else:
        sha = file_digest(part)
        print(
            f"ser-zoo: {dest.name} sha256:{sha} (no checksum pinned; pass --checksum sha256:{sha} to pin it)",
            file=sys.stderr,
        )
    part.replace(dest)
    return dest


# --- extraction -------------------------------------------------------------------------------
def _safe_parts(raw: str) -> tuple[str, ...]:
    """Member name as path parts; SerZooError for absolute or '..' names (path traversal)."""
    name = raw.replace("\\", "/")
    parts = tuple(p for p in PurePosixPath(name).parts if p not in ("", "."))
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or ".." in parts:
        raise SerZooError(f"unsafe member {raw!r} in archive (absolute path or '..'); refusing to extract")
    return parts


def _archive_kind(archive: Path) -> str | None:
    if zipfile.is_zipfile(archive):
        return "zip"
    if tarfile.is_tarfile(archive):
        return "tar"
    return None


def _not_an_archive(archive: Path) -> SerZooError:
    with open(archive, "rb") as f:
        head = f.read(256).lstrip().lower()
    hint = " (it is an HTML page: the URL may need a login or have moved)" if head.startswith(b"<") else ""
    return SerZooError(f"{archive}: not a zip or tar archive{hint}")


@contextlib.contextmanager
def _open_members(archive: Path) -> Iterator[list[tuple[tuple[str, ...], Callable[[], IO[bytes]]]]]:
    """(parts, opener) for every regular file, all names checked before anything is written.

    Links and device nodes in tars are refused outright: a corpus never needs them and a
    symlink member is the classic way to write outside the target folder.
    """
    kind = _archive_kind(archive)
    if kind == "zip":
        with zipfile.ZipFile(archive) as zf:
            yield [
                (_safe_parts(i.filename), functools.partial(zf.open, i))
                for i in zf.infolist()
                if not i.is_dir()
            ]
    elif kind == "tar":
        with tarfile.open(archive) as tf:
            entries = []
            for m in tf.getmembers():
                parts = _safe_parts(m.name)
                if m.isdir():
                    continue
                if not m.isfile():
                    raise SerZooError(f"link or special file {m.name!r} in {archive}; refusing to extract")
                entries.append((parts, functools.partial(tf.extractfile, m)))
            yield entries
    else:
        raise _not_an_archive(archive)


def _auto_strip(names: list[tuple[str, ...]]) -> int:
    """1 when every file sits under one common top-level folder, else 0."""
    tops = {parts[0] for parts in names}
    return 1 if len(tops) == 1 and all(len(parts) > 1 for parts in names) else 0


def _map(rel: str, members: Mapping[str, str] | None) -> str | None:
    """Destination of archive path ``rel`` under ``members`` (prefix -> prefix), None to skip it."""
    if members is None:
        return rel
    for src, dst in members.items():
        src, dst = src.strip("/"), dst.strip("/")
        if not src:
            return f"{dst}/{rel}" if dst else rel
        if rel == src or rel.startswith(src + "/"):
            return dst + rel[len(src) :]
    return None


def _extract_into(archive: Path, folder: Path, members: Mapping[str, str] | None, strip: int | str) -> int:
    with _open_members(archive) as entries:
        return _write_members(entries, folder, members, strip)


def _write_members(entries: list, folder: Path, members: Mapping[str, str] | None, strip: int | str) -> int:
    entries = [(p, o) for p, o in entries if not (set(p) & _ARCHIVE_NOISE or p[-1].startswith("._"))]
    n_strip = _auto_strip([p for p, _ in entries]) if strip == "auto" else int(strip)
    root = folder.resolve()
    written = 0
    for parts, opener in entries:
        if len(parts) <= n_strip:
            continue
        rel = _map("/".join(parts[n_strip:]), members)
        if rel is None:
            continue
        target = (folder / rel).resolve()
        if root not in target.parents:  # belt and braces next to _safe_parts
            raise SerZooError(f"member {'/'.join(parts)!r} would land outside {folder}; refusing to extract")
        target.parent.mkdir(parents=True, exist_ok=True)
        with opener() as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, CHUNK * 16)
        written += 1
    return written


def extract_archive(
    archive: str | Path,
    dest: str | Path,
    members: Mapping[str, str] | Iterable[str] | None = None,
    strip_components: int | str = 0,
    validate: Callable[[Path], None] | None = None,
) -> Path:
    """Extract a zip or tar(.gz/.bz2/.xz) archive to ``dest``, replacing what was there.

    ``members`` keeps only these archive paths (a mapping renames prefixes; "" means all);
    ``strip_components`` drops leading folders ("auto": one folder wrapping everything).
    Everything is written to a temporary sibling folder, checked by ``validate`` and only then
    renamed onto ``dest``, so a crash or a bad archive never leaves a half corpus at ``dest``.
    """
    archive, dest = Path(archive), Path(dest)
    if members is not None and not isinstance(members, Mapping):
        members = {m: m for m in members}
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.extracting-", dir=dest.parent))
    old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
    try:
        if not _extract_into(archive, tmp, members, strip_components):
            raise SerZooError(
                f"{archive}: no files to extract" + (f" under {', '.join(members)}" if members else "")
            )
        if validate is not None:
            validate(tmp)
        if dest.exists():
            os.replace(dest, old)
        os.replace(tmp, dest)
    finally:
        for leftover in (tmp, old):
            if leftover.exists():
                shutil.rmtree(leftover, ignore_errors=True)
    return dest


# --- corpora ----------------------------------------------------------------------------------
def _has_layout(folder: Path, layout: Iterable[str]) -> bool:
    return folder.is_dir() and all(next(folder.glob(pattern), None) is not None for pattern in layout)


def _lfs_pointers(folder: Path) -> list[Path]:
    """Files that are Git LFS pointer stubs (tiny text files) instead of the real content."""
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and path.stat().st_size < 1024:
            with open(path, "rb") as f:
                if f.read(len(_LFS_MAGIC)) == _LFS_MAGIC:
                    found.append(path)
    return found


def _credentials(source: Source, url: str) -> tuple[str, str] | None:
    if source.auth_env is None or _local_path(url) is not None:
        return None
    user, password = (os.environ.get(var, "") for var in source.auth_env)
    if not (user and password):
        raise SerZooError(
            f"{source.name} needs a login: register at {source.homepage}, then set "
            f"{source.auth_env[0]} and {source.auth_env[1]} (or pass --url to a copy you have)"
        )
    return user, password


def _checker(source: Source, archive: Path, target: Path) -> Callable[[Path], None]:
    def check(folder: Path) -> None:
        pointers = _lfs_pointers(folder)
        if pointers:
            example = pointers[0].relative_to(folder).as_posix()
            raise SerZooError(
                f"{len(pointers)} files in {archive.name} are Git LFS pointers, not audio (e.g. {example}); "
                f"repository archives leave LFS content out, so clone with git-lfs instead: "
                f"git lfs install && git clone {CREMA_D_REPO}.git && cd CREMA-D && git lfs pull && "
                f"mkdir -p {target} && cp -r AudioWAV VideoDemographics.csv {target}/"
                if source.name == "crema_d"
                else f"{len(pointers)} files in {archive.name} are Git LFS pointers, not data "
                f"(e.g. {example}); fetch the real files with git lfs "
                "(git lfs install && git clone <repo> && git lfs pull)"
            )
        missing = [pattern for pattern in source.layout if next(folder.glob(pattern), None) is None]
        if missing:
            found = ", ".join(sorted(p.name for p in folder.iterdir())[:8]) or "nothing"
            raise SerZooError(
                f"{archive} does not hold the expected {source.name} layout: no {', '.join(missing)} "
                f"(extracted top level: {found}); check --url or extract it by hand into {target}"
            )

    return check


def download_corpus(
    name: str,
    root: str | Path,
    url: str | None = None,
    checksum: str | None = None,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Download, verify and extract corpus ``name`` into ``root/<name>``; return that folder.

    Does nothing when the folder already has the corpus layout (unless ``force``), and reuses
    a verified archive in ``root/.downloads`` so re-extracting never re-downloads.
    """
    key = name.strip().lower().replace("-", "_")
    if key not in SOURCES:
        raise ConfigError(f"unknown corpus {name!r}; choose one of: {', '.join(SOURCES)}")
    source = SOURCES[key]
    root = Path(root).expanduser()
    target = root / source.name
    if not force and _has_layout(target, source.layout):
        print(
            f"ser-zoo: {target} already holds {source.name}; skipping (use --force to redo)", file=sys.stderr
        )
        return target
    if not force and target.is_dir() and any(target.iterdir()):
        raise SerZooError(
            f"{target} exists but lacks the {source.name} layout ({', '.join(source.layout)}); "
            f"move it away or use --force to replace it"
        )
    url = url or source.url
    auth = _credentials(source, url)
    archive = download_file(
        url, root / ".downloads" / source.filename, checksum or source.checksum, progress, auth
    )
    if _archive_kind(archive) is None:
        error = _not_an_archive(archive)
        archive.unlink()  # unverifiable junk (e.g. a login page) must not be reused next time
        raise error
    return extract_archive(
        archive, target, source.extract, source.strip_components, validate=_checker(source, archive, target)
    )
