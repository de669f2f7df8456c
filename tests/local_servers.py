"""Servers on 127.0.0.1 for the download tests: plain HTTP files, and a minimal Hugging Face Hub.

``FileServer`` serves bytes by path with HTTP Range, and can cut a response short (to test resuming) or answer
404. ``LocalHub`` speaks the part of the Hub's protocol that ``huggingface_hub`` uses to download a file
(``HEAD``/``GET /{repo}/resolve/{revision}/{path}`` with ``X-Repo-Commit``, ``ETag`` and ``X-Error-Code``
headers) and to commit one (``/api/repos/create``, ``/api/validate-yaml``, ``/api/models/{repo}/preupload``
and ``/commit`` with an NDJSON body; every file goes the "regular" way, inline), so downloads and uploads run
through the real client code. Both record every request.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: "_Server"

    def log_message(self, *args):
        pass

    def do_HEAD(self):  # noqa: N802 (http.server naming)
        self.owner.requests.append(("HEAD", self.path, self.headers.get("Range")))
        self.owner.handle_get(self, head=True)

    def do_GET(self):  # noqa: N802
        self.owner.requests.append(("GET", self.path, self.headers.get("Range")))
        self.owner.handle_get(self, head=False)

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.owner.requests.append(("POST", self.path, None))
        self.owner.handle_post(self, body)

    def reply(self, status: int, body: bytes = b"", headers: dict | None = None, head: bool = False):
        self.send_response(status)
        for k, v in {"Content-Length": str(len(body)), **(headers or {})}.items():
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def reply_json(self, status: int, data, headers: dict | None = None):
        self.reply(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})

    def send_file(self, data: bytes, headers: dict, head: bool, cut_at: int | None = None):
        """200 or 206 (Range ``bytes=N-``); ``cut_at``: send that many bytes of the body, then hang up."""
        start = 0
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and not head:
            start = int(rng[len("bytes=") :].split("-")[0])
        body = data[start:]
        self.send_response(206 if start else 200)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(body)))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        if head:
            return
        if cut_at is not None and cut_at < len(body):
            self.wfile.write(body[:cut_at])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


class _Server:
    def __init__(self):
        self.requests: list[tuple[str, str, str | None]] = []
        handler = type("Handler", (_Handler,), {"owner": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def handle_get(self, h: _Handler, head: bool):
        h.reply(404, b"not found", head=head)

    def handle_post(self, h: _Handler, body: bytes):
        h.reply(404, b"not found")


class FileServer(_Server):
    """``files``: path -> bytes. ``cut_at``: bytes sent per response before hanging up (None: all)."""

    def __init__(self, files: dict[str, bytes] | None = None):
        super().__init__()
        self.files = dict(files or {})
        self.cut_at: int | None = None

    def handle_get(self, h: _Handler, head: bool):
        data = self.files.get(urlparse(h.path).path)
        if data is None:
            h.reply(404, b"not found", head=head)
        else:
            h.send_file(data, {"Content-Type": "application/octet-stream"}, head, self.cut_at)


class LocalHub(_Server):
    """``repos``: repo id -> {"commit": sha, "files": {path: bytes}} (one revision, ``main``)."""

    def __init__(self):
        super().__init__()
        self.repos: dict[str, dict] = {}

    def put(self, repo_id: str, files: dict[str, bytes]) -> None:
        repo = self.repos.setdefault(repo_id, {"commit": "", "files": {}})
        repo["files"].update(files)
        listing = json.dumps(sorted((p, hashlib.sha256(d).hexdigest()) for p, d in repo["files"].items()))
        repo["commit"] = hashlib.sha1(listing.encode()).hexdigest()

    def handle_get(self, h: _Handler, head: bool):
        parts = unquote(urlparse(h.path).path).lstrip("/").split("/")
        if len(parts) < 5 or parts[2] != "resolve":
            return h.reply(404, b"", {"X-Error-Code": "RepoNotFound"}, head)
        repo_id, revision, path = "/".join(parts[:2]), parts[3], "/".join(parts[4:])
        repo = self.repos.get(repo_id)
        if repo is None:
            return h.reply(404, b"", {"X-Error-Code": "RepoNotFound"}, head)
        if revision not in ("main", repo["commit"]):
            return h.reply(404, b"", {"X-Error-Code": "RevisionNotFound"}, head)
        commit = {"X-Repo-Commit": repo["commit"]}
        data = repo["files"].get(path)
        if data is None:
            return h.reply(404, b"", {"X-Error-Code": "EntryNotFound", **commit}, head)
        etag = f'"{hashlib.sha256(data).hexdigest()}"'
        h.send_file(data, {"ETag": etag, **commit, "Content-Type": "application/octet-stream"}, head)

    def handle_post(self, h: _Handler, body: bytes):
        path = urlparse(h.path).path
        if path == "/api/repos/create":
            req = json.loads(body)
            repo_id = f"{req['organization']}/{req['name']}" if req.get("organization") else req["name"]
            if repo_id in self.repos:
                return h.reply_json(409, {"error": "You already created this model repo"})
            self.repos[repo_id] = {"commit": "0" * 40, "files": {}}
            return h.reply_json(200, {"url": f"{self.url}/{repo_id}"})
        if path == "/api/validate-yaml":
            return h.reply_json(200, {"warnings": [], "errors": []})
        parts = path.strip("/").split("/")  # api models ORG NAME preupload|commit REVISION
        if len(parts) == 6 and parts[:2] == ["api", "models"]:
            repo_id, action = f"{parts[2]}/{parts[3]}", parts[4]
            if repo_id not in self.repos:
                return h.reply_json(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
            if action == "preupload":
                files = [
                    {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                    for f in json.loads(body)["files"]
                ]
                return h.reply_json(200, {"files": files})
            if action == "commit":
                added = {}
                for line in body.decode().splitlines():
                    item = json.loads(line)
                    if item["key"] == "file":
                        added[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
                self.put(repo_id, added)
                commit = self.repos[repo_id]["commit"]
                return h.reply_json(
                    200, {"commitUrl": f"{self.url}/{repo_id}/commit/{commit}", "commitOid": commit}
                )
        h.reply_json(404, {"error": f"not served here: {path}"})
