"""Concurrent writers against a real server, on SQLite and on PostgreSQL: distinct, gapless
version numbers, and idempotent retries (DESIGN §2, invariants 4 and 5)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from cairn.client.local_admin import local_admin_token
from tests.conftest import LiveServer, bearer, start_live_server
from tests.functional.oci_support import (
    EMPTY,
    IMAGE_MANIFEST,
    as_bytes,
    client_for,
    digest_of,
    image_manifest,
    push_blob,
)

T = TypeVar("T")
WRITERS = 16
VERSIONS = "/api/v1/models/default/m/versions"


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    live = start_live_server(tmp_path, database_url)
    yield live
    live.stop()


def _auth(url: str) -> dict[str, str]:
    """The admin token of the server on this machine, found the way the SDK finds it."""
    token = local_admin_token(url)
    assert token is not None
    return bearer(token)


def _put_blob(url: str, content: bytes) -> dict[str, Any]:
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    response = httpx.put(
        f"{url}/api/v1/namespaces/default/blobs/{digest}",
        content=content,
        headers=_auth(url),
        timeout=30,
    )
    assert response.is_success, response.text
    assert response.json() == {"digest": digest, "size": len(content)}
    return {"size": len(content), "digest": digest}


@pytest.fixture
def files(server: LiveServer) -> list[dict[str, Any]]:
    """Two uploaded blobs, as manifest entries."""
    weights = _put_blob(server.url, b"\x00\x01weights" * 1000)
    config = _put_blob(server.url, b'{"layers": 2}\n')
    return [{"path": "weights.bin", **weights}, {"path": "config.json", **config}]


def _register(url: str, files: list[dict[str, Any]], key: str | None = None) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    headers.update(_auth(url))
    body = {"manifest": {"files": files}, "metrics": {"auc": 0.9}}
    return httpx.post(url + VERSIONS, json=body, headers=headers, timeout=60)


def _all_at_once(count: int, work: Callable[[int], T]) -> list[T]:
    """Run ``work(i)`` for ``count`` threads released together, so their requests overlap."""
    start = threading.Barrier(count)

    def one(i: int) -> T:
        start.wait(timeout=30)
        return work(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def test_concurrent_registrations_get_distinct_gapless_numbers(
    server: LiveServer, files: list[dict[str, Any]]
) -> None:
    # Half register the same content, half their own: neither changes how numbers are given.
    def register(i: int) -> httpx.Response:
        own = [{**files[1], "path": f"extra-{i}.bin"}] if i % 2 else []
        return _register(server.url, files + own)

    responses = _all_at_once(WRITERS, register)

    assert [r.status_code for r in responses] == [201] * WRITERS, [r.text for r in responses]
    numbers = sorted(r.json()["number"] for r in responses)
    assert numbers == list(range(1, WRITERS + 1))
    listed = httpx.get(
        server.url + VERSIONS, params={"limit": 100}, headers=server.headers, timeout=10
    ).json()["items"]
    assert [v["number"] for v in listed] == list(range(WRITERS, 0, -1))
    # Numbers were given in the order the registrations were applied, and so were the times.
    created = [datetime.fromisoformat(v["created_at"]) for v in reversed(listed)]
    assert created == sorted(created)
    # The next registration continues the sequence.
    assert _register(server.url, files).json()["number"] == WRITERS + 1


def test_retries_with_one_idempotency_key_make_one_version(
    server: LiveServer, files: list[dict[str, Any]]
) -> None:
    first = _register(server.url, files, key="push-1")
    assert first.status_code == 201
    created = first.json()

    retries = _all_at_once(8, lambda _: _register(server.url, files, key="push-1"))

    assert [r.status_code for r in retries] == [200] * 8
    assert {r.json()["number"] for r in retries} == {created["number"]}
    assert {r.json()["manifest_digest"] for r in retries} == {created["manifest_digest"]}

    other = _register(server.url, files[:1], key="push-1")
    assert other.status_code == 409
    error = other.json()["error"]
    assert error["code"] == "idempotency_conflict"
    assert set(error) == {"code", "message", "details"}

    # Neither the retries nor the conflict used up a number.
    fresh = _register(server.url, files, key="push-2")
    assert (fresh.status_code, fresh.json()["number"]) == (201, created["number"] + 1)


def test_concurrent_first_retries_with_one_key_make_one_version(
    server: LiveServer, files: list[dict[str, Any]]
) -> None:
    responses = _all_at_once(8, lambda _: _register(server.url, files, key="only-once"))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 7 + [201], [r.text for r in responses]
    assert {r.json()["number"] for r in responses} == {1}


def test_concurrent_first_pushes_of_a_new_model_over_oci_make_one_model(
    server: LiveServer,
) -> None:
    # A model's first pushes race to create it: by tag (a version each) and by digest (an
    # index's children, a signature), every one is accepted and they make one model.
    repo = "default/fresh"
    layers = [(f"weights {i}".encode(), f"w{i}.bin") for i in range(WRITERS)]
    with client_for(server) as client:
        push_blob(client, repo, EMPTY)
        for data, _ in layers:
            push_blob(client, repo, data)
    manifests = [as_bytes(image_manifest([layer])) for layer in layers]

    def push(i: int) -> httpx.Response:
        reference = "latest" if i % 2 else digest_of(manifests[i])
        with client_for(server) as client:
            return client.put(
                f"/v2/{repo}/manifests/{reference}",
                content=manifests[i],
                headers={"Content-Type": IMAGE_MANIFEST},
            )

    responses = _all_at_once(WRITERS, push)

    assert [r.status_code for r in responses] == [201] * WRITERS, [r.text for r in responses]
    models = httpx.get(
        server.url + "/api/v1/models", params={"namespace": "default"}, headers=server.headers
    ).json()["items"]
    assert [m["name"] for m in models] == ["fresh"]
    versions = httpx.get(
        f"{server.url}/api/v1/models/{repo}/versions", headers=server.headers
    ).json()["items"]
    assert sorted(v["number"] for v in versions) == list(range(1, WRITERS // 2 + 1))
