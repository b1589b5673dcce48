"""The governance, garbage-collection and system routes keep the promise of the OpenAPI
document: each declares its request body and its response, and what it really answers, in a
flow that promotes through an approval, records validations and deployments, rolls an alias
back, runs retention and garbage collection, validates against what it declares."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from cairn.api.app import create_app
from cairn.services.container import Services
from tests.conftest import bearer
from tests.contract_check import Document, check_response, declared

API = "/api/v1"
VERSION = API + "/models/{namespace}/{model}/versions/{selector}"
MODEL = API + "/models/{namespace}/{model}"
NAMESPACE = API + "/namespaces/{namespace}"

# Every operation of these routes, and whether it takes a body.
OPERATIONS = [
    ("POST", VERSION + "/promote", True),
    ("GET", VERSION + "/decision", False),
    ("POST", VERSION + "/validations", True),
    ("POST", VERSION + "/validations/{name}/rerun", False),
    ("GET", NAMESPACE + "/approvals", False),
    ("POST", API + "/approvals/{request_id}/{verdict}", True),
    ("GET", NAMESPACE + "/policy", False),
    ("PUT", NAMESPACE + "/policy", True),
    ("GET", MODEL + "/policy", False),
    ("PUT", MODEL + "/policy", True),
    ("POST", NAMESPACE + "/policy/test", True),
    ("POST", VERSION + "/deployments", True),
    ("GET", VERSION + "/deployments", False),
    ("GET", NAMESPACE + "/deployments", False),
    ("POST", MODEL + "/aliases/{alias}/rollback", True),
    ("POST", NAMESPACE + "/retention", True),
    ("POST", API + "/gc", True),
    ("GET", "/healthz", False),
    ("GET", "/readyz", False),
    ("GET", API + "/server", False),
    ("GET", "/metrics", False),
]

POLICY = {
    "states": {
        "staging": {"approvals": 0, "require_clean_scan": False},
        "production": {"approvals": 1, "separation_of_duties": False},
    },
    "retention": {"keep_last": 1},
}


@dataclass
class Contract:
    client: TestClient
    doc: Document

    def call(self, method: str, template: str, status: int, **kwargs: Any) -> Any:
        """Call the route at ``template`` (filled in from ``path``), and check its answer
        against the document."""
        url = template.format(**kwargs.pop("path", {}))
        response: httpx.Response = self.client.request(method, url, **kwargs)
        assert response.status_code == status, f"{method} {url}: {response.text}"
        return check_response(self.doc, method, template, response)


@pytest.fixture
def contract(services: Services, admin_token: str) -> Iterator[Contract]:
    with TestClient(create_app(services), headers=bearer(admin_token)) as client:
        yield Contract(client, client.get(f"{API}/openapi.json").json())


def _register(contract: Contract, count: int) -> None:
    data = b"weights of the contract test\n" * 32
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    put = contract.client.put(f"{API}/namespaces/default/blobs/{digest}", content=data)
    assert put.status_code in (200, 201), put.text
    body = {"manifest": {"files": [{"path": "w.bin", "digest": digest, "size": len(data)}]}}
    for _ in range(count):
        done = contract.client.post(f"{API}/models/default/fraud/versions", json=body)
        assert done.status_code == 201, done.text


def test_every_route_declares_its_body_and_its_response(contract: Contract) -> None:
    for method, path, body in OPERATIONS:
        declared(contract.doc, method, path, body=body)
    metrics = contract.doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(metrics) == ["text/plain"]


def test_promotion_through_an_approval_answers_what_the_document_says(
    contract: Contract,
) -> None:
    _register(contract, 1)
    c, fraud = contract, {"namespace": "default", "model": "fraud"}
    v1 = {**fraud, "selector": "1"}
    assert c.call("GET", NAMESPACE + "/policy", 200, path=fraud)["default"] is True
    c.call("PUT", NAMESPACE + "/policy", 200, path=fraud, json=POLICY)
    assert c.call("GET", MODEL + "/policy", 200, path=fraud)["revision"] == 1
    c.call("PUT", MODEL + "/policy", 200, path=fraud, json=POLICY)
    test = {"document": POLICY, "ref": "default/fraud:1", "target": "staging"}
    assert c.call("POST", NAMESPACE + "/policy/test", 200, path=fraud, json=test)["outcome"]
    staged = c.call("POST", VERSION + "/promote", 200, path=v1, json={"target": "staging"})
    assert staged["applied"] is True and staged["request"] is None
    params = {"target": "production"}
    decision = c.call("GET", VERSION + "/decision", 200, path=v1, params=params)
    assert decision["decision"]["outcome"] == "needs_approval"
    asked = c.call("POST", VERSION + "/promote", 200, path=v1, json={"target": "production"})
    assert asked["request"]["status"] == "open"
    [request] = c.call("GET", NAMESPACE + "/approvals", 200, path=fraud)["items"]
    review = {"request_id": request["id"], "verdict": "approve"}
    done = c.call("POST", API + "/approvals/{request_id}/{verdict}", 200, path=review, json={})
    assert done["promotion"]["version"]["state"] == "production"


def test_validations_deployments_and_rollback_answer_what_the_document_says(
    contract: Contract,
) -> None:
    _register(contract, 2)
    c, fraud = contract, {"namespace": "default", "model": "fraud"}
    v1, v2 = {**fraud, "selector": "1"}, {**fraud, "selector": "2"}
    posted = {"name": "bias", "status": "passed", "metrics": {"dp": 0.02, "n": 3}}
    assert c.call("POST", VERSION + "/validations", 201, path=v1, json=posted)["details"]
    rerun = {**v1, "name": "integrity"}
    c.call("POST", VERSION + "/validations/{name}/rerun", 201, path=rerun)
    for number in (1, 2):
        moved = c.client.put(f"{API}/models/default/fraud/aliases/live", json={"version": number})
        assert moved.status_code == 200, moved.text
    step = {"target": "eu", "strategy": "canary", "weight": 10, "load_time_ms": 850}
    c.call("POST", VERSION + "/deployments", 201, path=v2, json={**step, "alias": "live"})
    c.call("POST", VERSION + "/deployments", 201, path=v2, json={"target": "eu"})
    assert len(c.call("GET", VERSION + "/deployments", 200, path=v2)["items"]) == 2
    found = c.call("GET", NAMESPACE + "/deployments", 200, path=fraud, params={"target": "eu"})
    assert len(found["items"]) == 2
    alias = {**fraud, "alias": "live"}
    back = c.call("POST", MODEL + "/aliases/{alias}/rollback", 200, path=alias, json={})
    assert back["version"]["number"] == 1 and back["deployment"]["outcome"] == "rolled_back"


def test_retention_gc_and_the_system_routes_answer_what_the_document_says(
    contract: Contract,
) -> None:
    _register(contract, 2)
    c = contract
    c.client.put(f"{API}/namespaces/default/policy", json=POLICY).raise_for_status()
    run = c.call("POST", NAMESPACE + "/retention", 200, path={"namespace": "default"}, json={})
    assert run["dry_run"] is False
    dry = {"dry_run": True, "grace_hours": 0}
    assert c.call("POST", API + "/gc", 200, json=dry)["dry_run"] is True
    c.call("POST", API + "/gc", 200, json={})
    assert c.call("GET", "/healthz", 200) == {"status": "ok"}
    assert c.call("GET", "/readyz", 200) == {"status": "ready"}
    assert c.call("GET", API + "/server", 200)["proof"] is None
    metrics = c.client.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")


def test_path_parameters_say_what_they_accept_and_answer_the_services_codes(
    contract: Contract,
) -> None:
    _register(contract, 1)
    c, fraud = contract, {"namespace": "default", "model": "fraud"}
    promote = c.doc["paths"][VERSION + "/promote"]["post"]["parameters"]
    assert all(p["schema"].get("pattern") for p in promote), promote
    refusals = [
        ("POST", VERSION + "/promote", {**fraud, "selector": "0"}, "invalid_reference"),
        ("GET", VERSION + "/deployments", {**fraud, "selector": "@"}, "invalid_reference"),
        ("POST", MODEL + "/aliases/{alias}/rollback", {**fraud, "alias": "-x"}, "invalid_name"),
        ("PUT", MODEL + "/policy", {**fraud, "model": "fr aud"}, "invalid_name"),
        ("GET", NAMESPACE + "/approvals", {"namespace": ".x"}, "invalid_name"),
    ]
    for method, template, path, code in refusals:
        body = {"target": "staging"} if template.endswith("/promote") else {}
        refused = c.call(method, template, 400, path=path, json=body if method != "GET" else None)
        assert refused["error"]["code"] == code, refused
