"""Versions, blobs and upload sessions, held to the OpenAPI document: each route declares its
request body (JSON, or raw bytes for the uploads) and its response, and what it really answers
(errors too) is what it declares."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from cairn.api.app import create_app
from cairn.services.container import Services
from tests.conftest import bearer
from tests.contract_check import Document, check_response, declared

API = "/api/v1"
MODEL = f"{API}/models/{{namespace}}/{{model}}"
VERSIONS = f"{MODEL}/versions"
VERSION = f"{VERSIONS}/{{selector}}"
VALIDATIONS = f"{VERSION}/validations"
TAG = f"{VERSION}/tags/{{key}}"
RESOLVE = f"{API}/resolve"
SEARCH = f"{API}/versions"
NS = f"{API}/namespaces/{{namespace}}"
MISSING = f"{NS}/blobs/missing"
BLOB = f"{NS}/blobs/{{digest}}"
UPLOADS = f"{NS}/uploads"
UPLOAD = f"{UPLOADS}/{{session_id}}"
FINISH = f"{UPLOAD}/finish"

SMALL = b"small weights\n"
LARGE = b"large weights, sent in two parts\n" * 100
RAW = "application/octet-stream"
JSON = "application/json"
BINARY = {"type": "string", "format": "binary"}


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def client(services: Services, admin_token: str) -> Iterator[TestClient]:
    app = create_app(services)
    with TestClient(app, raise_server_exceptions=False, headers=bearer(admin_token)) as client:
        yield client


@pytest.fixture
def doc(client: TestClient) -> Document:
    return client.get(f"{API}/openapi.json").json()


def test_the_version_and_blob_routes_declare_their_bodies(doc: Document) -> None:
    for method, template in [
        ("get", VERSIONS),
        ("get", VERSION),
        ("get", VALIDATIONS),
        ("get", RESOLVE),
        ("get", SEARCH),
        ("post", UPLOADS),
        ("get", UPLOAD),
        ("post", FINISH),
    ]:
        declared(doc, method, template, body=False)
    changes = declared(doc, "patch", VERSION, body=True)
    assert set(schema_of(doc, changes["requestBody"])["properties"]) == {"description"}
    tag = declared(doc, "put", TAG, body=True)
    assert schema_of(doc, tag["requestBody"])["required"] == ["value"]
    asked = schema_of(doc, declared(doc, "post", MISSING, body=True)["requestBody"])
    assert asked["required"] == ["digests"] and asked["properties"]["digests"]["items"]["pattern"]
    for method, template in [("put", BLOB), ("patch", UPLOAD)]:
        operation = doc["paths"][template][method]
        body = operation["requestBody"]
        assert body["required"] and body["content"] == {RAW: {"schema": BINARY}}, template
        success = next(v for k, v in operation["responses"].items() if k.startswith("2"))
        assert success["content"][JSON]["schema"]["$ref"], template
        assert "507" in operation["responses"], template
    assert "507" in doc["paths"][FINISH]["post"]["responses"]
    version = doc["components"]["schemas"]["Version"]
    assert "files" not in version["required"] and "validations" not in version["required"]
    for status in ("200", "201"):  # registered, or named again by its idempotency key
        answer = doc["paths"][VERSIONS]["post"]["responses"][status]["content"][JSON]
        assert answer["schema"]["$ref"].endswith("/Version")
    download = doc["paths"][BLOB]["get"]["responses"]
    for status in ("200", "206"):
        assert download[status]["content"] == {RAW: {"schema": BINARY}}
        assert "Cairn-Digest" in download[status]["headers"]
    assert {"307", "416"} <= set(download)
    assert "Cairn-Digest" in doc["paths"][BLOB]["head"]["responses"]["200"]["headers"]
    for template in (VERSION, RESOLVE):  # a blocked version's files, without an override
        assert "409" in doc["paths"][template]["get"]["responses"], template


def schema_of(doc: Document, body: dict[str, Any]) -> dict[str, Any]:
    ref: str = body["content"][JSON]["schema"]["$ref"]
    found: dict[str, Any] = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return found


def test_the_blob_routes_answer_what_they_declare(client: TestClient, doc: Document) -> None:
    def check(response: Response, template: str) -> Any:
        return check_response(doc, response.request.method, template, response)

    ns = f"{API}/namespaces/default"
    small, large = digest_of(SMALL), digest_of(LARGE)
    asked = client.post(f"{ns}/blobs/missing", json={"digests": [small, large, small]})
    assert check(asked, MISSING) == {"missing": [small, large]}
    put = client.put(f"{ns}/blobs/{small}", content=SMALL)
    assert check(put, BLOB) == {"digest": small, "size": len(SMALL)}
    wrong = client.put(f"{ns}/blobs/{large}", content=SMALL)
    assert check(wrong, BLOB)["error"]["code"] == "digest_mismatch"

    started = check(client.post(f"{ns}/uploads"), UPLOADS)
    url = f"{ns}/uploads/{started['id']}"
    half = len(LARGE) // 2
    sent = client.patch(url, content=LARGE[:half], headers={"Upload-Offset": "0"})
    assert check(sent, UPLOAD)["offset"] == half
    assert sent.headers["Upload-Offset"] == str(half) and sent.headers["Location"] == url
    behind = client.patch(url, content=LARGE[half:], headers={"Upload-Offset": "0"})
    assert check(behind, UPLOAD)["error"]["code"] == "upload_offset_mismatch"
    assert check(client.get(url), UPLOAD)["offset"] == half
    client.patch(url, content=LARGE[half:], headers={"Upload-Offset": str(half)})
    finished = client.post(f"{url}/finish", params={"digest": large})
    assert check(finished, FINISH) == {"digest": large, "size": len(LARGE)}

    dropped = check(client.post(f"{ns}/uploads"), UPLOADS)
    assert client.delete(f"{ns}/uploads/{dropped['id']}").status_code == 204
    assert "204" in doc["paths"][UPLOAD]["delete"]["responses"]
    part = client.get(f"{ns}/blobs/{large}", headers={"Range": "bytes=0-9"})
    assert part.status_code == 206 and part.content == LARGE[:10]
    assert part.headers["content-type"] == RAW and part.headers["Cairn-Digest"] == large
    past = client.get(f"{ns}/blobs/{small}", headers={"Range": "bytes=100-200"})
    assert check(past, BLOB)["error"]["code"] == "invalid_range"
    bad = client.post(f"{ns}/blobs/missing", json={"digests": [small, "sha256:nope"]})
    assert check(bad, MISSING)["error"]["code"] == "invalid_digest"


def test_the_version_routes_answer_what_they_declare(client: TestClient, doc: Document) -> None:
    def check(response: Response, template: str) -> Any:
        return check_response(doc, response.request.method, template, response)

    ns, model = f"{API}/namespaces/default", f"{API}/models/default/m"
    client.put(f"{ns}/blobs/{digest_of(SMALL)}", content=SMALL).raise_for_status()
    body = {
        "manifest": {"files": [{"path": "w.bin", "size": len(SMALL), "digest": digest_of(SMALL)}]},
        "metrics": {"auc": 0.9},
        "schema": {"inputs": [{"name": "x", "type": "double"}]},
    }
    key = {"Idempotency-Key": "first"}
    created = check(client.post(f"{model}/versions", json=body, headers=key), VERSIONS)
    again = client.post(f"{model}/versions", json=body, headers=key)
    assert again.status_code == 200 and check(again, VERSIONS) == created
    assert created["schema"]["inputs"] == body["schema"]["inputs"]
    assert created["files"][0]["path"] == "w.bin"

    read = check(client.get(f"{model}/versions/1"), VERSION)
    assert read["files"] and "validations" in read
    bare = check(client.get(f"{model}/versions/1", params={"files": "false"}), VERSION)
    assert "files" not in bare
    listed = check(client.get(f"{model}/versions"), VERSIONS)
    assert [v["number"] for v in listed["items"]] == [1] and "files" not in listed["items"][0]
    found = client.get(f"{API}/versions", params={"filter": "metrics.auc > 0.5"})
    assert check(found, SEARCH)["items"][0]["ref"] == "default/m:1"
    assert check(client.get(RESOLVE, params={"ref": "default/m:1"}), RESOLVE)["files"]
    nowhere = client.get(RESOLVE, params={"ref": "default/m:9"})
    assert check(nowhere, RESOLVE)["error"]["code"] == "version_not_found"

    changed = client.patch(f"{model}/versions/1", json={"description": "retrained"})
    assert check(changed, VERSION)["description"] == "retrained"
    refused = client.patch(f"{model}/versions/1", json={"state": "production"})
    assert check(refused, VERSION)["error"]["code"] == "invalid_metadata"
    assert client.put(f"{model}/versions/1/tags/team", json={"value": "risk"}).status_code == 204
    assert check(client.get(f"{model}/versions/1"), VERSION)["tags"] == {"team": "risk"}
    assert client.delete(f"{model}/versions/1/tags/team").status_code == 204
    validations = check(client.get(f"{model}/versions/1/validations"), VALIDATIONS)
    assert {v["name"] for v in validations["items"]} >= {"integrity"}
    assert client.delete(f"{model}/versions/1").status_code == 204
    assert check(client.get(f"{model}/versions/1"), VERSION)["error"]["code"] == "version_not_found"
