"""Authentication under /v2/ as OCI clients do it, against a real server: the Bearer
challenge, the token endpoint exchanging Basic credentials, Cairn tokens as bearers, 403 with
a challenge for want of rights, revocation reaching the registry tokens, anonymous reads."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cairn.api.app import OCI_ROUTERS, declared_permission, oci_routes
from cairn.api.oci.manifests import PUBLIC
from tests.conftest import LiveServer, bearer
from tests.functional.oci_support import (
    EMPTY,
    IMAGE_MANIFEST,
    as_bytes,
    client_for,
    digest_of,
    ensure_namespace,
    image_manifest,
    oci_error,
    serve,
    token_for,
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with serve(tmp_path_factory.mktemp("oci-auth"), request.param) as live:
        ensure_namespace(live, "team")
        yield live


def _basic(user: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def _challenge(response: httpx.Response) -> dict[str, str]:
    scheme, _, params = response.headers["WWW-Authenticate"].partition(" ")
    assert scheme == "Bearer"
    parts = dict(p.split("=", 1) for p in params.split('",'))
    return {k: v.strip('"') for k, v in parts.items()}


def _token(server: LiveServer, password: str) -> str:
    got = httpx.get(
        f"{server.url}/v2/token",
        params={"service": "cairn", "scope": "repository:team/m:pull", "account": "x"},
        headers=_basic("anyone", password),
    )
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["token"] == body["access_token"] and body["expires_in"] > 0
    token: str = body["token"]
    return token


def test_without_credentials_the_answer_is_a_bearer_challenge(server: LiveServer) -> None:
    ping = httpx.get(f"{server.url}/v2/")
    assert ping.status_code == 401 and oci_error(ping) == "UNAUTHORIZED"
    assert _challenge(ping) == {"realm": f"{server.url}/v2/token", "service": "cairn"}
    pull = httpx.get(f"{server.url}/v2/team/m/manifests/latest")
    assert pull.status_code == 401
    assert _challenge(pull)["scope"] == "repository:team/m:pull"
    push = httpx.post(f"{server.url}/v2/team/m/blobs/uploads/")
    assert push.status_code == 401
    assert _challenge(push)["scope"] == "repository:team/m:pull,push"


def test_the_token_endpoint_exchanges_a_cairn_token_for_a_registry_token(
    server: LiveServer,
) -> None:
    registry_token = _token(server, server.token)
    assert registry_token.startswith("cairnoci_") and server.token not in registry_token
    ping = httpx.get(f"{server.url}/v2/", headers=bearer(registry_token))
    assert ping.status_code == 200
    assert ping.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    tampered = registry_token[:-2] + ("AA" if not registry_token.endswith("AA") else "BB")
    refused = httpx.get(f"{server.url}/v2/", headers=bearer(tampered))
    assert refused.status_code == 401
    wrong = httpx.get(f"{server.url}/v2/token", headers=_basic("me", "not-a-token"))
    assert wrong.status_code == 401 and oci_error(wrong) == "UNAUTHORIZED"
    assert wrong.headers["WWW-Authenticate"] == 'Basic realm="cairn"'
    anonymous = httpx.get(f"{server.url}/v2/token")
    assert anonymous.status_code == 401


def test_cairn_tokens_work_as_bearer_and_as_basic_password(server: LiveServer) -> None:
    assert httpx.get(f"{server.url}/v2/", headers=bearer(server.token)).status_code == 200
    assert httpx.get(f"{server.url}/v2/", headers=_basic("u", server.token)).status_code == 200
    garbled = httpx.get(f"{server.url}/v2/", headers={"Authorization": "Basic !!!"})
    assert garbled.status_code == 401 and oci_error(garbled) == "UNAUTHORIZED"


def test_a_reader_pushing_gets_403_with_a_push_challenge(server: LiveServer) -> None:
    reader = token_for(server, "rita", {"team": "reader"})
    registry_token = _token(server, reader)
    with client_for(server, registry_token) as client:
        readable = client.get("/v2/team/m/tags/list")  # let in: there is just no such model
        assert readable.status_code == 404 and oci_error(readable) == "NAME_UNKNOWN"
        refused = client.post("/v2/team/m/blobs/uploads/")
        assert refused.status_code == 403 and oci_error(refused) == "DENIED"
        assert _challenge(refused)["scope"] == "repository:team/m:pull,push"
        elsewhere = client.get("/v2/other/m/tags/list")
        assert elsewhere.status_code == 403


def test_a_writer_registers_versions_but_moves_no_alias(server: LiveServer) -> None:
    writer = token_for(server, "walt", {"team": "writer"})
    with client_for(server, _token(server, writer)) as client:
        for data in (EMPTY, b"walt's weights"):
            digest = digest_of(data)
            client.post("/v2/team/w/blobs/uploads/", params={"digest": digest}, content=data)
        body = as_bytes(image_manifest([(b"walt's weights", "w.bin")]))
        headers = {"Content-Type": IMAGE_MANIFEST}
        aliased = client.put("/v2/team/w/manifests/prod", content=body, headers=headers)
        assert aliased.status_code == 403 and oci_error(aliased) == "DENIED"
        assert client.get("/v2/team/w/tags/list").status_code == 404  # nothing was registered
        latest = client.put("/v2/team/w/manifests/latest", content=body, headers=headers)
        assert latest.status_code == 201 and latest.headers["Cairn-Version"] == "team/w:1"


def test_revoking_the_cairn_token_ends_its_registry_tokens(server: LiveServer) -> None:
    writer = token_for(server, "wendy", {"team": "writer"})
    registry_token = _token(server, writer)
    with client_for(server, registry_token) as client:
        digest = digest_of(EMPTY)
        pushed = client.post("/v2/team/m/blobs/uploads/", params={"digest": digest}, content=EMPTY)
        assert pushed.status_code == 201
        token_id = writer.split("_")[1]
        with client_for(server) as admin:
            revoked = admin.delete(f"/api/v1/tokens/{token_id}")
            assert revoked.status_code in (200, 204), revoked.text
        after = client.head(f"/v2/team/m/blobs/{digest}")
        assert after.status_code == 401


def test_anonymous_reads_when_allowed(tmp_path: Path) -> None:
    with serve(tmp_path, "sqlite", CAIRN_ANONYMOUS_READ="true") as live:
        assert httpx.get(f"{live.url}/v2/").status_code == 200
        token = httpx.get(f"{live.url}/v2/token").json()["token"]
        assert httpx.get(f"{live.url}/v2/", headers=bearer(token)).status_code == 200
        push = httpx.post(f"{live.url}/v2/default/m/blobs/uploads/", headers=bearer(token))
        assert push.status_code == 401 and "scope=" in push.headers["WWW-Authenticate"]


def test_every_oci_route_declares_a_permission_and_stays_out_of_the_api_document() -> None:
    routes = list(oci_routes())
    assert len(routes) >= 15 and len(OCI_ROUTERS) == 2
    for route in routes:
        assert route.path in PUBLIC or declared_permission(route) is not None, route.path
        assert not route.include_in_schema, route.path
    assert {"/v2/token"} == PUBLIC
