"""Corpus download: resume, checksums, safe extraction and errors, against a local HTTP server only."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import math
import struct
import tarfile
import threading
import wave
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ser_zoo.data import download as dl
from ser_zoo.errors import ConfigError, SerZooError

WAV_NAME = "Actor_01/03-01-01-01-01-01-01.wav"


def wav_bytes(n_frames: int = 400, freq: float = 440.0) -> bytes:
    """A real 16 kHz mono 16-bit WAV, so the extracted file is something soundfile could read."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(
            b"".join(
                struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * i / 16000)))
                for i in range(n_frames)
            )
        )
    return buf.getvalue()


def make_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def wav() -> bytes:
    return wav_bytes()


@pytest.fixture
def ravdess_zip(tmp_path: Path, wav: bytes) -> Path:
    files = {WAV_NAME: wav, "Actor_02/03-01-02-01-01-01-02.wav": wav_bytes(300, 220.0)}
    return make_zip(tmp_path / "Audio_Speech_Actors_01-24.zip", files)


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setattr(dl, "BACKOFF_S", 0.0)
    monkeypatch.setattr(dl, "TIMEOUT_S", 10.0)


class Handler(BaseHTTPRequestHandler):
    """Serves ``server.files`` with Range support; can drop the connection once after N bytes."""

    def do_GET(self):  # noqa: N802 (http.server naming)
        srv = self.server
        srv.log.append(
            {"path": self.path, "range": self.headers.get("Range"), "auth": self.headers.get("Authorization")}
        )
        if srv.status != 200:
            self.send_error(srv.status)
            return
        body = srv.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        start = 0
        rng = self.headers.get("Range")
        if rng and srv.honour_range:
            start = int(rng.removeprefix("bytes=").split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        payload = body[start:]
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if srv.drop_after is not None:  # send a prefix, then hang up (HTTP/1.0 closes after the handler)
            payload, srv.drop_after = payload[: srv.drop_after], None
        srv.sent.append(
            len(payload)
        )  # before writing: the client may finish reading before this thread resumes
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.files, srv.log, srv.sent = {}, [], []
    srv.honour_range, srv.drop_after, srv.status = True, None, 200
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_download_corpus_over_http_extracts_identical_files_then_skips(server, ravdess_zip, wav, tmp_path):
    data = ravdess_zip.read_bytes()
    server.files["/ravdess.zip"] = data
    root = tmp_path / "data"
    out = dl.download_corpus(
        "ravdess",
        root,
        url=server.url + "/ravdess.zip",
        checksum="md5:" + hashlib.md5(data).hexdigest(),
        progress=False,
    )
    assert out == root / "ravdess"
    assert (out / WAV_NAME).read_bytes() == wav
    assert (out / "Actor_02").is_dir()
    assert (root / ".downloads" / "Audio_Speech_Actors_01-24.zip").read_bytes() == data
    assert sorted(p.name for p in root.iterdir()) == [".downloads", "ravdess"]  # no .part, no temp folders
    n_requests = len(server.log)
    assert dl.download_corpus("ravdess", root, url=server.url + "/ravdess.zip", progress=False) == out
    assert len(server.log) == n_requests  # layout present: nothing fetched again


def test_interrupted_download_resumes_with_range(server, ravdess_zip, tmp_path):
    data = ravdess_zip.read_bytes()
    server.files["/r.zip"] = data
    server.drop_after = 1000
    dest = dl.download_file(
        server.url + "/r.zip", tmp_path / "r.zip", "sha256:" + sha256(data), progress=False
    )
    assert dest.read_bytes() == data
    assert [entry["range"] for entry in server.log] == [None, "bytes=1000-"]
    assert server.sent == [1000, len(data) - 1000]  # the second request only carried the rest
    assert not (tmp_path / "r.zip.part").exists()


def test_server_ignoring_range_restarts_from_zero(server, ravdess_zip, tmp_path):
    data = ravdess_zip.read_bytes()
    server.files["/r.zip"] = data
    server.honour_range = False
    (tmp_path / "r.zip.part").write_bytes(b"stale bytes from another file")
    dest = dl.download_file(
        server.url + "/r.zip", tmp_path / "r.zip", "sha256:" + sha256(data), progress=False
    )
    assert server.log[0]["range"] == "bytes=29-"
    assert dest.read_bytes() == data  # the 200 reply replaced the stale prefix instead of being appended


def test_wrong_checksum_deletes_download_and_names_both_digests(server, ravdess_zip, tmp_path):
    data = ravdess_zip.read_bytes()
    server.files["/r.zip"] = data
    wrong = "ab" * 32
    root = tmp_path / "data"
    with pytest.raises(SerZooError) as err:
        dl.download_corpus(
            "ravdess", root, url=server.url + "/r.zip", checksum="sha256:" + wrong, progress=False
        )
    assert wrong in str(err.value) and sha256(data) in str(err.value)
    assert "Audio_Speech_Actors_01-24.zip" in str(err.value)
    assert list((root / ".downloads").iterdir()) == []  # neither the final file nor a .part is left
    assert not (root / "ravdess").exists()


def test_verify_checksum(tmp_path):
    f = tmp_path / "x.bin"
    f.write_bytes(b"hello")
    dl.verify_checksum(f, "md5:" + hashlib.md5(b"hello").hexdigest())
    dl.verify_checksum(f, "sha256:" + sha256(b"hello").upper())
    with pytest.raises(SerZooError, match=sha256(b"hello")):
        dl.verify_checksum(f, "sha256:" + sha256(b"other"))
    with pytest.raises(ConfigError):
        dl.verify_checksum(f, "crc32:1234")


@pytest.mark.parametrize("evil", ["../evil", "Actor_01/../../evil", "/tmp/evil-ser-zoo-abs"])
def test_zip_with_path_traversal_is_rejected(tmp_path, wav, evil):
    archive = make_zip(tmp_path / "bad.zip", {WAV_NAME: wav, evil: b"pwned"})
    out = tmp_path / "work" / "out"
    with pytest.raises(SerZooError, match="unsafe"):
        dl.extract_archive(archive, out)
    assert not (tmp_path / "evil").exists() and not (tmp_path / "work" / "evil").exists()
    assert not Path("/tmp/evil-ser-zoo-abs").exists()
    assert list((tmp_path / "work").iterdir()) == []  # not even the good member was written


def test_tar_gz_wrapper_is_stripped_and_links_are_rejected(tmp_path, wav):
    archive = tmp_path / "tess.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        for name in ("TESS data/OAF_angry/OAF_back_angry.wav", "TESS data/YAF_sad/YAF_back_sad.wav"):
            info = tarfile.TarInfo(name)
            info.size = len(wav)
            tf.addfile(info, io.BytesIO(wav))
    out = dl.extract_archive(archive, tmp_path / "tess", strip_components="auto")
    assert (out / "OAF_angry" / "OAF_back_angry.wav").read_bytes() == wav
    assert (out / "YAF_sad" / "YAF_back_sad.wav").is_file()

    linked = tmp_path / "link.tar"
    with tarfile.open(linked, "w") as tf:
        info = tarfile.TarInfo("Actor_01/x.wav")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tf.addfile(info)
    with pytest.raises(SerZooError, match="link"):
        dl.extract_archive(linked, tmp_path / "linked")
    assert not (tmp_path / "linked").exists()


@pytest.fixture
def unpinned(monkeypatch):
    """The real RAVDESS md5 cannot match a test zip: drop the pin, as for a not-yet-pinned source."""
    monkeypatch.setitem(dl.SOURCES, "ravdess", dataclasses.replace(dl.SOURCES["ravdess"], checksum=None))


def test_pinned_ravdess_checksum_rejects_a_different_zip(tmp_path, ravdess_zip):
    assert dl.SOURCES["ravdess"].checksum == "md5:bc696df654c87fed845eb13823edef8a"
    with pytest.raises(SerZooError, match="bc696df654c87fed845eb13823edef8a"):
        dl.download_corpus("ravdess", tmp_path / "data", url=str(ravdess_zip), progress=False)
    assert not (tmp_path / "data" / "ravdess").exists()


def test_force_replaces_and_foreign_folder_is_protected(tmp_path, ravdess_zip, wav, unpinned):
    root = tmp_path / "data"
    out = dl.download_corpus("ravdess", root, url=str(ravdess_zip), progress=False)
    (out / WAV_NAME).write_bytes(b"damaged")
    dl.download_corpus("ravdess", root, url=str(ravdess_zip), progress=False)
    assert (out / WAV_NAME).read_bytes() == b"damaged"  # layout present: left alone
    dl.download_corpus("ravdess", root, url=str(ravdess_zip), force=True, progress=False)
    assert (out / WAV_NAME).read_bytes() == wav

    other = tmp_path / "other"
    (other / "ravdess").mkdir(parents=True)
    (other / "ravdess" / "notes.txt").write_text("mine")
    with pytest.raises(SerZooError, match="force"):
        dl.download_corpus("ravdess", other, url=str(ravdess_zip), progress=False)
    assert (other / "ravdess" / "notes.txt").read_text() == "mine"


def test_unknown_corpus_lists_valid_names(tmp_path):
    with pytest.raises(ConfigError) as err:
        dl.download_corpus("emodb", tmp_path)
    for name in dl.SOURCES:
        assert name in str(err.value)
    assert not any(tmp_path.iterdir())


def test_savee_without_credentials_says_how_to_register(tmp_path, monkeypatch):
    monkeypatch.delenv("SAVEE_USER", raising=False)
    monkeypatch.delenv("SAVEE_PASSWORD", raising=False)
    with pytest.raises(SerZooError) as err:
        dl.download_corpus("savee", tmp_path)
    msg = str(err.value)
    assert "kahlan.eps.surrey.ac.uk/savee" in msg and "SAVEE_USER" in msg and "SAVEE_PASSWORD" in msg
    assert "\n" not in msg
    assert not (tmp_path / ".downloads").exists()  # failed before touching the network


def test_savee_sends_basic_auth_and_lands_under_audiodata(server, tmp_path, wav, monkeypatch):
    monkeypatch.setenv("SAVEE_USER", "alice")
    monkeypatch.setenv("SAVEE_PASSWORD", "s3cret")
    server.files["/AudioData.zip"] = make_zip(tmp_path / "a.zip", {"AudioData/DC/a01.wav": wav}).read_bytes()
    out = dl.download_corpus("savee", tmp_path / "data", url=server.url + "/AudioData.zip", progress=False)
    assert (out / "AudioData" / "DC" / "a01.wav").read_bytes() == wav
    assert server.log[0]["auth"] == "Basic " + base64.b64encode(b"alice:s3cret").decode()


def test_http_404_names_url_and_status_without_retrying(server, tmp_path):
    url = server.url + "/missing.zip"
    with pytest.raises(SerZooError) as err:
        dl.download_file(url, tmp_path / "m.zip", progress=False)
    assert url in str(err.value) and "404" in str(err.value)
    assert len(server.log) == 1
    assert not (tmp_path / "m.zip").exists()


def test_http_5xx_is_retried_then_reported(server, tmp_path):
    server.status = 503
    url = server.url + "/busy.zip"
    with pytest.raises(SerZooError) as err:
        dl.download_file(url, tmp_path / "b.zip", progress=False)
    assert "503" in str(err.value) and url in str(err.value)
    assert len(server.log) == dl.ATTEMPTS


@pytest.mark.parametrize("as_uri", [True, False])
def test_file_url_and_plain_path_work_and_print_sha256(tmp_path, ravdess_zip, wav, capsys, as_uri, unpinned):
    url = ravdess_zip.as_uri() if as_uri else str(ravdess_zip)
    out = dl.download_corpus("ravdess", tmp_path / "data", url=url, progress=False)
    assert (out / WAV_NAME).read_bytes() == wav
    assert f"sha256:{sha256(ravdess_zip.read_bytes())}" in capsys.readouterr().err


def test_crema_d_lfs_pointers_are_detected(tmp_path):
    pointer = b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\nsize 50000\n"
    archive = make_zip(
        tmp_path / "master.zip",
        {
            "CREMA-D-master/AudioWAV/1001_DFA_ANG_XX.wav": pointer,
            "CREMA-D-master/VideoDemographics.csv": b"ActorID,Age,Sex\n1001,51,Male\n",
        },
    )
    with pytest.raises(SerZooError) as err:
        dl.download_corpus("crema_d", tmp_path / "data", url=str(archive), progress=False)
    msg = str(err.value)
    assert "LFS pointer" in msg and "git lfs install" in msg
    assert "git clone https://github.com/CheyneyComputerScience/CREMA-D.git" in msg and "git lfs pull" in msg
    assert not (tmp_path / "data" / "crema_d").exists()


def test_crema_d_extracts_only_audio_and_demographics(tmp_path, wav):
    archive = make_zip(
        tmp_path / "master.zip",
        {
            "CREMA-D-master/AudioWAV/1001_DFA_ANG_XX.wav": wav,
            "CREMA-D-master/AudioMP3/1001_DFA_ANG_XX.mp3": b"mp3",
            "CREMA-D-master/VideoDemographics.csv": b"ActorID,Age,Sex\n1001,51,Male\n",
            "CREMA-D-master/README.md": b"readme",
        },
    )
    out = dl.download_corpus("crema-d", tmp_path / "data", url=str(archive), progress=False)
    assert out == tmp_path / "data" / "crema_d"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "AudioWAV/1001_DFA_ANG_XX.wav",
        "VideoDemographics.csv",
    ]


def test_html_page_instead_of_archive_is_reported_and_discarded(server, tmp_path):
    server.files["/tess.zip"] = b"<!DOCTYPE html><html><body>Please log in</body></html>"
    root = tmp_path / "data"
    with pytest.raises(SerZooError, match="HTML"):
        dl.download_corpus("tess", root, url=server.url + "/tess.zip", progress=False)
    assert not (root / ".downloads" / "TESS.zip").exists()  # next run downloads again
    assert not (root / "tess").exists()
