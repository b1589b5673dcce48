"""A write that meets a lock another transaction holds waits a bounded time
(``CAIRN_DATABASE_LOCK_TIMEOUT_SECONDS``), then answers ``503 database_busy`` with
``Retry-After``, having written nothing: on PostgreSQL a row lock on the model, on SQLite the
database's write lock, each held by another connection as an operator's session or another
process would hold it."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from cairn.client import Client
from tests.conftest import LiveServer, start_live_server
from tests.functional import error_code

BOUND = 1.0
DATA = b"weights" * 64
DIGEST = "sha256:" + hashlib.sha256(DATA).hexdigest()
BODY = {"manifest": {"files": [{"path": "w.bin", "size": len(DATA), "digest": DIGEST}]}}


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    live = start_live_server(tmp_path, database_url, CAIRN_DATABASE_LOCK_TIMEOUT_SECONDS=str(BOUND))
    yield live
    live.stop()


@contextmanager
def holding_the_model(database_url: str) -> Iterator[None]:
    """Another connection holds what a registration of default/fraud must lock."""
    if database_url.startswith("sqlite"):
        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")  # the one write lock SQLite has
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn, conn.begin() as transaction:
            locked = conn.execute(
                text("SELECT id FROM models WHERE name = 'fraud' FOR UPDATE")
            ).all()
            assert len(locked) == 1
            yield
            transaction.rollback()
    finally:
        engine.dispose()


def _register(server: LiveServer) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/v1/models/default/fraud/versions",
        json=BODY,
        headers=server.headers,
        timeout=60,
    )


def test_a_write_behind_a_held_lock_answers_503_with_retry_after_in_bounded_time(
    server: LiveServer, database_url: str, tmp_path: Path
) -> None:
    put = httpx.put(
        f"{server.url}/api/v1/namespaces/default/blobs/{DIGEST}",
        content=DATA,
        headers=server.headers,
    )
    assert put.status_code == 201, put.text
    assert _register(server).status_code == 201

    with holding_the_model(database_url):
        started = time.monotonic()
        refused = _register(server)
        waited = time.monotonic() - started
    assert refused.status_code == 503, refused.text
    assert error_code(refused) == "database_busy"
    assert refused.headers["Retry-After"].isdigit()
    assert BOUND * 0.9 <= waited < BOUND + 5, waited

    # Nothing was written: the next registration gets the next number, and the SDK, which
    # retries a 503, gets through once the lock is gone.
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "w.bin").write_bytes(DATA + b"2")
    with Client(
        server.url, token=server.token, cache_dir=tmp_path / "cache", progress=False
    ) as cairn:
        pushed = cairn.push("fraud", folder, capture_provenance=False)
        assert pushed.number == 2
        assert [v.number for v in cairn.versions("fraud")] == [2, 1]
