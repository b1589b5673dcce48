"""Blob garbage collection through a real server, on SQLite and PostgreSQL: ``POST /api/v1/gc``,
the SDK, and the ``cairn gc`` command.

Through HTTP the grace is whole requests apart: ``grace_hours: 0`` makes every row recorded
before the request old, the default (a day) makes nothing old. Bytes put in the last ten
minutes stay whatever the grace (``GarbageCollector.min_age``), so orphan bytes are made old
the way a crash long ago would leave them: by their file time. Finer cutoffs are tested on the
service (tests/unit/services/test_gc.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from cairn.client import Client
from cairn.client.gc import collect_garbage
from cairn.storage.blobs.local import LocalBlobStore
from cairn.wire.audit import AuditEntry
from tests.conftest import LiveServer, bearer, start_live_server
from tests.functional import blob_file, error_code, run_cli, tree_digests

API = "/api/v1"
ABANDONED = b"uploaded, never registered"
ORPHAN = b"bytes whose row was never committed"
SESSION = b"first part|second part"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Scene:
    """A server holding a version, an abandoned blob, orphan bytes and an unfinished upload."""

    server: LiveServer
    model: Path
    session: str

    def post_gc(self, body: Any, token: str | None = None) -> httpx.Response:
        headers = bearer(token or self.server.token)
        return httpx.post(f"{self.server.url}{API}/gc", json=body, headers=headers, timeout=30)

    def blob_status(self, data: bytes) -> int:
        url = f"{self.server.url}{API}/namespaces/default/blobs/{sha(data)}"
        return httpx.head(url, headers=self.server.headers, timeout=10).status_code

    def has_bytes(self, data: bytes) -> bool:
        return blob_file(self.server.data_dir, sha(data)).exists()

    def age_bytes(self, data: bytes) -> None:
        """Date the blob's file two hours back, as if it had been put then."""
        then = time.time() - 2 * 3600
        os.utime(blob_file(self.server.data_dir, sha(data)), (then, then))

    def sweeps(self) -> list[AuditEntry]:
        with Client(self.server.url, progress=False) as cairn:
            return cairn.audit_entries(action="gc.sweep")


@pytest.fixture
def scene(tmp_path: Path, database_url: str) -> Iterator[Scene]:
    server = start_live_server(tmp_path, database_url)
    try:
        model = tmp_path / "model"
        model.mkdir()
        (model / "weights.bin").write_bytes(b"w" * 3000)
        (model / "config.json").write_text('{"layers": 2}\n')
        with Client(server.url, progress=False, cache_dir=tmp_path / "cache") as cairn:
            cairn.push("default/m", model, capture_provenance=False)
        headers = server.headers
        put = httpx.put(
            f"{server.url}{API}/namespaces/default/blobs/{sha(ABANDONED)}",
            content=ABANDONED,
            headers=headers,
        )
        assert put.status_code == 201
        # What a server killed between the bytes' rename and the row's commit leaves behind.
        LocalBlobStore(server.data_dir / "blobs").put([ORPHAN])
        scene = Scene(server, model, "")
        scene.age_bytes(ORPHAN)
        started = httpx.post(
            f"{server.url}{API}/namespaces/default/uploads", headers=headers
        ).json()
        patched = httpx.patch(
            f"{server.url}{API}/namespaces/default/uploads/{started['id']}",
            content=SESSION[:10],
            headers={**headers, "Upload-Offset": "0"},
        )
        assert patched.status_code < 300, patched.text
        scene.session = started["id"]
        yield scene
    finally:
        server.stop()


def listed(report: dict[str, Any], kind: str) -> list[str]:
    return [b["digest"] for b in report[kind]]


def test_a_run_deletes_only_what_no_version_names_and_a_dry_run_lists_it_first(
    scene: Scene, tmp_path: Path
) -> None:
    young = scene.post_gc({})  # the default grace: a day
    assert young.status_code == 200 and young.json()["deleted"] == 0

    dry = scene.post_gc({"dry_run": True, "grace_hours": 0}).json()
    assert dry["dry_run"] is True
    assert listed(dry, "unreferenced") == [sha(ABANDONED)]
    assert listed(dry, "orphaned") == [sha(ORPHAN)]
    assert (dry["deleted"], dry["bytes"]) == (2, len(ABANDONED) + len(ORPHAN))
    assert scene.blob_status(ABANDONED) == 200 and scene.has_bytes(ORPHAN)
    assert scene.sweeps() == []

    run = scene.post_gc({"dry_run": False, "grace_hours": 0}).json()
    assert run["dry_run"] is False
    assert (run["unreferenced"], run["orphaned"]) == (dry["unreferenced"], dry["orphaned"])
    assert scene.blob_status(ABANDONED) == 404
    assert not scene.has_bytes(ORPHAN)
    assert scene.has_bytes(ABANDONED)  # put moments ago: its bytes wait for a later run
    [entry] = scene.sweeps()
    assert (entry.actor, entry.payload["deleted"]) == ("admin", 2)

    scene.age_bytes(ABANDONED)
    later = scene.post_gc({"grace_hours": 0}).json()
    assert (listed(later, "unreferenced"), listed(later, "orphaned")) == ([], [sha(ABANDONED)])
    assert not scene.has_bytes(ABANDONED)

    with Client(scene.server.url, progress=False, cache_dir=tmp_path / "other-cache") as cairn:
        cairn.pull("default/m:1", tmp_path / "pulled")
    assert tree_digests(tmp_path / "pulled") == tree_digests(scene.model)


