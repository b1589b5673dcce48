"""Identity and authorisation through the HTTP API and the CLI: tokens, roles, scopes, the
route table, and the attacks the trust work must stop."""

from __future__ import annotations

import hashlib
import json
import re
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cairn.api.app import PUBLIC_ROUTES, api_routes, create_app, declared_permission
from cairn.client.local_admin import local_admin_token
from cairn.services.auth import SYSTEM
from cairn.services.container import Services
from cairn.services.uow import Database
from cairn.storage.sql.tables import audit_log, tokens
from tests.conftest import LiveServer, bearer, start_live_server
from tests.functional import run_cli

API = "/api/v1"
DIGEST = "sha256:" + hashlib.sha256(b"weights").hexdigest()
# A plausible value for every path parameter of the route table.
PATH_VALUES = {
    "namespace": "default",
    "model": "m",
    "selector": "1",
    "alias": "prod",
    "key": "team",
    "digest": DIGEST,
    "session_id": "0" * 32,
    "token_id": "a" * 16,
    "name": "alice",
    "role": "writer",
    "request_id": "1",
    "verdict": "approve",
    "webhook_id": "1",
    "delivery_id": "1",
    "model_id": "m-0",
    "path": "1/models/m-0/artifacts/MLmodel",
}
# Routes any signed-in principal may call, whatever its roles: its own identity and tokens.
SIGNED_IN_ROUTES = {
    "/api/v1/whoami",
    "/api/v1/tokens",
    "/api/v1/tokens/{token_id}",
    "/api/v1/audit/checkpoint",
    "/api/v1/audit/key",
    "/api/v1/audit/proofs/inclusion",
    "/api/v1/audit/proofs/consistency",
}
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
# POSTs that read only (a question with a body): a reader may ask them.
READ_ONLY_POSTS = {
    "/api/v1/namespaces/{namespace}/policy/test",
    "/api/2.0/mlflow/registered-models/get-latest-versions",
    "/api/2.0/mlflow/logged-models/search",
    "/api/2.0/mlflow/runs/search",
    "/api/2.0/mlflow/experiments/search",
}
# Routes whose body decides who may call them: a policy's validators may name a reader (a CI
# account) as the one who posts a validation, so the name must be read before the refusal.
BODY_DECIDES = {"/api/v1/models/{namespace}/{model}/versions/{selector}/validations"}


@pytest.fixture
def app_client(services: Services, admin_token: str) -> Iterator[TestClient]:
    with TestClient(create_app(services), raise_server_exceptions=False) as client:
        client.headers.update(bearer(admin_token))
        client.post(f"{API}/models/default", json={"name": "m"}).raise_for_status()
        client.put(
            f"{API}/namespaces/default/blobs/{DIGEST}", content=b"weights"
        ).raise_for_status()
        body = {"manifest": {"files": [{"path": "w.bin", "digest": DIGEST, "size": 7}]}}
        client.post(f"{API}/models/default/m/versions", json=body).raise_for_status()
        client.post(f"{API}/namespaces", json={"name": "other"}).raise_for_status()
        yield client


def _token_for(client: TestClient, name: str, roles: dict[str, str], **extra: Any) -> str:
    client.post(f"{API}/principals", json={"name": name}).raise_for_status()
    for namespace, role in roles.items():
        client.put(f"{API}/principals/{name}/roles/{namespace}", json={"role": role})
    body = {"name": f"{name}-token", "principal": name, **extra}
    created = client.post(f"{API}/tokens", json=body)
    assert created.status_code == 201, created.text
    secret: str = created.json()["secret"]
    return secret


def _calls(app: Any) -> Iterator[tuple[str, str, str]]:
    """Every (method, route template, concrete URL) the application serves, read from its
    OpenAPI document (what FastAPI itself knows it serves)."""
    for template, operations in app.openapi()["paths"].items():
        url = template.format(**PATH_VALUES)
        for method in operations:
            yield method.upper(), template, url


