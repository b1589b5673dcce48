"""What the OCI tests share: a real server per module (SQLite or its own PostgreSQL database),
tokens with chosen roles, and small builders of blobs and manifests."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import LiveServer, bearer, start_live_server
from tests.databases import pg_run

IMAGE_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
EMPTY = b"{}"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@contextmanager
def serve(folder: Path, database: str, **env: str) -> Iterator[LiveServer]:
    """A real ``cairn server`` on SQLite (the embedded default) or on PostgreSQL."""
    if database == "sqlite":
        server = start_live_server(folder, **env)
        try:
            yield server
        finally:
            server.stop()
        return
    url = pg_run().take()
    server = start_live_server(folder, url, **env)
    try:
        yield server
    finally:
        server.stop()
        pg_run().give_back(url)


def ensure_namespace(server: LiveServer, name: str) -> None:
    with httpx.Client(headers=server.headers, timeout=30) as client:
        created = client.post(f"{server.url}/api/v1/namespaces", json={"name": name})
        assert created.status_code in (201, 409), created.text


def token_for(server: LiveServer, name: str, roles: dict[str, str]) -> str:
    """A new principal holding ``roles`` (namespace → role), and a token of it."""
    api = f"{server.url}/api/v1"
    with httpx.Client(headers=server.headers, timeout=30) as client:
        for namespace in roles:
            ensure_namespace(server, namespace)
        client.post(f"{api}/principals", json={"name": name}).raise_for_status()
        for namespace, role in roles.items():
            client.put(
                f"{api}/principals/{name}/roles/{namespace}", json={"role": role}
            ).raise_for_status()
        created = client.post(f"{api}/tokens", json={"name": f"{name}-t", "principal": name})
        created.raise_for_status()
        secret: str = created.json()["secret"]
        return secret


def push_blob(client: httpx.Client, repo: str, data: bytes) -> str:
    """A blob pushed in one POST (``?digest=``); its digest."""
    digest = digest_of(data)
    response = client.post(f"/v2/{repo}/blobs/uploads/", params={"digest": digest}, content=data)
    assert response.status_code == 201, response.text
    return digest


def image_manifest(
    layers: list[tuple[bytes, str]], *, subject: tuple[str, int] | None = None, **extra: Any
) -> dict[str, Any]:
    """An image manifest over the config ``{}`` and ``layers`` (bytes, title)."""
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": IMAGE_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.empty.v1+json",
            "digest": digest_of(EMPTY),
            "size": 2,
        },
        "layers": [
            {
                "mediaType": "application/octet-stream",
                "digest": digest_of(data),
                "size": len(data),
                "annotations": {"org.opencontainers.image.title": title},
            }
            for data, title in layers
        ],
    }
    if subject is not None:
        doc["subject"] = {"mediaType": IMAGE_MANIFEST, "digest": subject[0], "size": subject[1]}
    doc.update(extra)
    return doc


def as_bytes(doc: dict[str, Any]) -> bytes:
    """Serialised the way oras-py does (``", "`` and ``": "``): not Cairn's own spacing."""
    return json.dumps(doc).encode()


def oci_error(response: httpx.Response) -> str:
    """The OCI error code of a refusal, after checking the body has the spec's shape."""
    body = response.json()
    assert set(body) == {"errors"} and len(body["errors"]) == 1, body
    assert {"code", "message", "detail"} <= set(body["errors"][0]), body
    code: str = body["errors"][0]["code"]
    return code


def client_for(server: LiveServer, token: str | None = None) -> httpx.Client:
    headers = bearer(token if token is not None else server.token)
    return httpx.Client(base_url=server.url, headers=headers, timeout=60)
