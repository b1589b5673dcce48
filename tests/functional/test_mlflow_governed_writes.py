"""MLflow's deletes and stage transitions on Cairn: MLflow's semantics (a deleted version takes
its aliases along, a deleted model its versions) unless governance forbids, and a refused
request writes nothing, not even the part that came before the refusal. On SQLite and
PostgreSQL, through the MLflow routes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from cairn.api import create_app
from cairn.services.container import Services
from tests.conftest import bearer
from tests.functional.test_mlflow_wire import API, ok, register

AUDIT = "/api/v1/audit/entries"


@pytest.fixture
def http(services: Services, admin_token: str) -> TestClient:
    return TestClient(
        create_app(services),
        base_url="http://cairn.test",
        headers=bearer(admin_token),
        raise_server_exceptions=False,
    )


def refused(response: Any, code: str, *words: str) -> str:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error_code"] == code, body
    assert all(w in body["message"] for w in words), body["message"]
    return str(body["message"])


def audit_count(http: TestClient) -> int:
    return len(ok(http.get(AUDIT, params={"limit": 1000}))["items"])


def two_versions(http: TestClient, name: str) -> None:
    """Versions 1 and 2 of ``name``: a logged model registered, then a copy of it."""
    register(http, name)
    body = {"name": name, "source": f"models:/{name}/1"}
    assert (
        ok(http.post(f"{API}/model-versions/create", json=body))["model_version"]["version"] == "2"
    )


def model(http: TestClient, name: str) -> dict[str, Any]:
    found = ok(http.get(f"{API}/registered-models/get", params={"name": name}))
    registered: dict[str, Any] = found["registered_model"]
    return registered


def test_a_protected_alias_keeps_its_version_and_its_model(http: TestClient) -> None:
    two_versions(http, "Guarded")
    # The default policy protects @production: it names only versions in production.
    ok(http.post(f"{API}/model-versions/transition-stage",
                 json={"name": "Guarded", "version": "2", "stage": "Staging"}))  # fmt: skip
    ok(http.post(f"{API}/model-versions/transition-stage",
                 json={"name": "Guarded", "version": "2", "stage": "Production"}))  # fmt: skip
    ok(http.post(f"{API}/registered-models/alias",
                 json={"name": "Guarded", "alias": "Production", "version": "2"}))  # fmt: skip
    before = audit_count(http)
    body = {"name": "Guarded", "version": "2"}
    refused(http.request("DELETE", f"{API}/model-versions/delete", json=body),
            "INVALID_STATE", "@Production", "protects")  # fmt: skip
    # The model's delete reaches version 1 first, then is refused at version 2: nothing goes.
    refused(http.request("DELETE", f"{API}/registered-models/delete", json={"name": "Guarded"}),
            "INVALID_STATE", "@Production")  # fmt: skip
    assert audit_count(http) == before
    kept = model(http, "Guarded")
    assert kept["aliases"] == [{"alias": "Production", "version": "2"}]
    for number in ("1", "2"):
        ok(http.get(f"{API}/model-versions/get", params={"name": "Guarded", "version": number}))


def test_an_aliased_version_goes_with_its_aliases_and_a_model_with_its_versions(
    http: TestClient,
) -> None:
    two_versions(http, "Free")
    ok(http.post(f"{API}/registered-models/alias",
                 json={"name": "Free", "alias": "Champion", "version": "1"}))  # fmt: skip
    moved = model(http, "Free")["last_updated_timestamp"]
    ok(
        http.request(
            "DELETE", f"{API}/model-versions/delete", json={"name": "Free", "version": "1"}
        )
    )
    after = model(http, "Free")
    assert not after.get("aliases")
    assert after["last_updated_timestamp"] >= moved
    gone = http.get(f"{API}/registered-models/alias", params={"name": "Free", "alias": "Champion"})
    refused(gone, "INVALID_PARAMETER_VALUE", "Registered model alias Champion not found.")
    history = ok(http.get("/api/v1/models/default/free/alias-history"))["items"]
    moves = [(e["alias"], e["action"]) for e in history]
    assert moves == [("Champion", "set"), ("Champion", "remove")]
    ok(http.request("DELETE", f"{API}/registered-models/delete", json={"name": "Free"}))
    response = http.get(f"{API}/registered-models/get", params={"name": "Free"})
    assert response.status_code == 404
    assert response.json()["message"] == "Registered Model with name=Free not found"


def test_a_transition_that_cannot_archive_the_others_moves_nothing(http: TestClient) -> None:
    two_versions(http, "Staged")
    for number in ("1", "2"):
        ok(http.post(f"{API}/model-versions/transition-stage",
                     json={"name": "Staged", "version": number, "stage": "Staging"}))  # fmt: skip
    # A policy whose archiving needs an approval: version 1's move to production could go,
    # but archiving version 2 there (archive_existing_versions) cannot, so neither happens,
    # and no approval request is opened (MLflow has none; `cairn promote` opens one).
    policy = {"states": {"production": {"rules": []}, "archived": {"approvals": 1}}}
    put = http.put("/api/v1/namespaces/default/policy", json=policy)
    assert put.status_code == 200, put.text
    ok(http.post(f"{API}/model-versions/transition-stage",
                 json={"name": "Staged", "version": "2", "stage": "Production"}))  # fmt: skip
    before = audit_count(http)
    body = {"name": "Staged", "version": "1", "stage": "Production",
            "archive_existing_versions": True}  # fmt: skip
    refused(http.post(f"{API}/model-versions/transition-stage", json=body),
            "INVALID_STATE", "needs approvals", "Staged:2")  # fmt: skip
    assert audit_count(http) == before
    stages = {v["version"]: v["current_stage"] for v in
              ok(http.get(f"{API}/model-versions/search",
                          params={"filter": "name = 'Staged'"}))["model_versions"]}  # fmt: skip
    assert stages == {"1": "Staging", "2": "Production"}
    assert ok(http.get("/api/v1/namespaces/default/approvals"))["items"] == []
