"""An idempotency key names one request: replayed with the same body it returns the version it
registered, replayed with another body (another description, other tags, other files) it is a
409 ``idempotency_conflict`` that changes nothing — never a 200 that drops the difference
without a word (DESIGN invariant 4). Through the SDK and raw HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cairn import errors
from cairn.client import Client
from tests.conftest import LiveServer, start_live_server
from tests.functional import error_code


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    live = start_live_server(tmp_path, database_url)
    yield live
    live.stop()


def test_a_key_replayed_with_another_description_is_a_conflict_that_changes_nothing(
    server: LiveServer, tmp_path: Path
) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"weights" * 100)
    with Client(
        server.url, token=server.token, cache_dir=tmp_path / "cache", progress=False
    ) as cairn:
        first = cairn.push("fraud", folder, description="first", idempotency_key="release-7")
        retry = cairn.push("fraud", folder, description="first", idempotency_key="release-7")
        assert (retry.number, retry.description) == (first.number, "first")

        with pytest.raises(errors.IdempotencyConflict) as refused:
            cairn.push("fraud", folder, description="second", idempotency_key="release-7")
        assert refused.value.details["ref"] == "default/fraud:1"
        with pytest.raises(errors.IdempotencyConflict):
            cairn.push("fraud", folder, tags={"team": "b"}, idempotency_key="release-7")

        assert [v.number for v in cairn.versions("fraud")] == [1]
        assert cairn.get("fraud:1").description == "first"
        # A new key is a new version, numbered next: the conflicts used up no number.
        again = cairn.push("fraud", folder, description="second", idempotency_key="release-8")
        assert (again.number, again.description) == (2, "second")


def test_the_same_body_in_another_spelling_is_the_same_request(server: LiveServer) -> None:
    data = b"config"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    stored = httpx.put(
        f"{server.url}/api/v1/namespaces/default/blobs/{digest}",
        content=data,
        headers=server.headers,
    )
    assert stored.status_code == 201, stored.text
    files = {"files": [{"path": "c.json", "size": len(data), "digest": digest}]}
    url = f"{server.url}/api/v1/models/default/churn/versions"
    headers = {**server.headers, "Idempotency-Key": "k-1", "Content-Type": "application/json"}
    body = {"manifest": files, "description": "d", "metrics": {"auc": 0.9, "f1": 0.5}}
    made = httpx.post(url, content=json.dumps(body), headers=headers)
    assert made.status_code == 201, made.text

    reordered = {"metrics": {"f1": 0.5, "auc": 0.9}, "description": "d", "manifest": files}
    replay = httpx.post(url, content=json.dumps(reordered, indent=2), headers=headers)
    assert (replay.status_code, replay.json()["number"]) == (200, 1)

    changed = httpx.post(url, json={**body, "metrics": {"auc": 0.91, "f1": 0.5}}, headers=headers)
    assert changed.status_code == 409 and error_code(changed) == "idempotency_conflict"
    listed = httpx.get(url, headers=server.headers).json()["items"]
    assert [(v["number"], v["metrics"]) for v in listed] == [(1, {"auc": 0.9, "f1": 0.5})]
