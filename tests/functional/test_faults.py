"""Fault tests: the server killed with SIGKILL at the three moments that matter — before a
blob is durable, after the metadata rows are written but before their commit, after the commit
but before the answer — and, after a restart, DESIGN §2's invariants hold: no version without
its blobs, a retry with the same idempotency key ends with exactly one version, and orphan
blobs are collected later."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import LiveServer, free_port, start_live_server
from tests.contract.s3_server import S3Server
from tests.functional import run_cli, wait_for

# Every server here is `cairn server` in a process of its own: a fault test is about what a
# real process does when what it depends on fails, or when it is killed.
pytestmark = pytest.mark.slow

API = "/api/v1"
MiB = 1 << 20
BLOB = b"weights\n" + os.urandom(3 * MiB)  # several chunks: the crash comes after the first
DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()
BODY = {"manifest": {"files": [{"path": "w.bin", "digest": DIGEST, "size": len(BLOB)}]}}
KEY = {"Idempotency-Key": "push-42"}


@pytest.fixture
def s3(s3_server: S3Server) -> S3Server:
    return s3_server


@pytest.fixture(params=["sqlite+folder", "postgresql+s3"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    """The embedded default, and the scale-out deployment (PostgreSQL + S3 over HTTP)."""
    if request.param == "sqlite+folder":
        live = start_live_server(tmp_path, process=True)
    else:
        s3: S3Server = request.getfixturevalue("s3")
        prefix = f"faults-{uuid.uuid4().hex[:12]}"
        pg_url = request.getfixturevalue("pg_url")
        live = start_live_server(tmp_path, pg_url, process=True, **s3.env(prefix))
    live.env.setdefault("CAIRN_DATABASE_URL", f"sqlite:///{live.data_dir / 'cairn.db'}")
    yield live
    live.stop()


def _crash_at(server: LiveServer, point: str) -> None:
    server.stop()
    server.env["CAIRN_CRASH_AT"] = point
    server.start()


def _restart(server: LiveServer) -> None:
    assert server.process is not None
    server.process.wait(timeout=30)  # it killed itself
    assert server.process.returncode == -9
    server.process = None
    server.env.pop("CAIRN_CRASH_AT")
    server.start()


def _versions(server: LiveServer) -> list[int]:
    url = f"{server.url}{API}/models/default/m/versions"
    response = httpx.get(url, headers=server.headers)
    if response.status_code == 404:
        return []
    return [v["number"] for v in response.json()["items"]]


def _put(server: LiveServer) -> httpx.Response:
    url = f"{server.url}{API}/namespaces/default/blobs/{DIGEST}"
    return httpx.put(url, content=BLOB, headers=server.headers, timeout=60)


def _register(server: LiveServer) -> httpx.Response:
    url = f"{server.url}{API}/models/default/m/versions"
    return httpx.post(url, json=BODY, headers={**server.headers, **KEY}, timeout=60)


def _no_version_without_its_blobs(server: LiveServer) -> None:
    engine = create_engine(server.env["CAIRN_DATABASE_URL"])
    with engine.connect() as db:
        dangling = db.execute(
            text(
                "SELECT count(*) FROM version_files f LEFT JOIN blobs b ON b.digest = f.digest "
                "WHERE b.digest IS NULL"
            )
        ).scalar()
    engine.dispose()
    assert dangling == 0
    for number in _versions(server):
        version = httpx.get(
            f"{server.url}{API}/models/default/m/versions/{number}", headers=server.headers
        ).json()
        for f in version["files"]:
            blob = httpx.get(
                f"{server.url}{API}/namespaces/default/blobs/{f['digest']}", headers=server.headers
            )
            assert blob.status_code == 200
            assert "sha256:" + hashlib.sha256(blob.content).hexdigest() == f["digest"]


def test_killed_before_the_blob_is_durable(server: LiveServer) -> None:
    _crash_at(server, "blob-receiving")
    with pytest.raises(httpx.TransportError):
        _put(server)
    _restart(server)
    stat = httpx.head(
        f"{server.url}{API}/namespaces/default/blobs/{DIGEST}", headers=server.headers
    )
    assert stat.status_code == 404  # nothing half-written became a blob
    assert _put(server).status_code == 201  # the client's retry stores it whole
    assert _register(server).status_code == 201
    assert _versions(server) == [1]
    _no_version_without_its_blobs(server)


def test_killed_after_the_rows_are_written_before_the_commit(server: LiveServer) -> None:
    assert _put(server).status_code == 201
    _crash_at(server, "register-uncommitted")
    with pytest.raises(httpx.TransportError):
        _register(server)
    _restart(server)
    assert _versions(server) == []  # the transaction died with the process
    _no_version_without_its_blobs(server)
    # The blob is an orphan now: a GC with no grace collects its row.
    swept = run_cli(server.url, "--json", "gc", "--grace-hours", "0")
    assert swept.returncode == 0, swept.stderr
    assert DIGEST in json.dumps(json.loads(swept.stdout))
    # The client retries with the same key: the blob goes up again, one version results.
    assert _put(server).status_code == 201
    assert _register(server).status_code == 201
    assert _register(server).status_code == 200
    assert _versions(server) == [1]
    _no_version_without_its_blobs(server)


def test_killed_after_the_commit_before_the_answer(server: LiveServer) -> None:
    assert _put(server).status_code == 201
    _crash_at(server, "register-committed")
    with pytest.raises(httpx.TransportError):
        _register(server)
    _restart(server)
    assert _versions(server) == [1]  # committed means durable
    retry = _register(server)  # the client never heard back, so it retries, same key
    assert retry.status_code == 200 and retry.json()["number"] == 1
    assert _versions(server) == [1]
    _no_version_without_its_blobs(server)
    entries = httpx.get(
        f"{server.url}{API}/audit/entries", params={"limit": 1000}, headers=server.headers
    ).json()["items"]
    assert [e["action"] for e in entries].count("version.register") == 1


class TcpProxy:
    """A TCP forwarder standing between the server and PostgreSQL, so a test can take the
    database away and bring it back without touching the real one."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.pipes: list[socket.socket] = []

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        # Closing a socket another thread is blocked in accept() on leaves it listening until
        # that accept returns; shutting it down first wakes the accept and refuses new ones.
        if self.listener is not None:
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.shutdown(socket.SHUT_RDWR)
            pipe.close()
        self.pipes.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if self.listener is not listener:  # accepted as stop() ran: refused
                client.close()
                return
            upstream = socket.create_connection(self.target)
            self.pipes += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def test_the_database_going_away_is_a_503_and_its_return_needs_no_restart(
    tmp_path: Path, pg_url: str
) -> None:
    database = make_url(pg_url)
    proxy = TcpProxy((database.host or "127.0.0.1", database.port or 5432))
    proxy.start()
    through = database.set(port=proxy.port).render_as_string(hide_password=False)
    live = start_live_server(tmp_path, through, process=True)
    try:
        models = f"{live.url}{API}/models"
        assert httpx.get(models, headers=live.headers).status_code == 200
        proxy.stop()
        down = httpx.get(models, headers=live.headers, timeout=60)
        assert down.status_code == 503, down.text
        assert down.json()["error"]["code"] == "database_unavailable"
        assert down.headers["retry-after"] == "2"
        assert httpx.get(f"{live.url}/healthz").status_code == 200  # the process lives on
        assert httpx.get(f"{live.url}/readyz").status_code == 503
        proxy.start()
        back = httpx.get(models, headers=live.headers, timeout=60)
        assert back.status_code == 200, back.text
        created = httpx.post(
            f"{models}/default", json={"name": "after"}, headers=live.headers, timeout=60
        )
        assert created.status_code == 201, created.text
        assert httpx.get(f"{live.url}/readyz").status_code == 200
    finally:
        live.stop()
        proxy.stop()


