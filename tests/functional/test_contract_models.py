"""Models, their tags and aliases, held to the OpenAPI document: each route declares its
request body and response, and what it really answers (errors too) is what it declares."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cairn.api.app import create_app
from cairn.services.container import Services
from tests.conftest import bearer
from tests.contract_check import Document, check_response, declared

API = "/api/v1"
MODELS = f"{API}/models"
NAMESPACE = f"{MODELS}/{{namespace}}"
MODEL = f"{MODELS}/{{namespace}}/{{model}}"
TAG = f"{MODEL}/tags/{{key}}"
ALIASES = f"{MODEL}/aliases"
ALIAS = f"{MODEL}/aliases/{{alias}}"
HISTORY = f"{MODEL}/alias-history"
ROUTES = [  # (method, path, takes a body)
    ("get", MODELS, False),
    ("post", NAMESPACE, True),
    ("get", MODEL, False),
    ("patch", MODEL, True),
    ("delete", MODEL, False),
    ("put", TAG, True),
    ("delete", TAG, False),
    ("get", ALIASES, False),
    ("get", ALIAS, False),
    ("put", ALIAS, True),
    ("delete", ALIAS, False),
    ("get", HISTORY, False),
]


@pytest.fixture
def client(services: Services, admin_token: str) -> Iterator[TestClient]:
    app = create_app(services)
    with TestClient(app, raise_server_exceptions=False, headers=bearer(admin_token)) as client:
        yield client


@pytest.fixture
def doc(client: TestClient) -> Document:
    document: Document = client.get(f"{API}/openapi.json").json()
    return document


def schema(doc: Document, ref: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = doc["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]
    return found


def test_the_model_routes_declare_their_bodies_and_answers(doc: Document) -> None:
    for method, path, body in ROUTES:
        declared(doc, method, path, body=body)
    created = declared(doc, "post", NAMESPACE, body=True)["requestBody"]["content"]
    created = schema(doc, created["application/json"]["schema"])
    assert created["required"] == ["name"]
    assert set(created["properties"]) == {"name", "description", "card", "owner", "tags"}
    assert created["additionalProperties"] is False
    changes = declared(doc, "patch", MODEL, body=True)["requestBody"]["content"]
    changes = schema(doc, changes["application/json"]["schema"])
    assert set(changes["properties"]) == {"description", "card", "owner", "tags"}
    target = declared(doc, "put", ALIAS, body=True)["requestBody"]["content"]
    assert schema(doc, target["application/json"]["schema"])["required"] == ["version"]
    for method, path in [("delete", MODEL), ("put", TAG), ("delete", TAG), ("delete", ALIAS)]:
        assert "204" in doc["paths"][path][method]["responses"], f"{method} {path}"


def test_the_model_routes_answer_what_they_declare(client: TestClient, doc: Document) -> None:
    def check(method: str, path: str, url: str, **kwargs: Any) -> Any:
        response = client.request(method, url, **kwargs)
        assert response.status_code < 300, response.text
        if response.status_code == 204:
            assert not response.content
            return None
        return check_response(doc, method, path, response)

    body = {"name": "Fraud", "description": "scores", "tags": {"team": "risk"}}
    created = check("POST", NAMESPACE, f"{MODELS}/default", json=body)
    assert (created["ref"], created["tags"], created["latest_version"]) == (
        "default/Fraud",
        {"team": "risk"},
        None,
    )
    fraud = f"{MODELS}/default/fraud"
    assert check("GET", MODEL, fraud) == created
    changed = check("PATCH", MODEL, fraud, json={"owner": "ml-risk"})
    assert (changed["owner"], changed["description"]) == ("ml-risk", "scores")
    check("PUT", TAG, f"{fraud}/tags/stage", json={"value": "qa"})
    check("DELETE", TAG, f"{fraud}/tags/team")
    listed = check("GET", MODELS, MODELS, params={"namespace": "default"})
    assert [m["tags"] for m in listed["items"]] == [{"stage": "qa"}]
    assert listed["next_cursor"] is None

    register_version(client, "fraud")
    moved = check("PUT", ALIAS, f"{fraud}/aliases/prod", json={"version": 1})
    assert (moved["ref"], moved["aliases"]) == ("default/Fraud:1", ["prod"])
    assert "files" not in moved
    resolved = check("GET", ALIAS, f"{fraud}/aliases/prod")
    assert (resolved["ref"], resolved["manifest_digest"]) == (
        moved["ref"],
        moved["manifest_digest"],
    )
    at = check("GET", HISTORY, f"{fraud}/alias-history")["items"][0]["at"]
    assert check("GET", ALIAS, f"{fraud}/aliases/prod", params={"at": at})["number"] == 1
    assert check("GET", ALIASES, f"{fraud}/aliases") == {"aliases": {"prod": 1}}
    check("DELETE", ALIAS, f"{fraud}/aliases/prod")
    history = check("GET", HISTORY, f"{fraud}/alias-history")["items"]
    assert [(e["action"], e["version"], e["previous"]) for e in history] == [
        ("set", 1, None),
        ("remove", None, 1),
    ]

    empty = check("POST", NAMESPACE, f"{MODELS}/default", json={"name": "empty"})
    assert (empty["description"], empty["card"], empty["owner"], empty["tags"]) == ("", "", "", {})
    check("DELETE", MODEL, f"{MODELS}/default/empty")


def test_the_model_routes_errors_are_the_error_body(client: TestClient, doc: Document) -> None:
    client.post(f"{MODELS}/default", json={"name": "fraud"})
    fraud = f"{MODELS}/default/fraud"
    for method, path, url, body, code in [
        ("GET", MODEL, f"{MODELS}/default/ghost", None, "model_not_found"),
        ("GET", MODEL, f"{MODELS}/default/a%20b", None, "invalid_name"),
        ("POST", NAMESPACE, f"{MODELS}/default", {"name": "FRAUD"}, "model_exists"),
        ("POST", NAMESPACE, f"{MODELS}/default", {"name": 3}, "invalid_name"),
        ("POST", NAMESPACE, f"{MODELS}/default", {"name": "n", "colour": 1}, "invalid_metadata"),
        ("PATCH", MODEL, fraud, {"colour": "red"}, "invalid_metadata"),
        ("PATCH", MODEL, fraud, {"name": "other"}, "invalid_metadata"),
        ("PATCH", MODEL, fraud, ["owner"], "invalid_metadata"),
        ("PUT", TAG, f"{fraud}/tags/k", {"value": 1}, "invalid_input"),
        ("PUT", ALIAS, f"{fraud}/aliases/prod", {"version": 0}, "invalid_input"),
        ("PUT", ALIAS, f"{fraud}/aliases/prod", {"version": 1}, "version_not_found"),
        ("PUT", ALIAS, f"{fraud}/aliases/latest", {"version": 1}, "invalid_name"),
        ("GET", ALIAS, f"{fraud}/aliases/prod", None, "alias_not_found"),
        ("DELETE", ALIAS, f"{fraud}/aliases/prod", None, "alias_not_found"),
    ]:
        response = client.request(method, url, json=body)
        answered = check_response(doc, method, path, response)
        assert answered["error"]["code"] == code, (method, url, body, answered)


def test_tags_in_a_model_body_keep_their_codes(client: TestClient) -> None:
    """The shape of the tags is metadata; a tag itself is a name (as on registration)."""
    for tags, code in [
        ("x", "invalid_metadata"),
        (["k"], "invalid_metadata"),
        ({"k": 1}, "invalid_name"),
        ({"bad\u0007key": "v"}, "invalid_name"),  # spaces are allowed, as in MLflow
        ({"k" * 251: "v"}, "invalid_name"),
    ]:
        refused = client.post(f"{MODELS}/default", json={"name": "n", "tags": tags})
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == code, (tags, refused.text)


def register_version(client: TestClient, model: str) -> None:
    content = b"weights"
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    blob = client.put(f"{API}/namespaces/default/blobs/{digest}", content=content)
    assert blob.status_code == 201, blob.text
    files = [{"path": "w.bin", "size": len(content), "digest": digest}]
    version = client.post(f"{MODELS}/default/{model}/versions", json={"manifest": {"files": files}})
    assert version.status_code == 201, version.text
