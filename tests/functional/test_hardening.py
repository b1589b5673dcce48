"""HTTP hardening: the Host allow-list, CORS off unless configured, download headers that
keep a browser from rendering model bytes, and tokens that never reach a log."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from cairn.api.app import create_app
from cairn.api.hosts import host_of
from cairn.services.container import Services
from tests.conftest import bearer, make_settings, start_live_server

API = "/api/v1"
BLOB = b"<html><script>alert(1)</script></html>"
DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()


@pytest.fixture
def client(services: Services, admin_token: str) -> Iterator[TestClient]:
    with TestClient(create_app(services), raise_server_exceptions=False) as c:
        c.headers.update(bearer(admin_token))
        yield c


def test_a_host_the_server_does_not_serve_is_refused(client: TestClient) -> None:
    refused = client.get(f"{API}/namespaces", headers={"host": "evil.example"})
    assert refused.status_code == 400
    assert refused.json() == {
        "error": {
            "code": "invalid_host",
            "message": "this server does not answer to that host name",
            "details": {},
        }
    }
    for host in ["testserver", "localhost:8080", "127.0.0.1", "[::1]:9"]:
        assert client.get(f"{API}/namespaces", headers={"host": host}).status_code == 200, host


def test_host_header_forms() -> None:
    assert host_of("Example.COM:443") == "example.com"
    assert host_of("[::1]:8080") == "::1"
    assert host_of("::1") == "::1"
    assert host_of("") == ""


def test_cors_is_off_unless_configured(client: TestClient, tmp_path: Path) -> None:
    preflight = {
        "Origin": "https://ui.example",
        "Access-Control-Request-Method": "DELETE",
    }
    off = client.options(f"{API}/namespaces", headers=preflight)
    assert "access-control-allow-origin" not in off.headers
    plain = client.get(f"{API}/namespaces", headers={"Origin": "https://ui.example"})
    assert "access-control-allow-origin" not in plain.headers

    settings = make_settings(tmp_path / "cors", None, cors_origins="https://ui.example")
    other = Services.open(settings)
    try:
        with TestClient(create_app(other)) as c:
            on = c.options(f"{API}/namespaces", headers=preflight)
            assert on.headers["access-control-allow-origin"] == "https://ui.example"
            stranger = c.options(
                f"{API}/namespaces", headers={**preflight, "Origin": "https://evil.example"}
            )
            assert "access-control-allow-origin" not in stranger.headers
    finally:
        other.close()


def test_downloads_are_attachments_that_are_never_sniffed(client: TestClient) -> None:
    client.put(f"{API}/namespaces/default/blobs/{DIGEST}", content=BLOB).raise_for_status()
    response = client.get(f"{API}/namespaces/default/blobs/{DIGEST}")
    assert response.content == BLOB
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"].startswith("attachment;")


def test_tokens_never_reach_the_server_log(tmp_path: Path) -> None:
    server = start_live_server(tmp_path, process=True, CAIRN_LOG_LEVEL="debug")
    try:
        token = server.token
        made = httpx.post(
            f"{server.url}{API}/tokens", json={"name": "ci"}, headers=bearer(token)
        ).json()["secret"]
        forged = made[:-6] + "AAAAAA"
        for secret in (token, made, forged):
            httpx.get(f"{server.url}{API}/whoami", headers=bearer(secret))
            httpx.post(f"{server.url}{API}/models/default", content=b"{", headers=bearer(secret))
    finally:
        server.stop()
    log = (server.data_dir.parent / "server.log").read_text()
    assert log  # the server did log, at debug level
    for secret in (token, made, forged):
        assert secret not in log
        assert secret.split("_", 2)[2] not in log