def test_a_full_disk_is_an_error_that_leaves_nothing_behind(tmp_path: Path) -> None:
    """The blob folder is a 4 MiB tmpfs, mounted in a mount namespace of the server's own
    (``unshare``: no privileges needed where user namespaces are enabled, as here)."""
    blobs = tmp_path / "small-disk"
    blobs.mkdir()
    data = tmp_path / "data"
    data.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    env.update(
        {
            "CAIRN_DATA_DIR": str(data),
            "CAIRN_BLOB_URL": blobs.as_uri(),
            "CAIRN_LOG_LEVEL": "warning",
        }
    )
    mount = 'mount -t tmpfs -o size=4m tmpfs "$0" && exec "$@"'
    command = [
        "unshare",
        "-rm",
        "sh",
        "-c",
        mount,
        str(blobs),
        sys.executable,
        "-m",
        "cairn",
        "server",
        "--port",
        str(port),
    ]
    with (tmp_path / "server.log").open("ab") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _ready(url), "the server on a small disk")
        headers = {"Authorization": f"Bearer {(data / 'admin-token').read_text().strip()}"}
        big = os.urandom(6 * MiB)
        refused = httpx.put(
            f"{url}{API}/namespaces/default/blobs/sha256:{hashlib.sha256(big).hexdigest()}",
            content=big,
            headers=headers,
            timeout=60,
        )
        assert refused.status_code == 507, refused.text
        assert refused.json()["error"]["code"] == "insufficient_storage"
        assert httpx.get(f"{url}/healthz").status_code == 200
        # The partial bytes are gone: a blob that fits the disk only when they are still fits.
        fits = os.urandom(3 * MiB)
        stored = httpx.put(
            f"{url}{API}/namespaces/default/blobs/sha256:{hashlib.sha256(fits).hexdigest()}",
            content=fits,
            headers=headers,
            timeout=60,
        )
        assert stored.status_code == 201, stored.text
    finally:
        process.terminate()
        process.wait(timeout=30)