def _code(response: httpx.Response) -> str | None:
    """The error code of a refusal (``None`` for HEAD, whose responses carry no body), in
    Cairn's body or, for the APIs of other ecosystems Cairn also speaks (MLflow's), in the
    header every error response carries."""
    if response.request.method == "HEAD":
        assert not response.content
        return None
    body = response.json()
    code: str = body["error"]["code"] if "error" in body else response.headers["cairn-error-code"]
    return code


def _template(path: str) -> str:
    """A route's path as OpenAPI writes it: ``{key:path}`` → ``{key}``."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)


def _call(client: TestClient, method: str, url: str, token: str | None) -> httpx.Response:
    """One request as the holder of ``token`` (``None``: anonymous), not as the admin."""
    kwargs: dict[str, Any] = {"headers": bearer(token) if token else {}}
    if method in {"POST", "PUT", "PATCH"}:
        kwargs["json"] = {}
    saved = client.headers.pop("Authorization", None)
    try:
        return client.request(method, url, **kwargs)
    finally:
        if saved is not None:
            client.headers["Authorization"] = saved


def test_every_route_declares_a_permission_and_refuses_strangers(
    app_client: TestClient, services: Services
) -> None:
    app: Any = app_client.app
    nobody = _token_for(app_client, "nobody", {})
    before = _audit_size(services)
    checked = 0
    for method, template, url in _calls(app):
        if template in PUBLIC_ROUTES:
            continue
        route = next(r for r in api_routes() if _template(r.path) == template)
        assert declared_permission(route) is not None, template
        anonymous = _call(app_client, method, url, None)
        assert anonymous.status_code == 401, (method, url, anonymous.text)
        assert _code(anonymous) in ("unauthenticated", None), (method, url)
        if template not in SIGNED_IN_ROUTES:
            stranger = _call(app_client, method, url, nobody)
            assert stranger.status_code == 403, (method, url, stranger.text)
            assert _code(stranger) in ("permission_denied", None), (method, url)
        checked += 1
    assert checked >= 40  # the whole table was walked, not an empty one
    # The OpenAPI document and the routers agree: no route escapes the walk above.
    served = {(m, t) for m, t, _ in _calls(app)}
    assert {(m, _template(r.path)) for r in api_routes() for m in r.methods} == served
    assert _audit_size(services) == before  # nothing refused was written


def test_the_public_routes_are_only_health_metrics_and_the_api_document(
    app_client: TestClient,
) -> None:
    saved = app_client.headers.pop("Authorization")
    try:
        for path in ["/healthz", "/readyz", "/metrics", f"{API}/openapi.json", f"{API}/server"]:
            assert app_client.get(path).status_code == 200, path
    finally:
        app_client.headers["Authorization"] = saved
    assert {"/healthz", "/readyz", "/metrics", f"{API}/server"} == PUBLIC_ROUTES


def test_a_reader_is_refused_every_mutating_route(app_client: TestClient) -> None:
    reader = _token_for(app_client, "rita", {"default": "reader"})
    assert _call(app_client, "GET", f"{API}/models/default/m/versions/1", reader).status_code == 200
    refused = 0
    for method, template, url in _calls(app_client.app):
        if method not in MUTATING or template in SIGNED_IN_ROUTES | READ_ONLY_POSTS:
            continue
        if template in BODY_DECIDES:
            continue
        response = _call(app_client, method, url, reader)
        assert response.status_code == 403, (method, url, response.text)
        refused += 1
    assert refused >= 20
    # A validation nobody's policy lets the reader post is refused once its name is read.
    posted = app_client.post(
        f"{API}/models/default/m/versions/1/validations",
        json={"name": "bias", "status": "passed"},
        headers=bearer(reader),
    )
    assert posted.status_code == 403, posted.text


def test_a_writer_in_one_namespace_cannot_act_in_another(app_client: TestClient) -> None:
    writer = _token_for(app_client, "wes", {"other": "writer"})
    body = {"manifest": {"files": [{"path": "w.bin", "digest": DIGEST, "size": 7}]}}
    headers = bearer(writer)
    upload = f"{API}/namespaces/other/blobs/{DIGEST}"
    assert app_client.put(upload, content=b"weights", headers=headers).status_code == 201
    mine = app_client.post(f"{API}/models/other/mine/versions", json=body, headers=headers)
    assert mine.status_code == 201, mine.text
    for method, url, payload in [
        ("POST", f"{API}/models/default/m/versions", body),
        ("PUT", f"{API}/models/default/m/tags/team", {"value": "x"}),
        ("GET", f"{API}/models/default/m/versions/1", None),
        ("PUT", f"{API}/models/other/mine/aliases/prod", {"version": 1}),  # not a deployer
    ]:
        response = app_client.request(method, url, json=payload, headers=headers)
        assert response.status_code == 403, (method, url, response.text)
    # Searches across namespaces show only what the caller may read.
    found = app_client.get(f"{API}/versions", headers=headers).json()["items"]
    assert {v["namespace"] for v in found} == {"other"}


def test_a_token_scope_narrows_but_never_widens(app_client: TestClient) -> None:
    app_client.post(f"{API}/principals", json={"name": "sam"}).raise_for_status()
    app_client.put(f"{API}/principals/sam/roles/default", json={"role": "deployer"})
    wide = app_client.post(
        f"{API}/tokens", json={"name": "t", "principal": "sam", "scopes": {"*": "admin"}}
    )
    assert wide.status_code == 403, wide.text
    narrow = app_client.post(
        f"{API}/tokens", json={"name": "t", "principal": "sam", "scopes": {"default": "reader"}}
    )
    secret = narrow.json()["secret"]
    headers = bearer(secret)
    assert app_client.get(f"{API}/models/default/m", headers=headers).status_code == 200
    tag = app_client.put(f"{API}/models/default/m/tags/k", json={"value": "v"}, headers=headers)
    assert tag.status_code == 403
    me = app_client.get(f"{API}/whoami", headers=headers).json()
    assert me["roles"] == {"default": ["deployer"]} and me["scopes"] == {"default": ["reader"]}


def test_tokens_are_stored_as_hashes_and_shown_once(
    app_client: TestClient, services: Services
) -> None:
    secret = _token_for(app_client, "hana", {"default": "reader"})
    token_id = secret.split("_")[1]
    with services.db.engine.connect() as conn:
        rows = conn.execute(select(tokens).where(tokens.c.token_id == token_id)).mappings().all()
        logged = conn.execute(select(audit_log.c.payload)).scalars().all()
    assert len(rows) == 1
    stored = rows[0]
    assert stored["secret_hash"] == hashlib.sha256(secret.split("_", 2)[2].encode()).hexdigest()
    assert secret not in str(dict(stored)) and secret not in str(logged)
    listed = app_client.get(f"{API}/tokens", params={"principal": "hana"}).json()["items"]
    assert [t["token_id"] for t in listed] == [token_id]
    assert "secret" not in listed[0] and secret not in str(listed)


def test_an_expired_token_is_refused(app_client: TestClient, services: Services) -> None:
    secret = _token_for(app_client, "eve", {"default": "reader"}, days=1)
    later = services.db.clock() + timedelta(days=1, seconds=1)
    # The same stores, served by a process whose clock reads a day and a second later.
    future = Services(
        services.settings,
        Database(services.db.engine, lambda: later),
        services.blob_store,
        services.audit.keys,
    )
    with TestClient(create_app(future), raise_server_exceptions=False) as client:
        response = client.get(f"{API}/models/default/m", headers=bearer(secret))
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "the token has expired"
    assert app_client.get(f"{API}/models/default/m", headers=bearer(secret)).status_code == 200


def test_a_disabled_principal_and_malformed_tokens_are_refused(app_client: TestClient) -> None:
    secret = _token_for(app_client, "dan", {"default": "reader"})
    assert app_client.get(f"{API}/whoami", headers=bearer(secret)).status_code == 200
    app_client.patch(f"{API}/principals/dan", json={"disabled": True}).raise_for_status()
    refused = app_client.get(f"{API}/whoami", headers=bearer(secret))
    assert (refused.status_code, refused.json()["error"]["message"]) == (401, "dan is disabled")
    forged = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
    for header in [f"Bearer {forged}", "Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer "]:
        response = app_client.get(f"{API}/whoami", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.json()["error"]["code"] == "unauthenticated"


def test_first_start_writes_an_admin_token_only_its_owner_can_read(
    live_server: LiveServer, tmp_path: Path
) -> None:
    token_file = live_server.data_dir / "admin-token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    # The CLI on the same machine finds it, with no token given.
    result = run_cli(live_server.url, "whoami")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "admin"
    # ...but never sends it anywhere else.
    assert local_admin_token(live_server.url) == live_server.token
    assert local_admin_token("http://registry.example.com:8080") is None
    # A restart does not make a second admin or a second token.
    live_server.stop()
    live_server.start()
    listed = run_cli(live_server.url, "--json", "token", "list", "--for", "*")
    assert listed.returncode == 0, listed.stderr
    assert [t["name"] for t in _json(listed.stdout)] == ["bootstrap"]


def test_cli_manages_users_roles_and_tokens(live_server: LiveServer) -> None:
    url = live_server.url
    assert run_cli(url, "user", "add", "alice", "--role", "default=writer").returncode == 0
    assert run_cli(url, "service-account", "add", "ci", "--role", "default=reader").returncode == 0
    created = run_cli(url, "--json", "token", "create", "laptop", "--for", "alice", "--days", "7")
    assert created.returncode == 0, created.stderr
    secret = _json(created.stdout)["secret"]
    me = run_cli(url, "--json", "whoami", token=secret)
    assert _json(me.stdout)["roles"] == {"default": ["writer"]}
    denied = run_cli(url, "namespace", "create", "x", token=secret)
    assert denied.returncode == 5 and "permission_denied" in denied.stderr
    assert run_cli(url, "role", "grant", "alice", "*", "admin").returncode == 0
    assert run_cli(url, "namespace", "create", "x", token=secret).returncode == 0
    users = _json(run_cli(url, "--json", "user", "list").stdout)
    assert {u["name"]: u["roles"] for u in users} == {
        "admin": {"*": ["admin"]},
        "alice": {"*": ["admin"], "default": ["writer"]},
    }
    services = _json(run_cli(url, "--json", "service-account", "list").stdout)
    assert [(s["name"], s["kind"]) for s in services] == [("ci", "service")]


@pytest.fixture
def two_servers(tmp_path: Path, database_url: str) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two server processes over one database and one blob folder, as behind a balancer."""
    if database_url.startswith("sqlite"):
        database_url = f"sqlite:///{tmp_path / 'shared.db'}"
    shared = {
        "CAIRN_BLOB_URL": (tmp_path / "blobs").as_uri(),
        "CAIRN_AUDIT_KEY_FILE": str(tmp_path / "audit-key"),
    }
    one = start_live_server(tmp_path / "one", database_url, **shared)
    two = start_live_server(tmp_path / "two", database_url, **shared)
    yield one, two
    one.stop()
    two.stop()


def test_a_revoked_token_is_refused_at_once_by_another_server_process(
    two_servers: tuple[LiveServer, LiveServer],
) -> None:
    one, two = two_servers
    admin = one.token  # the first process bootstrapped; the second found an admin already
    assert not (two.data_dir / "admin-token").exists()
    made = httpx.post(
        f"{one.url}{API}/tokens", json={"name": "ci"}, headers=bearer(admin), timeout=10
    )
    secret = made.json()["secret"]
    assert httpx.get(f"{two.url}{API}/whoami", headers=bearer(secret)).status_code == 200
    token_id = made.json()["token"]["token_id"]
    revoked = httpx.delete(f"{one.url}{API}/tokens/{token_id}", headers=bearer(admin))
    assert revoked.status_code == 200, revoked.text
    again = httpx.get(f"{two.url}{API}/whoami", headers=bearer(secret))
    assert again.status_code == 401
    assert again.json()["error"]["message"] == "the token was revoked"


def _audit_size(services: Services) -> int:
    with services.db.read(SYSTEM, None) as store:
        return len(store.conn.execute(select(audit_log.c.id)).all())


def _json(text: str) -> Any:
    return json.loads(text)
