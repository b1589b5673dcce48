"""The HTTP API as a whole, in-process over SQLite and PostgreSQL: every route documented, every
error in the one body shape, every route's happy path once, and one audit entry per mutation,
written with it (a refused mutation writes none)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from cairn.api.app import create_app
from cairn.api.oci.errors import is_oci_path
from cairn.services.container import Services
from cairn.storage.sql.tables import audit_log
from tests.conftest import bearer, make_settings
from tests.functional import error_code, flip_byte

API = "/api/v1"
RISK = f"{API}/models/risk/fraud"


def blob(content: bytes) -> tuple[bytes, str]:
    return content, "sha256:" + hashlib.sha256(content).hexdigest()


WEIGHTS, WEIGHTS_DIGEST = blob(b"weights " * 1000)
CONFIG, CONFIG_DIGEST = blob(b'{"layers": 2}\n')


def manifest(*files: tuple[str, bytes, str]) -> dict[str, Any]:
    return {"files": [{"path": p, "size": len(b), "digest": d} for p, b, d in files]}


MANIFEST = manifest(
    ("weights.bin", WEIGHTS, WEIGHTS_DIGEST), ("config.json", CONFIG, CONFIG_DIGEST)
)


@dataclass
class Api:
    app: FastAPI
    client: TestClient
    services: Services

    def audit(self) -> list[dict[str, Any]]:
        with self.services.db.engine.connect() as conn:
            rows = conn.execute(select(audit_log).order_by(audit_log.c.id)).mappings().all()
        return [dict(r) for r in rows]

    def audit_count(self) -> int:
        with self.services.db.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())

    def call(self, method: str, url: str, status: int, **kwargs: Any) -> Response:
        response = self.client.request(method, url, **kwargs)
        assert response.status_code == status, f"{method} {url}: {response.text}"
        return response

    def read(self, url: str, **kwargs: Any) -> Any:
        """A read: 200, and no audit entry."""
        before = self.audit_count()
        body = self.call("GET", url, 200, **kwargs).json()
        assert self.audit_count() == before, f"GET {url} wrote an audit entry"
        return body

    def mutate(
        self, method: str, url: str, status: int, action: str, subject: str, **kwargs: Any
    ) -> Response:
        """A mutation: ``status``, and exactly one new audit entry naming it."""
        before = self.audit()
        response = self.call(method, url, status, **kwargs)
        after = self.audit()
        assert len(after) == len(before) + 1, f"{method} {url}: {after[len(before) :]}"
        entry = after[-1]
        assert (entry["action"], entry["subject"]) == (action, subject)
        assert entry["actor"] == "admin"
        return response

    def refused(self, method: str, url: str, status: int, code: str, **kwargs: Any) -> Response:
        """A refused request: ``status`` with ``code`` in the one error body, no audit entry."""
        before = self.audit_count()
        response = self.call(method, url, status, **kwargs)
        assert error_code(response) == code, response.text
        assert self.audit_count() == before, f"{method} {url} was refused but audited"
        return response

    def upload(self, content: bytes, digest: str, namespace: str = "default") -> None:
        self.call("PUT", f"{API}/namespaces/{namespace}/blobs/{digest}", 201, content=content)


@pytest.fixture
def api(services: Services, admin_token: str) -> Iterator[Api]:
    app = create_app(services)
    with TestClient(app, raise_server_exceptions=False, headers=bearer(admin_token)) as client:
        yield Api(app, client, services)


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- the route table and the error body ------------------------------------------------------


def test_every_api_route_is_in_the_openapi_document(api: Api) -> None:
    document = api.read(f"{API}/openapi.json")
    routes = [
        (context.path_format, method.lower())
        for context in iter_route_contexts(api.app.routes)
        if isinstance(context.original_route, APIRoute)
        # The pages (cairn.api.pages) are HTML for people, not part of the API.
        and context.original_route.include_in_schema
        # The OCI Distribution API under /v2/ is another protocol, with its own spec.
        and not is_oci_path(context.path_format)
        for method in context.methods or ()
    ]
    assert len(routes) >= 35
    for path, method in routes:
        assert path in document["paths"], path
        assert method in document["paths"][path], f"{method.upper()} {path}"
    documented = {(p, m) for p, ops in document["paths"].items() for m in ops}
    assert documented == set(routes)
    assert not any(is_oci_path(p) for p in document["paths"])


ROUTING_ERRORS = [
    ("GET", "/nope", 404, "route_not_found"),
    ("GET", f"{API}/nope", 404, "route_not_found"),
    ("GET", f"{API}/models/default/m/versions/1/nope", 404, "route_not_found"),
    ("POST", f"{API}/namespaces/default/nope", 404, "route_not_found"),
    ("GET", "/api/v2/models", 404, "route_not_found"),
    ("DELETE", f"{API}/namespaces", 405, "method_not_allowed"),
    ("POST", f"{API}/models", 405, "method_not_allowed"),
    ("PUT", f"{API}/resolve", 405, "method_not_allowed"),
    ("POST", f"{API}/models/default/m", 405, "method_not_allowed"),
    ("PATCH", f"{API}/namespaces/default/blobs/sha256:{'0' * 64}", 405, "method_not_allowed"),
    ("POST", "/healthz", 405, "method_not_allowed"),
    ("DELETE", "/metrics", 405, "method_not_allowed"),
    ("GET", f"{API}/resolve", 400, "invalid_input"),
    ("GET", f"{API}/versions?limit=many", 400, "invalid_input"),
    ("POST", f"{API}/namespaces/default/uploads/x/finish", 400, "invalid_input"),
]


def test_routing_errors_use_the_one_error_body(api: Api) -> None:
    for method, url, status, code in ROUTING_ERRORS:
        response = api.refused(method, url, status, code)
        assert response.headers["content-type"] == "application/json"
        if status == 405:
            assert response.headers["allow"]


def test_a_refused_method_is_answered_with_every_method_the_path_takes(api: Api) -> None:
    """Each method of a path is a route of its own; the 405 names the methods of them all,
    as the document lists them, not only those of the first route on the path."""
    document = api.read(f"{API}/openapi.json")
    for path, method in [
        (f"{API}/namespaces", "DELETE"),
        (f"{API}/models/default/m", "POST"),
        (f"{API}/namespaces/default/blobs/sha256:{'0' * 64}", "PATCH"),
    ]:
        response = api.client.request(method, path)
        assert response.status_code == 405, response.text
        template = next(t for t in document["paths"] if _matches(t, path))
        documented = {m.upper() for m in document["paths"][template]}
        assert set(response.headers["allow"].split(", ")) - {"HEAD"} == documented - {"HEAD"}


def _matches(template: str, path: str) -> bool:
    parts, given = template.split("/"), path.split("/")
    return len(parts) == len(given) and all(
        t == g or t.startswith("{") for t, g in zip(parts, given, strict=True)
    )


def test_service_errors_use_the_one_error_body(api: Api) -> None:
    model = f"{API}/models/default/m"
    api.refused("GET", f"{API}/namespaces/nope", 404, "namespace_not_found")
    api.refused("GET", f"{API}/models/nope/m", 404, "namespace_not_found")
    api.refused("GET", model, 404, "model_not_found")
    api.refused("GET", f"{API}/resolve?ref=default/m:1", 404, "model_not_found")
    api.refused("GET", f"{API}/namespaces/default/blobs/sha256:{'0' * 64}", 404, "blob_not_found")
    api.refused("GET", f"{API}/namespaces/default/uploads/{'0' * 32}", 404, "upload_not_found")
    api.refused("POST", f"{API}/namespaces", 409, "namespace_exists", json={"name": "default"})
    api.refused("POST", f"{API}/namespaces", 400, "invalid_name", json={"name": "-x"})
    api.upload(CONFIG, CONFIG_DIGEST)
    api.call(
        "POST", f"{model}/versions", 201, json={"manifest": manifest(("c", CONFIG, CONFIG_DIGEST))}
    )
    api.refused("GET", f"{model}/versions/2", 404, "version_not_found")
    api.refused("GET", f"{model}/versions/@prod", 404, "alias_not_found")
    api.refused("DELETE", f"{model}/aliases/prod", 404, "alias_not_found")
    api.refused("POST", f"{API}/models/default", 409, "model_exists", json={"name": "M"})
    api.refused("DELETE", model, 409, "model_not_empty")
    api.refused(
        "GET",
        f"{API}/namespaces/default/blobs/{CONFIG_DIGEST}",
        416,
        "invalid_range",
        headers={"Range": "bytes=99-"},
    )
    # A server-side failure keeps the shape too: the stored bytes rot on disk.
    root = Path(urlparse(api.services.settings.effective_blob_url).path)
    hexdigest = CONFIG_DIGEST.removeprefix("sha256:")
    flip_byte(root / "blobs" / "sha256" / hexdigest[:2] / hexdigest, 0)
    api.refused("GET", f"{API}/namespaces/default/blobs/{CONFIG_DIGEST}", 500, "blob_corrupt")


def test_a_registration_that_creates_its_model_audits_both(api: Api) -> None:
    api.upload(CONFIG, CONFIG_DIGEST)
    before = api.audit_count()
    body = {"manifest": manifest(("c", CONFIG, CONFIG_DIGEST))}
    api.call("POST", f"{API}/models/default/new/versions", 201, json=body)
    actions = [(e["action"], e["subject"]) for e in api.audit()[before:]]
    assert actions == [("model.create", "default/new"), ("version.register", "default/new:1")]


def test_anonymous_callers_may_read_but_not_write(tmp_path: Path, database_url: str) -> None:
    services = Services.open(make_settings(tmp_path, database_url, anonymous_read=True))
    try:
        app = create_app(services)
        with TestClient(app, raise_server_exceptions=False) as client:
            anonymous = Api(app, client, services)
            assert anonymous.read(f"{API}/namespaces")["items"][0]["name"] == "default"
            for method, url, body in [
                ("POST", f"{API}/namespaces", {"name": "risk"}),
                ("POST", f"{API}/models/default", {"name": "m"}),
                ("POST", f"{API}/models/default/m/versions", {"manifest": MANIFEST}),
                ("PUT", f"{API}/models/default/m/aliases/prod", {"version": 1}),
            ]:
                response = anonymous.refused(method, url, 401, "unauthenticated", json=body)
                assert response.headers["www-authenticate"] == "Bearer"
            anonymous.refused(
                "PUT",
                f"{API}/namespaces/default/blobs/{CONFIG_DIGEST}",
                401,
                "unauthenticated",
                content=CONFIG,
            )
            anonymous.refused("POST", f"{API}/namespaces/default/uploads", 401, "unauthenticated")
    finally:
        services.close()


# --- every route's happy path, with its audit entry -------------------------------------------


def test_namespaces(api: Api) -> None:
    created = api.mutate(
        "POST",
        f"{API}/namespaces",
        201,
        "namespace.create",
        "risk",
        json={"name": "Risk", "description": "credit risk"},
    ).json()
    assert (created["name"], created["description"], created["required_fields"]) == (
        "risk",
        "credit risk",
        None,
    )
    names = [ns["name"] for ns in api.read(f"{API}/namespaces")["items"]]
    assert names == ["default", "risk"]
    assert api.read(f"{API}/namespaces/RISK")["description"] == "credit risk"
    fields = {"required_fields": ["description", "metrics.auc"]}
    updated = api.mutate(
        "PUT",
        f"{API}/namespaces/risk/required-fields",
        200,
        "namespace.update",
        "risk",
        json=fields,
    ).json()
    assert updated["required_fields"] == ["description", "metrics.auc"]
    assert api.read(f"{API}/namespaces/risk")["required_fields"] == ["description", "metrics.auc"]
    # A media type is case-insensitive, and parameters after it are allowed.
    headers = {"content-type": "Application/JSON; charset=utf-8"}
    api.mutate(
        "POST",
        f"{API}/namespaces",
        201,
        "namespace.create",
        "ops",
        content=b'{"name": "ops"}',
        headers=headers,
    )


def test_models_tags_and_deletion(api: Api) -> None:
    api.mutate("POST", f"{API}/namespaces", 201, "namespace.create", "risk", json={"name": "risk"})
    created = api.mutate(
        "POST",
        f"{API}/models/risk",
        201,
        "model.create",
        "risk/Fraud",  # a model keeps the spelling it was given
        json={"name": "Fraud", "description": "d", "owner": "ana", "tags": {"team": "a"}},
    ).json()
    assert (created["ref"], created["owner"], created["tags"]) == (
        "risk/Fraud",
        "ana",
        {"team": "a"},
    )
    assert created["latest_version"] is None
    patched = api.mutate(
        "PATCH",
        RISK,
        200,
        "model.update",
        "risk/Fraud",
        json={"description": "new", "card": "# Fraud", "tags": {"tier": "1"}},
    ).json()
    assert (patched["description"], patched["card"], patched["owner"]) == ("new", "# Fraud", "ana")
    assert patched["tags"] == {"team": "a", "tier": "1"}
    api.mutate(
        "PUT", f"{RISK}/tags/stage:gate", 204, "model.tag", "risk/Fraud", json={"value": "x"}
    )
    assert api.read(RISK)["tags"] == {"team": "a", "tier": "1", "stage:gate": "x"}
    api.mutate("DELETE", f"{RISK}/tags/team", 204, "model.untag", "risk/Fraud")
    assert api.read(RISK)["tags"] == {"tier": "1", "stage:gate": "x"}
    api.mutate(
        "POST", f"{API}/models/risk", 201, "model.create", "risk/other", json={"name": "other"}
    )
    listed = api.read(f"{API}/models", params={"namespace": "risk"})
    assert [m["ref"] for m in listed["items"]] == ["risk/Fraud", "risk/other"]
    found = api.read(f"{API}/models", params={"filter": "owner = 'ana' AND tags.tier = '1'"})
    assert [m["ref"] for m in found["items"]] == ["risk/Fraud"]

    # Deletion is refused while versions exist; numbers carry on when the name comes back.
    for content, digest in [(WEIGHTS, WEIGHTS_DIGEST), (CONFIG, CONFIG_DIGEST)]:
        api.upload(content, digest, "risk")
    for number in (1, 2):
        api.mutate(
            "POST",
            f"{RISK}/versions",
            201,
            "version.register",
            f"risk/Fraud:{number}",
            json={"manifest": MANIFEST},
        )
    api.refused("DELETE", RISK, 409, "model_not_empty")
    for number in (2, 1):
        api.mutate(
            "DELETE", f"{RISK}/versions/{number}", 204, "version.delete", f"risk/Fraud:{number}"
        )
    api.mutate("DELETE", RISK, 204, "model.delete", "risk/Fraud")
    api.refused("GET", RISK, 404, "model_not_found")
    api.refused("DELETE", RISK, 404, "model_not_found")
    assert [m["ref"] for m in api.read(f"{API}/models")["items"]] == ["risk/other"]
    again = api.mutate(
        "POST", f"{API}/models/risk", 201, "model.create", "risk/FRAUD", json={"name": "FRAUD"}
    ).json()
    assert again["tags"] == {}
    registered = api.mutate(
        "POST",
        f"{RISK}/versions",
        201,
        "version.register",
        "risk/FRAUD:3",
        json={"manifest": MANIFEST},
    ).json()
    assert registered["number"] == 3


def test_versions(api: Api) -> None:
    api.mutate("POST", f"{API}/namespaces", 201, "namespace.create", "risk", json={"name": "risk"})
    for content, digest in [(WEIGHTS, WEIGHTS_DIGEST), (CONFIG, CONFIG_DIGEST)]:
        api.upload(content, digest, "risk")
    api.mutate(
        "POST", f"{API}/models/risk", 201, "model.create", "risk/fraud", json={"name": "fraud"}
    )
    body = {
        "manifest": MANIFEST,
        "description": "first",
        "tags": {"stage": "dev"},
        "metrics": {"auc": 0.91},
        "params": {"lr": 0.1, "deep": True},
        "provenance": {"code": {"repository": "git@x:r", "commit": "abcdef1", "dirty": False}},
        "schema": {"inputs": [{"name": "x", "type": "float32", "shape": [-1, 3]}]},
    }
    headers = {"x-request-id": "req-42"}
    first = api.mutate(
        "POST",
        f"{RISK}/versions",
        201,
        "version.register",
        "risk/fraud:1",
        json=body,
        headers=headers,
    )
    assert first.headers["location"] == f"{RISK}/versions/1"
    version = first.json()
    entry = api.audit()[-1]
    assert entry["request_id"] == "req-42"
    assert entry["payload"]["manifest_digest"] == version["manifest_digest"]
    # Written in the version's own transaction: one clock reading for both.
    assert _instant(version["created_at"]) == entry["at"]
    assert version["params"] == {"lr": "0.1", "deep": "true"}
    assert version["metrics"] == {"auc": 0.91}
    assert version["size"] == len(WEIGHTS) + len(CONFIG)
    assert [f["path"] for f in version["files"]] == ["config.json", "weights.bin"]

    # Idempotency: the same key and content give the same version and write nothing.
    keyed = {"manifest": MANIFEST, "description": "second"}
    key = {"idempotency-key": "push-2"}
    api.mutate(
        "POST", f"{RISK}/versions", 201, "version.register", "risk/fraud:2", json=keyed, headers=key
    )
    before = api.audit_count()
    replay = api.call("POST", f"{RISK}/versions", 200, json=keyed, headers=key).json()
    assert replay["number"] == 2
    assert api.audit_count() == before
    other = {"manifest": manifest(("c", CONFIG, CONFIG_DIGEST))}
    api.refused("POST", f"{RISK}/versions", 409, "idempotency_conflict", json=other, headers=key)
    api.mutate("POST", f"{RISK}/versions", 201, "version.register", "risk/fraud:3", json=other)

    assert api.read(f"{RISK}/versions/1")["description"] == "first"
    assert api.read(f"{RISK}/versions/latest")["number"] == 3
    assert [v["number"] for v in api.read(f"{RISK}/versions")["items"]] == [3, 2, 1]
    assert api.read(f"{API}/resolve", params={"ref": "risk/fraud:1"})["number"] == 1
    assert api.read(f"{API}/resolve", params={"ref": "Risk/Fraud"})["number"] == 3
    brief = api.read(f"{API}/resolve", params={"ref": "risk/fraud:latest", "files": "false"})
    assert "files" not in brief

    patched = api.mutate(
        "PATCH",
        f"{RISK}/versions/2",
        200,
        "version.update",
        "risk/fraud:2",
        json={"description": "better"},
    ).json()
    assert (patched["number"], patched["description"]) == (2, "better")
    api.mutate(
        "PUT",
        f"{RISK}/versions/2/tags/stage",
        204,
        "version.tag",
        "risk/fraud:2",
        json={"value": "qa"},
    )
    api.mutate(
        "PUT",
        f"{RISK}/versions/latest/tags/gpu",
        204,
        "version.tag",
        "risk/fraud:3",
        json={"value": "a100"},
    )
    assert api.read(f"{RISK}/versions/2")["tags"] == {"stage": "qa"}
    api.mutate("DELETE", f"{RISK}/versions/3/tags/gpu", 204, "version.untag", "risk/fraud:3")
    assert api.read(f"{RISK}/versions/3")["tags"] == {}

    found = api.read(f"{API}/versions", params={"filter": "name = 'fraud' AND number >= 2"})
    assert [v["ref"] for v in found["items"]] == ["risk/fraud:3", "risk/fraud:2"]
    found = api.read(f"{API}/versions", params={"filter": "metrics.auc > 0.9 OR tags.stage = 'qa'"})
    assert [v["number"] for v in found["items"]] == [2, 1]


def test_a_model_keeps_its_spelling_and_any_spelling_finds_it(api: Api) -> None:
    """As PyPI keeps a project's display name: unique, and found, under the canonical form."""
    api.mutate("POST", f"{API}/models/default", 201, "model.create", "default/Fraud_Model",
               json={"name": "Fraud_Model"})  # fmt: skip
    for spelling in ("Fraud_Model", "fraud_model", "FRAUD-MODEL", "fraud.model"):
        found = api.read(f"{API}/models/default/{spelling}")
        assert (found["name"], found["ref"]) == ("Fraud_Model", "default/Fraud_Model")
    api.refused("POST", f"{API}/models/default", 409, "model_exists", json={"name": "fraud-model"})
    listed = api.read(f"{API}/models", params={"namespace": "default"})["items"]
    assert [m["name"] for m in listed] == ["Fraud_Model"]
    filtered = api.read(f"{API}/models", params={"filter": "name = 'FRAUD_model'"})["items"]
    assert [m["name"] for m in filtered] == ["Fraud_Model"]


