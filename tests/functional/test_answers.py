"""Answers that must be right and refusals that must leave nothing, as a user meets them: a
page of models shows every model's aliases; a registration that is refused — on the native
API, on ``/v2/`` or through MLflow — creates no model and no version. On SQLite and
PostgreSQL, against a real server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cairn.client import Client
from tests.conftest import LiveServer, start_live_server
from tests.functional import error_code, run_cli
from tests.functional.oci_support import as_bytes, digest_of, image_manifest, oci_error, push_blob


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    live = start_live_server(tmp_path, database_url)
    yield live
    live.stop()


def _sdk(server: LiveServer, tmp_path: Path) -> Client:
    return Client(server.url, token=server.token, cache_dir=tmp_path / "cache", progress=False)


def _folder(tmp_path: Path, name: str, content: bytes) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "weights.bin").write_bytes(content)
    return folder


def test_a_page_of_models_shows_each_models_own_aliases(server: LiveServer, tmp_path: Path) -> None:
    with _sdk(server, tmp_path) as cairn:
        cairn.create_namespace("risk")
        for number in (1, 2):
            for model in ("risk/fraud", "risk/churn"):
                folder = _folder(tmp_path, f"{model.replace('/', '-')}-{number}", b"%d" % number)
                cairn.push(model, folder, capture_provenance=False)
        cairn.set_alias("risk/fraud", "champion", 1)
        cairn.set_alias("risk/fraud", "canary", 2)
        cairn.set_alias("risk/churn", "champion", 2)
        listed = {m.name: m.aliases for m in cairn.models("risk")}
        one = cairn.get_model("risk/fraud").aliases

    expected = {"fraud": {"canary": 2, "champion": 1}, "churn": {"champion": 2}}
    assert listed == expected
    assert one == expected["fraud"]
    shown = run_cli(server.url, "--json", "ls", "risk", token=server.token)
    assert shown.returncode == 0, shown.stderr
    assert {m["name"]: m["aliases"] for m in json.loads(shown.stdout)} == expected


def _models(server: LiveServer, namespace: str) -> list[str]:
    response = httpx.get(
        f"{server.url}/api/v1/models", params={"namespace": namespace}, headers=server.headers
    )
    assert response.status_code == 200, response.text
    return sorted(m["name"] for m in response.json()["items"])


def test_a_refused_registration_creates_no_model_on_any_surface(
    server: LiveServer, tmp_path: Path
) -> None:
    missing = digest_of(b"never uploaded")
    # Native: the manifest names a blob nobody uploaded; the model did not exist before.
    body: dict[str, Any] = {
        "manifest": {"files": [{"path": "w.bin", "size": 14, "digest": missing}]}
    }
    native = httpx.post(
        f"{server.url}/api/v1/models/default/ghost/versions", json=body, headers=server.headers
    )
    assert native.status_code == 409 and error_code(native) == "missing_blobs", native.text

    # OCI: a manifest pushed to a new repository whose layer was never pushed.
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=60) as oci:
        push_blob(oci, "default/phantom", b"{}")
        doc = image_manifest([(b"never uploaded", "w.bin")])
        pushed = oci.put(
            "/v2/default/phantom/manifests/latest",
            content=as_bytes(doc),
            headers={"Content-Type": doc["mediaType"]},
        )
    assert pushed.status_code == 400 and oci_error(pushed) == "MANIFEST_BLOB_UNKNOWN", pushed.text

    # MLflow: a version made from a registered version that does not exist.
    mlflow = f"{server.url}/api/2.0/mlflow"
    made = httpx.post(
        f"{mlflow}/registered-models/create", json={"name": "copied"}, headers=server.headers
    )
    assert made.status_code == 200, made.text
    copy = {"name": "copied", "source": "models:/copied/7"}
    refused = httpx.post(f"{mlflow}/model-versions/create", json=copy, headers=server.headers)
    assert refused.status_code == 404, refused.text
    assert refused.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"

    assert _models(server, "default") == ["copied"]
    with _sdk(server, tmp_path) as cairn:
        assert list(cairn.versions("default/copied")) == []
    for subject in ("default/ghost", "default/phantom"):
        audit = httpx.get(
            f"{server.url}/api/v1/audit/entries",
            params={"subject": subject},
            headers=server.headers,
        )
        assert audit.status_code == 200 and audit.json()["items"] == [], audit.text
