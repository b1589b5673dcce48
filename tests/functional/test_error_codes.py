"""The README's table of error codes, true end to end: requests refused on each surface
(``/api/v1``, MLflow's REST API, OCI's ``/v2/``) answer the status and the surface's own code
that the table gives their Cairn code, each in its surface's error body. On SQLite and
PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from cairn.api import create_app
from cairn.config import Settings
from cairn.services.container import Services
from tests.conftest import bearer, make_settings
from tests.functional import error_code
from tests.readme import error_table

API = "/api/v1"
MLFLOW = "/api/2.0/mlflow"
V2 = "/v2"
TABLE = error_table()
TOO_LARGE = {"name": "big", "description": "x" * 3000}  # over the 2 KiB cap set below
BLOB = b"b" * 2000  # over the 1 KiB blob cap set below
BLOB_DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()
NO_BLOB = "sha256:" + "0" * 64

# (method, path, what to send, the Cairn code the refusal carries)
Case = tuple[str, str, dict[str, Any], str]


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url, max_json_bytes=2048, max_blob_bytes=1024)


@pytest.fixture
def clients(services: Services, admin_token: str) -> tuple[TestClient, TestClient]:
    """The admin's client, and one that sends no credentials, on one app."""
    app = create_app(services)
    options: dict[str, Any] = {"base_url": "http://cairn.test", "raise_server_exceptions": False}
    return TestClient(app, headers=bearer(admin_token), **options), TestClient(app, **options)


def native(response: Response, code: str) -> None:
    assert error_code(response) == code, response.text
    assert response.status_code == TABLE[code].api, response.text


def mlflow(response: Response, code: str) -> None:
    body = response.json()
    assert set(body) == {"error_code", "message"}, body
    assert (response.status_code, body["error_code"]) == TABLE[code].mlflow, body


def oci(response: Response, code: str) -> None:
    body = response.json()
    [error] = body["errors"]
    assert error["detail"]["cairn"] == code, body
    assert (response.status_code, error["code"]) == TABLE[code].oci, body


def check(
    clients: tuple[TestClient, TestClient],
    cases: list[Case],
    answers_as: Callable[[Response, str], None],
) -> None:
    admin, anonymous = clients
    for method, path, send, code in cases:
        client = anonymous if code == "unauthenticated" else admin
        response = client.request(method, path, **send)
        assert response.headers["cairn-error-code"] == code, (method, path, response.text)
        answers_as(response, code)


def test_refusals_on_cairns_own_api_answer_as_the_table_says(
    clients: tuple[TestClient, TestClient],
) -> None:
    check(
        clients,
        [
            ("GET", f"{API}/models/default/nope", {}, "model_not_found"),
            ("GET", f"{API}/namespaces/nope", {}, "namespace_not_found"),
            ("POST", f"{API}/namespaces", {"json": {"name": "default"}}, "namespace_exists"),
            ("POST", f"{API}/namespaces", {"json": {"name": "Not A Name"}}, "invalid_name"),
            ("POST", f"{API}/namespaces", {"json": {"name": "x", "extra": 1}}, "invalid_input"),
            ("POST", f"{API}/namespaces", {"json": TOO_LARGE}, "payload_too_large"),
            ("GET", f"{API}/models/default/nope", {}, "unauthenticated"),
            ("GET", f"{API}/no-such-route", {}, "route_not_found"),
            ("DELETE", f"{API}/resolve", {}, "method_not_allowed"),
        ],
        native,
    )


def test_refusals_on_mlflows_api_answer_as_the_table_says(
    clients: tuple[TestClient, TestClient],
) -> None:
    admin, _ = clients
    for created in ("registered-models/create", "experiments/create"):
        assert admin.post(f"{MLFLOW}/{created}", json={"name": "wired"}).status_code == 200
    models, named = f"{MLFLOW}/registered-models", {"json": {"name": "wired"}}
    check(
        clients,
        [
            ("GET", f"{models}/get?name=nope", {}, "model_not_found"),
            ("POST", f"{models}/create", named, "model_exists"),
            ("GET", f"{models}/alias?name=wired&alias=nope", {}, "alias_not_found"),
            ("POST", f"{MLFLOW}/experiments/create", named, "experiment_exists"),
            ("GET", f"{MLFLOW}/experiments/get?experiment_id=999", {}, "tracking_not_found"),
            ("POST", f"{models}/create", {"json": TOO_LARGE}, "payload_too_large"),
            ("GET", f"{models}/get?name=wired", {}, "unauthenticated"),
            ("GET", f"{MLFLOW}/no-such-route", {}, "route_not_found"),
        ],
        mlflow,
    )


def test_refusals_on_the_oci_api_answer_as_the_table_says(
    clients: tuple[TestClient, TestClient],
) -> None:
    admin, _ = clients
    assert admin.post(f"{API}/models/default", json={"name": "wired"}).status_code == 201
    repo = f"{V2}/default/wired"
    upload = f"{repo}/blobs/uploads/"
    check(
        clients,
        [
            ("GET", f"{V2}/default/nope/manifests/1", {}, "model_not_found"),
            ("GET", f"{V2}/nope/wired/manifests/1", {}, "namespace_not_found"),
            ("GET", f"{repo}/manifests/7", {}, "version_not_found"),
            ("GET", f"{repo}/blobs/{NO_BLOB}", {}, "blob_not_found"),
            ("GET", f"{upload}nope", {}, "upload_not_found"),
            ("DELETE", f"{repo}/manifests/1", {}, "unsupported"),
            ("DELETE", f"{repo}/blobs/{NO_BLOB}", {}, "unsupported"),
            ("POST", f"{upload}?digest={BLOB_DIGEST}", {"content": BLOB}, "payload_too_large"),
            ("GET", f"{repo}/tags/list?n=many", {}, "invalid_input"),
            ("GET", f"{repo}/manifests/1", {}, "unauthenticated"),
        ],
        oci,
    )