def test_aliases(api: Api) -> None:
    api.upload(CONFIG, CONFIG_DIGEST)
    body = {"manifest": manifest(("c", CONFIG, CONFIG_DIGEST))}
    model = f"{API}/models/default/fraud"
    for _ in range(3):
        api.call("POST", f"{model}/versions", 201, json=body)
    champion = f"{model}/aliases/Champion"
    set_ = api.mutate(
        "PUT", champion, 200, "alias.set", "default/fraud@Champion", json={"version": 2}
    )
    assert (set_.json()["number"], set_.json()["aliases"]) == (2, ["Champion"])
    before = api.audit_count()
    api.call("PUT", champion, 200, json={"version": 2})  # already there: nothing to record
    assert api.audit_count() == before
    assert api.read(champion)["number"] == 2
    assert api.read(f"{model}/versions/@champion")["number"] == 2
    assert api.read(f"{API}/resolve", params={"ref": "fraud@champion"})["number"] == 2
    # Any spelling names the one alias, which keeps the spelling it was made with.
    api.mutate(
        "PUT", f"{model}/aliases/CHAMPION", 200, "alias.set", "default/fraud@Champion",
        json={"version": 3},
    )  # fmt: skip
    api.mutate(
        "PUT", f"{model}/aliases/prod", 200, "alias.set", "default/fraud@prod", json={"version": 1}
    )
    assert api.read(f"{model}/aliases") == {"aliases": {"Champion": 3, "prod": 1}}
    assert api.read(model)["aliases"] == {"Champion": 3, "prod": 1}
    assert (
        api.read(f"{API}/versions", params={"filter": "alias = 'prod'"})["items"][0]["number"] == 1
    )

    api.refused("DELETE", f"{model}/versions/3", 409, "version_in_use")
    api.mutate("DELETE", champion, 204, "alias.delete", "default/fraud@Champion")
    api.refused("GET", champion, 404, "alias_not_found")
    api.mutate("DELETE", f"{model}/versions/3", 204, "version.delete", "default/fraud:3")

    history = api.read(f"{model}/alias-history")["items"]
    assert [(e["alias"], e["action"], e["version"], e["previous"]) for e in history] == [
        ("Champion", "set", 2, None),
        ("Champion", "move", 3, 2),
        ("prod", "set", 1, None),
        ("Champion", "remove", None, 3),
    ]
    only = api.read(f"{model}/alias-history", params={"alias": "prod"})["items"]
    assert [(e["alias"], e["actor"]) for e in only] == [("prod", "admin")]


