"""The identity, audit and webhook routes hold to the OpenAPI document, in-process over SQLite
and PostgreSQL: each declares its request body and its answer's schema, and the answers a
user really gets (and the refusals) validate against what the document declares."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from cairn.api.app import create_app
from cairn.services.container import Services
from tests.conftest import bearer, free_port, make_settings
from tests.contract_check import check_response, declared

API = "/api/v1"

# (method, template, takes a body)
OPERATIONS = [
    ("get", "/whoami", False),
    ("post", "/tokens", True),
    ("get", "/tokens", False),
    ("delete", "/tokens/{token_id}", False),
    ("post", "/principals", True),
    ("get", "/principals", False),
    ("patch", "/principals/{name}", True),
    ("put", "/principals/{name}/roles/{namespace}/{role}", False),
    ("delete", "/principals/{name}/roles/{namespace}/{role}", False),
    ("put", "/principals/{name}/roles/{namespace}", True),
    ("delete", "/principals/{name}/roles/{namespace}", False),
    ("get", "/audit/entries", False),
    ("get", "/audit/checkpoint", False),
    ("get", "/audit/key", False),
    ("get", "/audit/keys", False),
    ("post", "/audit/keys", False),
    ("get", "/audit/checkpoints", False),
    ("get", "/audit/proofs/inclusion", False),
    ("get", "/audit/proofs/consistency", False),
    ("get", "/namespaces/{namespace}/audit/entries", False),
    ("post", "/namespaces/{namespace}/webhooks", True),
    ("get", "/namespaces/{namespace}/webhooks", False),
    ("delete", "/webhooks/{webhook_id}", False),
    ("post", "/webhooks/{webhook_id}/enable", False),
    ("post", "/webhooks/{webhook_id}/test", False),
    ("get", "/webhooks/{webhook_id}/deliveries", False),
    ("post", "/deliveries/{delivery_id}/replay", False),
]


@dataclass
class Checked:
    """A client whose every answer is held to the document before the test sees it."""

    client: TestClient
    document: dict[str, Any]

    def call(self, method: str, path: str, status: int, **kwargs: Any) -> httpx.Response:
        answer = self.client.request(method, API + path, **kwargs)
        assert answer.status_code == status, answer.text
        self.check(answer)
        return answer

    def check(self, answer: httpx.Response) -> None:
        if answer.status_code != 204:
            method, path = answer.request.method, answer.request.url.path
            check_response(self.document, method, _template(self.document, method, path), answer)

    def json(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        return self.call(method, path, status, **kwargs).json()


@pytest.fixture
def api(tmp_path: Path, database_url: str) -> Iterator[Checked]:
    # Webhooks may target this machine, where nothing listens on the port they name.
    settings = make_settings(tmp_path, database_url, webhook_allow="127.0.0.1/32")
    services = Services.open(settings)
    services.identity.bootstrap(settings.admin_token_file)
    token = settings.admin_token_file.read_text().strip()
    try:
        with TestClient(create_app(services), headers=bearer(token)) as client:
            document = client.get(f"{API}/openapi.json").json()
            yield Checked(client, document)
    finally:
        services.close()


def test_every_route_declares_its_body_and_its_answer(api: Checked) -> None:
    for method, template, body in OPERATIONS:
        declared(api.document, method, API + template, body=body)


def test_principals_roles_and_tokens_answer_as_declared(api: Checked) -> None:
    api.json("POST", "/namespaces", 201, json={"name": "risk"})
    me = api.json("GET", "/whoami")
    assert me["roles"] == {"*": ["admin"]} and me["scopes"] is None

    made = api.json("POST", "/principals", 201, json={"name": "CI-Bot", "kind": "service"})
    assert (made["name"], made["kind"], made["roles"]) == ("ci-bot", "service", {})
    assert api.json("GET", "/principals", params={"kind": "service"})["items"] == [made]
    api.json("PUT", "/principals/ci-bot/roles/risk/reader")
    both = api.json("PUT", "/principals/ci-bot/roles/risk", json={"roles": ["reader", "writer"]})
    assert both["roles"] == {"risk": ["reader", "writer"]}
    one = api.json("PUT", "/principals/ci-bot/roles/risk", json={"role": "writer"})
    assert one["roles"] == {"risk": ["writer"]}
    api.json("DELETE", "/principals/ci-bot/roles/risk/writer")
    api.json("PUT", "/principals/ci-bot/roles/risk", json={"roles": ["reader"]})
    assert api.json("DELETE", "/principals/ci-bot/roles/risk")["roles"] == {}

    issued = api.json("POST", "/tokens", 201, json={"name": "laptop", "scopes": {"*": "reader"}})
    assert issued["secret"].startswith("cairn_") and "secret" not in issued["token"]
    token_id = issued["token"]["token_id"]
    assert issued["token"]["scopes"] == {"*": ["reader"]}
    scoped = api.client.get(f"{API}/whoami", headers=bearer(issued["secret"]))
    api.check(scoped)
    assert scoped.json()["token_id"] == token_id
    assert scoped.json()["scopes"] == {"*": ["reader"]}
    assert token_id in [t["token_id"] for t in api.json("GET", "/tokens")["items"]]
    assert api.json("DELETE", f"/tokens/{token_id}")["revoked_at"] is not None
    assert api.json("PATCH", "/principals/ci-bot", json={"disabled": True})["disabled"]


REFUSED_BODIES = [
    ("POST", "/principals", {"name": "ann", "kind": "robot"}, "invalid_input"),
    ("POST", "/principals", {"name": "Ann Smith"}, "invalid_name"),
    ("POST", "/principals", {"name": 7}, "invalid_name"),
    ("POST", "/principals", {"name": "ann", "extra": 1}, "invalid_input"),
    ("PATCH", "/principals/admin", {"disabled": "yes"}, "invalid_input"),
    ("PATCH", "/principals/admin", {}, "invalid_input"),
    ("PUT", "/principals/admin/roles/*", {"roles": ["admin"], "role": "admin"}, "invalid_input"),
    ("PUT", "/principals/admin/roles/*", {}, "invalid_input"),
    ("PUT", "/principals/admin/roles/*", {"role": None}, "invalid_input"),
    ("POST", "/tokens", {"name": "t", "days": "30"}, "invalid_input"),
    ("POST", "/tokens", {"name": "t", "days": True}, "invalid_input"),
    ("POST", "/tokens", {"name": ""}, "invalid_input"),
    ("POST", "/tokens", {"name": "t", "scopes": {"risk": 1}}, "invalid_input"),
    (
        "POST",
        "/namespaces/*/webhooks",
        {"url": "https://x.example", "event_types": None},
        "invalid_input",
    ),
    ("POST", "/namespaces/*/webhooks", {"event_types": []}, "invalid_input"),
    (
        "POST",
        "/namespaces/*/webhooks",
        {"url": "https://x.example", "secret": "s"},
        "invalid_input",
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "code"), REFUSED_BODIES)
def test_a_body_the_model_refuses_answers_its_code_as_declared(
    api: Checked, method: str, path: str, body: dict[str, Any], code: str
) -> None:
    refused = api.json(method, path, 400, json=body)
    assert refused["error"]["code"] == code


def test_the_audit_log_answers_as_declared(api: Checked) -> None:
    api.json("POST", "/namespaces", 201, json={"name": "risk"})
    api.json("POST", "/principals", 201, json={"name": "ann"})
    api.json("PUT", "/namespaces/risk/required-fields", json={"required_fields": ["a"]})
    entries = api.json("GET", "/audit/entries", params={"after": -1})["items"]
    assert [e["action"] for e in entries][-3:-1] == ["namespace.create", "principal.create"]
    assert all(e["at"].endswith("Z") and len(e["at"]) == 27 for e in entries)
    sliced = api.json("GET", "/namespaces/risk/audit/entries", params={"after": -1})["items"]
    assert sliced == entries[-1:]  # namespace.create is above namespaces: in no slice

    first = api.json("GET", "/audit/checkpoint")
    assert first["size"] == len(entries)
    rotation = api.json("POST", "/audit/keys", 201)
    assert rotation["previous_key_id"] == first["key_id"] != rotation["key_id"]
    chain = api.json("GET", "/audit/keys")["items"]
    assert [k["key_id"] for k in chain] == [first["key_id"], rotation["key_id"]]
    assert chain[0]["index"] is None and chain[1]["index"] == rotation["index"]
    assert api.json("GET", "/audit/key")["key_id"] == rotation["key_id"]
    latest = api.json("GET", "/audit/checkpoint")
    signed = api.json("GET", "/audit/checkpoints")["items"]
    assert signed[-1] == latest and latest["signed_text"].endswith(f"{latest['root']}\n")
    inclusion = api.json(
        "GET", "/audit/proofs/inclusion", params={"index": 0, "size": latest["size"]}
    )
    assert inclusion["leaf_hash"] == entries[0]["leaf_hash"]
    api.json(
        "GET", "/audit/proofs/consistency", params={"old": first["size"], "new": latest["size"]}
    )
    api.json("GET", "/audit/proofs/inclusion", 400, params={"index": 0, "size": "many"})


def test_webhooks_and_deliveries_answer_as_declared(api: Checked) -> None:
    api.json("POST", "/namespaces", 201, json={"name": "risk"})
    url = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens: deliveries fail
    created = api.json("POST", "/namespaces/risk/webhooks", 201, json={"url": url})
    hook = created["webhook"]
    assert created["secret"] and hook["event_types"] == [] and hook["enabled"]
    assert api.json("GET", "/namespaces/risk/webhooks")["items"] == [hook]
    sent = api.json("POST", f"/webhooks/{hook['id']}/test")
    assert sent["webhook"] == hook["id"] and sent["log"][0]["status"] is None
    assert sent["last_error"]
    again = api.json("POST", f"/deliveries/{sent['id']}/replay", 201)
    assert again["event"] == sent["event"] and again["id"] != sent["id"]
    listed = api.json("GET", f"/webhooks/{hook['id']}/deliveries")["items"]
    assert {d["id"] for d in listed} >= {sent["id"], again["id"]}
    assert api.json("POST", f"/webhooks/{hook['id']}/enable")["enabled"]
    api.call("DELETE", f"/webhooks/{hook['id']}", 204)
    api.json("GET", f"/webhooks/{hook['id']}/deliveries", 404)


def _template(document: dict[str, Any], method: str, path: str) -> str:
    """The document's template for a concrete path: one whose literal segments all match and
    whose parameters each take one segment, the fewest parameters first."""
    wanted = path.split("/")
    for template in sorted(document["paths"], key=lambda t: t.count("{")):
        parts = template.split("/")
        if method.lower() not in document["paths"][template] or len(parts) != len(wanted):
            continue
        if all(p.startswith("{") or p == w for p, w in zip(parts, wanted, strict=True)):
            return template
    raise AssertionError(f"no operation in the document for {method} {path}")
