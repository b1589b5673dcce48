"""Fault tests: the server killed with SIGKILL at the three moments that matter — before a
blob is durable, after the metadata rows are written but before their commit, after the commit
but before the answer — and, after a restart, DESIGN §2's invariants hold: no version without
its blobs, a retry with the same idempotency key ends with exactly one version, and orphan
blobs are collected later."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer, start_live_server
from tests.functional import run_cli

API = "/api/v1"
MiB = 1 << 20
BLOB = os.urandom(3 * MiB)  # several chunks: the crash comes after the first
DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()
BODY = {"manifest": {"files": [{"path": "w.bin", "digest": DIGEST, "size": len(BLOB)}]}}
KEY = {"Idempotency-Key": "push-42"}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = start_live_server(tmp_path)
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
    url = f"{server.url}{API}/blobs/{DIGEST}"
    return httpx.put(url, content=BLOB, headers=server.headers, timeout=60)


def _register(server: LiveServer) -> httpx.Response:
    url = f"{server.url}{API}/models/default/m/versions"
    return httpx.post(url, json=BODY, headers={**server.headers, **KEY}, timeout=60)


def _no_version_without_its_blobs(server: LiveServer) -> None:
    with sqlite3.connect(server.data_dir / "cairn.db") as db:
        dangling = db.execute(
            "SELECT count(*) FROM version_files f LEFT JOIN blobs b ON b.digest = f.digest "
            "WHERE b.digest IS NULL"
        ).fetchone()[0]
    assert dangling == 0
    for number in _versions(server):
        version = httpx.get(
            f"{server.url}{API}/models/default/m/versions/{number}", headers=server.headers
        ).json()
        for f in version["files"]:
            blob = httpx.get(f"{server.url}{API}/blobs/{f['digest']}", headers=server.headers)
            assert blob.status_code == 200
            assert "sha256:" + hashlib.sha256(blob.content).hexdigest() == f["digest"]


def test_killed_before_the_blob_is_durable(server: LiveServer) -> None:
    _crash_at(server, "blob-receiving")
    with pytest.raises(httpx.TransportError):
        _put(server)
    _restart(server)
    stat = httpx.head(f"{server.url}{API}/blobs/{DIGEST}", headers=server.headers)
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