def test_blobs_and_upload_sessions(api: Api) -> None:
    before = api.audit_count()
    asked = api.call(
        "POST",
        f"{API}/namespaces/default/blobs/missing",
        200,
        json={"digests": [CONFIG_DIGEST, WEIGHTS_DIGEST]},
    )
    assert asked.json() == {"missing": [CONFIG_DIGEST, WEIGHTS_DIGEST]}
    api.upload(CONFIG, CONFIG_DIGEST)
    asked = api.call(
        "POST",
        f"{API}/namespaces/default/blobs/missing",
        200,
        json={"digests": [CONFIG_DIGEST, WEIGHTS_DIGEST]},
    )
    assert asked.json() == {"missing": [WEIGHTS_DIGEST]}
    assert api.audit_count() == before  # blob bytes are content, not registry state

    head = api.call("HEAD", f"{API}/namespaces/default/blobs/{CONFIG_DIGEST}", 200)
    assert (head.headers["cairn-digest"], head.headers["content-length"]) == (
        CONFIG_DIGEST,
        str(len(CONFIG)),
    )
    whole = api.call("GET", f"{API}/namespaces/default/blobs/{CONFIG_DIGEST}", 200)
    assert whole.content == CONFIG
    part = api.call(
        "GET",
        f"{API}/namespaces/default/blobs/{CONFIG_DIGEST}",
        206,
        headers={"Range": "bytes=2-5"},
    )
    assert part.content == CONFIG[2:6]
    assert part.headers["content-range"] == f"bytes 2-5/{len(CONFIG)}"

    started = api.call("POST", f"{API}/namespaces/default/uploads", 201)
    session = started.json()["id"]
    assert started.headers["location"] == f"{API}/namespaces/default/uploads/{session}"
    url = f"{API}/namespaces/default/uploads/{session}"
    half = len(WEIGHTS) // 2
    api.call("PATCH", url, 200, content=WEIGHTS[:half], headers={"Upload-Offset": "0"})
    assert api.call("GET", url, 200).json()["offset"] == half
    api.call("PATCH", url, 200, content=WEIGHTS[half:], headers={"Upload-Offset": str(half)})
    done = api.call("POST", f"{url}/finish", 201, params={"digest": WEIGHTS_DIGEST}).json()
    assert done == {"digest": WEIGHTS_DIGEST, "size": len(WEIGHTS)}
    api.refused("GET", url, 404, "upload_not_found")
    assert (
        api.call("GET", f"{API}/namespaces/default/blobs/{WEIGHTS_DIGEST}", 200).content == WEIGHTS
    )

    dropped = api.call("POST", f"{API}/namespaces/default/uploads", 201).json()["id"]
    api.call("DELETE", f"{API}/namespaces/default/uploads/{dropped}", 204)
    api.refused("GET", f"{API}/namespaces/default/uploads/{dropped}", 404, "upload_not_found")