def _ready(url: str) -> bool:
    try:
        return httpx.get(url + "/readyz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


class FaultyS3:
    """An HTTP proxy in front of the S3 endpoint that passes requests through, answers 500,
    or hangs, as told; it counts what it was asked."""

    def __init__(self, upstream: str) -> None:
        self.mode = "pass"
        self.seen = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                proxy.seen += 1
                if proxy.mode == "fail":
                    self.send_response(500)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                if proxy.mode == "hang":
                    time.sleep(3)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                answer = httpx.request(
                    self.command, upstream + self.path, headers=headers, content=body, timeout=60
                )
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    skip = ("content-length", "transfer-encoding", "connection", "date", "server")
                    if key.lower() not in skip:
                        self.send_header(key, value)
                length = answer.headers.get("content-length", str(len(answer.content)))
                self.send_header(
                    "content-length", length if self.command == "HEAD" else str(len(answer.content))
                )  # a HEAD tells the object's size
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer.content)

            def do_GET(self) -> None:
                self._any()

            def do_PUT(self) -> None:
                self._any()

            def do_POST(self) -> None:
                self._any()

            def do_DELETE(self) -> None:
                self._any()

            def do_HEAD(self) -> None:
                self._any()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("failure", ["fail", "hang"])
def test_the_object_store_failing_is_bounded_retries_then_a_clear_error(
    tmp_path: Path, pg_url: str, s3: S3Server, failure: str
) -> None:
    proxy = FaultyS3(s3.endpoint)
    prefix = f"faulty-{uuid.uuid4().hex[:12]}"
    settings = {**s3.env(prefix), "CAIRN_S3_ENDPOINT_URL": proxy.url}
    live = start_live_server(
        tmp_path, pg_url, process=True, **settings, CAIRN_S3_TIMEOUT_SECONDS="1"
    )
    try:
        proxy.mode, proxy.seen = failure, 0
        refused = _put(live)
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "storage_unavailable"
        assert refused.headers["retry-after"] == "2"
        # Bounded: each S3 call is tried at most four times (botocore's standard retries); the
        # failing put and its clean-up (its lock, what it began) are a handful of calls.
        assert 4 <= proxy.seen <= 24, proxy.seen
        assert httpx.get(f"{live.url}/healthz").status_code == 200
        proxy.mode = "pass"
        stored = [k for k in s3.keys(prefix + "/") if k.startswith("blobs/")]
        assert not [k for k in stored if DIGEST.removeprefix("sha256:") in k]
        assert s3.uploads(prefix + "/") == []  # nothing half-written is left open
        assert _put(live).status_code == 201  # and the store is used again once it answers
        assert _register(live).status_code == 201
        _no_version_without_its_blobs(live)
    finally:
        live.stop()
        proxy.close()
