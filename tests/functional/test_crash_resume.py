"""A server killed with SIGKILL in the middle of a transfer: the push and the pull carry on
once it is back, nothing acknowledged is lost, and no version row points at a missing or
mismatched blob (DESIGN §2, invariants 1 and 2)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from cairn.client import Client
from tests.conftest import LiveServer, start_live_server
from tests.functional import (
    MiB,
    blob_file,
    download_bytes,
    read_only_db,
    sha256_of,
    tree_digests,
    upload_bytes,
    wait_for,
    write_random,
)

pytestmark = pytest.mark.slow

OUTAGE_SECONDS = 1.0  # how long the server stays dead: long enough for the client to notice


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """``cairn server`` in a process of its own: these tests kill it."""
    server = start_live_server(tmp_path, process=True)
    yield server
    server.stop()


def _session_mid_chunk(server: LiveServer) -> tuple[str, int] | None:
    """An upload session that has acknowledged at least one chunk and is receiving the next
    one: ``(id, acknowledged offset)``, or None while there is none."""
    with read_only_db(server.data_dir) as db:
        row = db.execute('SELECT id, "offset" FROM upload_sessions').fetchone()
    if row is None or row[1] == 0:
        return None
    session_id, offset = str(row[0]), int(row[1])
    on_disk = server.data_dir / "blobs" / "uploads" / session_id
    if not on_disk.exists() or on_disk.stat().st_size <= offset:
        return None
    return session_id, offset


def _crash(server: LiveServer, transfer: Future[Any]) -> None:
    server.kill()
    time.sleep(OUTAGE_SECONDS)  # the outage itself, not a wait for a condition
    assert not transfer.done(), "the transfer gave up or finished while the server was down"
    server.start()


def _assert_every_version_has_its_blobs(data_dir: Path) -> None:
    with read_only_db(data_dir) as db:
        orphans = db.execute(
            "SELECT vf.digest FROM version_files vf LEFT JOIN blobs b ON b.digest = vf.digest "
            "WHERE b.digest IS NULL"
        ).fetchall()
        blobs = db.execute("SELECT digest, size FROM blobs").fetchall()
        sessions = db.execute("SELECT count(*) FROM upload_sessions").fetchone()[0]
    assert orphans == []
    assert blobs
    for digest, size in blobs:
        stored = blob_file(data_dir, digest)
        assert stored.stat().st_size == size, digest
        assert "sha256:" + sha256_of(stored) == digest
    assert sessions == 0  # the finished session is gone, row and bytes
    assert list((data_dir / "blobs" / "uploads").iterdir()) == []


def test_push_survives_a_server_killed_mid_upload(live_server: LiveServer, tmp_path: Path) -> None:
    source = tmp_path / "source"
    big = write_random(source / "weights.bin", 300 * MiB)
    (source / "config.json").write_text('{"layers": 48}\n')
    expected = tree_digests(source)

    client = Client(live_server.url, progress=False, cache_dir=tmp_path / "cache", retry_seconds=60)
    with client, ThreadPoolExecutor(max_workers=1) as pool:
        push = pool.submit(client.push, "big", source, capture_provenance=False)
        _, acknowledged = wait_for(
            lambda: _session_mid_chunk(live_server), "an upload session mid-chunk", timeout=60
        )
        _crash(live_server, push)
        version = push.result(timeout=120)

    assert version.number == 1
    assert {f.path: f.digest for f in version.files or []} == {
        path: "sha256:" + digest for path, digest in expected.items()
    }
    # The restarted server received only what had not been acknowledged before the crash.
    resent = upload_bytes(live_server.url)
    assert 0 < resent <= big.stat().st_size - acknowledged
    _assert_every_version_has_its_blobs(live_server.data_dir)

    dest = tmp_path / "pulled"
    with Client(live_server.url, progress=False, cache_dir=tmp_path / "cache-2") as puller:
        puller.pull("big:1", dest)
    assert tree_digests(dest) == expected


def test_pull_survives_a_server_killed_mid_download(
    live_server: LiveServer, tmp_path: Path
) -> None:
    source = tmp_path / "source"
    big = write_random(source / "weights.bin", 128 * MiB)
    expected = tree_digests(source)
    with Client(live_server.url, progress=False, cache_dir=tmp_path / "push-cache") as pusher:
        pusher.push("big", source, capture_provenance=False)

    cache = tmp_path / "cache"
    partial = cache / "partial" / expected["weights.bin"]
    dest = tmp_path / "pulled"
    client = Client(live_server.url, progress=False, cache_dir=cache, retry_seconds=60)
    with client, ThreadPoolExecutor(max_workers=1) as pool:
        pull = pool.submit(client.pull, "big:1", dest)
        wait_for(lambda: partial.exists() and partial.stat().st_size > 0, "the first bytes")
        _crash(live_server, pull)
        pulled = pull.result(timeout=120)

    assert pulled.version.number == 1
    assert tree_digests(dest) == expected
    # The restarted server sent only the part the client did not have: a Range resume.
    assert 0 < download_bytes(live_server.url) < big.stat().st_size