def test_an_upload_in_progress_survives_and_can_still_be_registered(scene: Scene) -> None:
    assert scene.post_gc({"grace_hours": 0}).status_code == 200
    url, headers = scene.server.url, scene.server.headers
    status = httpx.get(f"{url}{API}/namespaces/default/uploads/{scene.session}", headers=headers)
    assert status.status_code == 200 and status.json()["offset"] == 10
    httpx.patch(
        f"{url}{API}/namespaces/default/uploads/{scene.session}",
        content=SESSION[10:],
        headers={**headers, "Upload-Offset": "10"},
    ).raise_for_status()
    finish = f"{url}{API}/namespaces/default/uploads/{scene.session}/finish"
    httpx.post(finish, params={"digest": sha(SESSION)}, headers=headers).raise_for_status()
    manifest = {"files": [{"path": "late.bin", "size": len(SESSION), "digest": sha(SESSION)}]}
    registered = httpx.post(
        f"{url}{API}/models/default/late/versions", json={"manifest": manifest}, headers=headers
    )
    assert registered.status_code == 201, registered.text
    got = httpx.get(f"{url}{API}/namespaces/default/blobs/{sha(SESSION)}", headers=headers)
    assert got.content == SESSION


def test_only_a_global_admin_may_collect(scene: Scene) -> None:
    with Client(scene.server.url, progress=False) as cairn:
        tokens = {}
        for name, role in (("ns-admin", "admin"), ("writer", "writer")):
            cairn.create_principal(name)
            cairn.grant(name, "default", role)
            tokens[name] = cairn.create_token(f"{name}-token", principal=name).secret
    for token in tokens.values():
        for dry_run in (True, False):
            refused = scene.post_gc({"dry_run": dry_run, "grace_hours": 0}, token)
            assert refused.status_code == 403 and error_code(refused) == "permission_denied"
    anonymous = httpx.post(f"{scene.server.url}{API}/gc", json={"grace_hours": 0}, timeout=10)
    assert anonymous.status_code == 401
    assert scene.blob_status(ABANDONED) == 200 and scene.has_bytes(ORPHAN)
    assert scene.sweeps() == []


@pytest.mark.parametrize(
    "body",
    [
        {"grace_hours": -1},
        {"grace_hours": "24"},
        {"grace_hours": True},
        {"grace_hours": 10**9},
        {"dry_run": "yes"},
        {"grace": 0},
        [],
    ],
)
def test_a_bad_request_is_refused_and_changes_nothing(scene: Scene, body: Any) -> None:
    refused = scene.post_gc(body)
    assert refused.status_code == 400 and error_code(refused) == "invalid_input"
    assert scene.blob_status(ABANDONED) == 200 and scene.has_bytes(ORPHAN)


def test_the_cli_and_the_sdk(scene: Scene) -> None:
    url = scene.server.url
    dry = run_cli(url, "gc", "--dry-run", "--grace-hours", "0", "--json")
    assert dry.returncode == 0, dry.stderr
    assert listed(json.loads(dry.stdout), "unreferenced") == [sha(ABANDONED)]
    assert scene.blob_status(ABANDONED) == 200

    assert run_cli(url, "gc", "--grace-hours", "-1").returncode == 2

    run = run_cli(url, "gc", "--grace-hours", "0")
    assert run.returncode == 0, run.stderr
    assert sha(ORPHAN).removeprefix("sha256:")[:12] in run.stdout
    assert "deleted 2 blobs" in run.stdout
    assert scene.blob_status(ABANDONED) == 404

    with Client(scene.server.url, progress=False) as cairn:
        again = collect_garbage(cairn.http, dry_run=True, grace_hours=0)
    assert again.deleted == 0