def test_cursor_pagination_walks_every_version_once(api: Api) -> None:
    api.upload(CONFIG, CONFIG_DIGEST)
    body = {"manifest": manifest(("c", CONFIG, CONFIG_DIGEST))}
    for _ in range(250):
        api.call("POST", f"{API}/models/default/p/versions", 201, json=body)
    for url in [f"{API}/models/default/p/versions", f"{API}/versions"]:
        numbers: list[int] = []
        pages = 0
        cursor = None
        while True:
            params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            page = api.read(url, params=params)
            pages += 1
            numbers += [v["number"] for v in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert pages == 3
        assert numbers == list(range(250, 0, -1)), url  # newest first, each once


# --- operations ---------------------------------------------------------------------------------


def test_health_readiness_and_metrics(api: Api) -> None:
    assert api.read("/healthz") == {"status": "ok"}
    assert api.read("/readyz") == {"status": "ready"}
    api.mutate(
        "POST",
        f"{API}/models/default",
        201,
        "model.create",
        "default/fraud",
        json={"name": "fraud"},
    )
    api.read(f"{API}/models/default/fraud")
    api.refused("GET", f"{API}/models/default/ghost", 404, "model_not_found")
    response = api.call("GET", "/metrics", 200)
    assert response.headers["content-type"].startswith("text/plain")
    samples = [
        sample
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == "cairn_http_request_duration_seconds_count"
    ]
    labels = {(s.labels["method"], s.labels["route"], s.labels["status"]) for s in samples}
    routes = {route for _, route, _ in labels}
    # Labelled by route template, never by the concrete path (that would be unbounded).
    assert any(
        m == "GET" and r.endswith("/models/{namespace}/{model}") and s == "200"
        for m, r, s in labels
    ), labels
    assert any(
        m == "GET" and r.endswith("/models/{namespace}/{model}") and s == "404"
        for m, r, s in labels
    ), labels
    assert any(
        m == "POST" and r.endswith("/models/{namespace}") and s == "201" for m, r, s in labels
    )
    assert "/healthz" in routes
    assert not any("fraud" in r or "ghost" in r for r in routes), routes
    errors = {
        s.labels["code"]: s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
        if s.name == "cairn_http_errors_total"
    }
    assert errors == {"model_not_found": 1.0}
    # A method a client makes up is counted, as "OTHER": made-up names add no series.
    api.client.request("FROBNICATE", f"{API}/models/default/fraud")
    methods = {
        s.labels["method"]
        for family in text_string_to_metric_families(api.call("GET", "/metrics", 200).text)
        for s in family.samples
        if s.name == "cairn_http_request_duration_seconds_count"
    }
    assert "OTHER" in methods and "FROBNICATE" not in methods, methods
