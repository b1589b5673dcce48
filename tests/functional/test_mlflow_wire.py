"""MLflow's REST protocol at the wire, as its client depends on it (see the captured protocol):
exactly 200 with JSON, string versions, integer milliseconds, ``status`` always present,
DELETEs with JSON bodies, the prompt clause on every registered-model search, MLflow's error
codes, and never a 5xx for bad input. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cairn.api import create_app
from cairn.services.auth import SYSTEM
from cairn.services.container import Services
from tests.conftest import bearer, make_settings

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
PROMPT_CLAUSE = "tag.`mlflow.prompt.is_prompt` != 'true'"
FILES = {"MLmodel": b"flavors: {}\n", "weights/w.bin": b"\x00\x01" * 1000}


@pytest.fixture
def http(services: Services, admin_token: str) -> TestClient:
    return TestClient(
        create_app(services),
        base_url="http://cairn.test",
        headers=bearer(admin_token),
        raise_server_exceptions=False,
    )


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json() if response.content else {}
    return body


def logged_model(http: TestClient) -> tuple[str, str]:
    """A logged model with FILES uploaded as the client uploads them: (run id, model id)."""
    created = ok(http.post(f"{API}/experiments/create", json={"name": "exp"}))
    exp = created["experiment_id"]
    run = ok(http.post(f"{API}/runs/create", json={"experiment_id": exp, "start_time": 1}))
    run_id = run["run"]["info"]["run_id"]
    body = {"experiment_id": exp, "name": "model", "source_run_id": run_id}
    model = ok(http.post(f"{API}/logged-models", json=body))["model"]["info"]
    root = model["artifact_uri"].removeprefix("mlflow-artifacts:/")
    for path, data in FILES.items():
        put = http.put(f"{ARTIFACTS}/{root}/{path}", content=data)
        assert put.status_code == 200 and put.content == b""
    return run_id, model["model_id"]


def register(http: TestClient, name: str = "wired") -> dict[str, Any]:
    run_id, model_id = logged_model(http)
    ok(http.post(f"{API}/registered-models/create", json={"name": name}))
    body = {"name": name, "source": f"models:/{model_id}", "model_id": model_id}
    version: dict[str, Any] = ok(http.post(f"{API}/model-versions/create", json=body))[
        "model_version"
    ]
    assert version["run_id"] == run_id
    return version


def test_a_version_has_the_shapes_the_client_parses(http: TestClient) -> None:
    version = register(http)
    assert version["version"] == "1"
    assert version["status"] == "READY"
    assert version["current_stage"] == "None"
    assert isinstance(version["creation_timestamp"], int)
    assert isinstance(version["last_updated_timestamp"], int)
    assert version["source"].startswith("models:/m-")
    got = ok(http.get(f"{API}/model-versions/get", params={"name": "wired", "version": "1"}))
    assert got["model_version"]["version"] == "1"
    rm = ok(http.get(f"{API}/registered-models/get", params={"name": "wired"}))
    assert rm["registered_model"]["latest_versions"][0]["version"] == "1"


def test_an_mlflow_version_is_a_real_cairn_version(http: TestClient, services: Services) -> None:
    register(http)
    version = ok(http.get("/api/v1/models/default/wired/versions/1"))
    files = {f["path"]: f for f in version["files"]}
    assert set(files) == set(FILES)
    for path, data in FILES.items():
        assert files[path]["digest"] == "sha256:" + hashlib.sha256(data).hexdigest()
    assert version["provenance"]["extra"]["mlflow"]["source"].startswith("models:/m-")
    assert "scan" in version["validations"]
    audit = ok(http.get("/api/v1/audit/entries", params={"subject": "default/wired:1"}))
    assert any(e["action"] == "version.register" for e in audit["items"])


def test_deletes_carry_json_bodies_and_a_missing_alias_deletes_as_a_no_op(
    http: TestClient,
) -> None:
    register(http)
    alias = {"name": "wired", "alias": "champion", "version": "1"}
    ok(http.post(f"{API}/registered-models/alias", json=alias))
    got = ok(
        http.get(f"{API}/registered-models/alias", params={"name": "wired", "alias": "champion"})
    )
    assert got["model_version"]["aliases"] == ["champion"]
    gone = {"name": "wired", "alias": "champion"}
    assert ok(http.request("DELETE", f"{API}/registered-models/alias", json=gone)) == {}
    assert ok(http.request("DELETE", f"{API}/registered-models/alias", json=gone)) == {}
    tag = {"name": "wired", "version": "1", "key": "k", "value": "v"}
    ok(http.post(f"{API}/model-versions/set-tag", json=tag))
    untag = {"name": "wired", "version": "1", "key": "k"}
    ok(http.request("DELETE", f"{API}/model-versions/delete-tag", json=untag))
    got = ok(http.get(f"{API}/model-versions/get", params={"name": "wired", "version": "1"}))
    # Only the tags the version's MLmodel gave are left (cairn.domain.derived).
    assert {t["key"] for t in got["model_version"]["tags"]} == {"model.format"}


def test_registered_model_searches_take_the_prompt_clause(http: TestClient) -> None:
    for name in ("alpha", "beta", "prompt"):
        ok(http.post(f"{API}/registered-models/create", json={"name": name}))
    is_prompt = {"name": "prompt", "key": "mlflow.prompt.is_prompt", "value": "true"}
    ok(http.post(f"{API}/registered-models/set-tag", json=is_prompt))
    found = ok(http.get(f"{API}/registered-models/search", params={"filter": PROMPT_CLAUSE}))
    assert [m["name"] for m in found["registered_models"]] == ["alpha", "beta"]
    both = f"name LIKE 'a%' AND {PROMPT_CLAUSE}"
    found = ok(http.get(f"{API}/registered-models/search", params={"filter": both}))
    assert [m["name"] for m in found["registered_models"]] == ["alpha"]
    page = {"filter": PROMPT_CLAUSE, "max_results": 1, "order_by": "name DESC"}
    first = ok(http.get(f"{API}/registered-models/search", params=page))
    assert [m["name"] for m in first["registered_models"]] == ["beta"]
    second = ok(
        http.get(
            f"{API}/registered-models/search",
            params={**page, "page_token": first["next_page_token"]},
        )
    )
    assert [m["name"] for m in second["registered_models"]] == ["alpha"]
    assert "next_page_token" not in second


def test_cairn_pushed_versions_download_through_the_version_tree(http: TestClient) -> None:
    data = b"pushed with cairn"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert http.put(f"/api/v1/namespaces/default/blobs/{digest}", content=data).status_code == 201
    manifest = {"files": [{"path": "model/file.bin", "size": len(data), "digest": digest}]}
    pushed = http.post("/api/v1/models/default/pushed/versions", json={"manifest": manifest})
    assert pushed.status_code == 201, pushed.text
    uri = ok(
        http.get(f"{API}/model-versions/get-download-uri", params={"name": "pushed", "version": 1})
    )["artifact_uri"]
    assert uri == "mlflow-artifacts:/_cairn/versions/default/pushed/1"
    root = uri.removeprefix("mlflow-artifacts:/")
    listing = ok(http.get(ARTIFACTS, params={"path": root}))
    assert listing == {"files": [{"path": "model", "is_dir": True}]}
    inner = ok(http.get(ARTIFACTS, params={"path": root + "/model"}))
    assert inner == {"files": [{"path": "file.bin", "is_dir": False, "file_size": len(data)}]}
    assert ok(http.get(ARTIFACTS, params={"path": root + "/model/file.bin"})) == {}
    got = http.get(f"{ARTIFACTS}/{root}/model/file.bin")
    assert got.status_code == 200 and got.content == data


@pytest.mark.parametrize(
    ("method", "path", "args", "status", "code"),
    [
        ("GET", "/registered-models/get", {"name": "nope"}, 404, "RESOURCE_DOES_NOT_EXIST"),
        (
            "GET",
            "/model-versions/get",
            {"name": "wired", "version": "9"},
            404,
            "RESOURCE_DOES_NOT_EXIST",
        ),
        (
            "GET",
            "/model-versions/get",
            {"name": "wired", "version": "x"},
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "GET",
            "/registered-models/alias",
            {"name": "wired", "alias": "nope"},
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "GET",
            "/registered-models/alias",
            {"name": "nope", "alias": "a"},
            404,
            "RESOURCE_DOES_NOT_EXIST",
        ),
        ("POST", "/registered-models/create", {"name": "wired"}, 400, "RESOURCE_ALREADY_EXISTS"),
        (
            "POST",
            "/registered-models/create",
            {"name": "Has Spaces!"},
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        ("POST", "/registered-models/create", {}, 400, "INVALID_PARAMETER_VALUE"),
        ("GET", "/model-versions/search", {"filter": "bogus ~~ 1"}, 400, "INVALID_PARAMETER_VALUE"),
        ("GET", "/registered-models/search", {"filter": "name = "}, 400, "INVALID_PARAMETER_VALUE"),
        ("GET", "/registered-models/search", {"page_token": "!!"}, 400, "INVALID_PARAMETER_VALUE"),
        (
            "POST",
            "/model-versions/create",
            {"name": "nope", "source": "models:/m-1"},
            404,
            "RESOURCE_DOES_NOT_EXIST",
        ),
        (
            "POST",
            "/model-versions/create",
            {"name": "wired", "source": "s3://elsewhere/m"},
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "POST",
            "/model-versions/create",
            {"name": "wired", "source": "models:/m-none"},
            404,
            "RESOURCE_DOES_NOT_EXIST",
        ),
        (
            "POST",
            "/model-versions/transition-stage",
            {"name": "wired", "version": "1", "stage": "Nowhere"},
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "DELETE",
            "/model-versions/delete",
            {"name": "wired", "version": "5"},
            404,
            "RESOURCE_DOES_NOT_EXIST",
        ),
        (
            "GET",
            "/experiments/get-by-name",
            {"experiment_name": "nope"},
            404,
            "RESOURCE_DOES_NOT_EXIST",
        ),
        ("POST", "/experiments/create", {"name": "exp"}, 400, "RESOURCE_ALREADY_EXISTS"),
        ("GET", "/runs/get", {"run_id": "nope"}, 404, "RESOURCE_DOES_NOT_EXIST"),
        ("GET", "/logged-models/m-nope", {}, 404, "RESOURCE_DOES_NOT_EXIST"),
        ("GET", "/no-such-route", {}, 404, "ENDPOINT_NOT_FOUND"),
    ],
)
def test_errors_use_mlflow_codes_and_are_never_5xx(
    http: TestClient, method: str, path: str, args: dict[str, Any], status: int, code: str
) -> None:
    register(http)
    if method == "GET":
        response = http.get(API + path, params=args)
    else:
        response = http.request(method, API + path, json=args)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code
    assert isinstance(body["message"], str) and body["message"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", f"{ARTIFACTS}/1/%2E%2E/%2E%2E/etc/passwd", b"x"),
        ("PUT", f"{ARTIFACTS}/1/a%5Cb", b"x"),
        ("PUT", f"{ARTIFACTS}/_cairn/versions/default/wired/1/MLmodel", b"x"),
        ("PUT", f"{ARTIFACTS}/999/models/m/artifacts/f", b"x"),
        ("PUT", f"{ARTIFACTS}/not-an-experiment/f", b"x"),
        ("GET", f"{ARTIFACTS}/1/missing", None),
        ("POST", f"{API}/registered-models/create", b"not json"),
        ("POST", f"{API}/registered-models/create", b"[1, 2]"),
        ("POST", f"{API}/model-versions/create", b'{"name": 5, "source": []}'),
        (
            "POST",
            f"{API}/registered-models/alias",
            b'{"name": "wired", "alias": "1", "version": "1"}',
        ),
        ("POST", f"{API}/logged-models/search", b'{"experiment_ids": "1"}'),
        ("POST", f"{API}/runs/outputs", b'{"run_id": "x", "models": 3}'),
        ("PATCH", f"{API}/logged-models/m-x", b'{"status": "WHATEVER"}'),
        ("PATCH", f"{API}/logged-models/m-x", b'{"status": ["LOGGED_MODEL_READY"]}'),
        ("POST", f"{API}/runs/update", b'{"run_id": "x", "status": ["FINISHED"]}'),
        ("POST", f"{API}/runs/update", b'{"run_id": "x", "end_time": 1.5}'),
        ("POST", f"{API}/logged-models", b'{"experiment_id": "1", "params": {"k": "v"}}'),
        # NUL, which PostgreSQL refuses in text, anywhere a request can carry it
        ("GET", f"{API}/registered-models/alias?name=wired&alias=%00", None),
        ("GET", f"{API}/registered-models/search?filter=name%20%3D%20%27%00%27", None),
        ("GET", f"{API}/model-versions/search?filter=name%20%3D%20%27%00%27", None),
        ("GET", f"{API}/runs/get?run_id=%00", None),
        ("GET", f"{API}/experiments/get-by-name?experiment_name=%00", None),
        (
            "POST",
            f"{API}/logged-models/search",
            b'{"experiment_ids": ["1"], "filter": "name = \'\\u0000\'"}',
        ),
        (
            "POST",
            f"{API}/model-versions/create",
            b'{"name": "wired", "source": "mlflow-artifacts:/1/\\u0000"}',
        ),
        (
            "POST",
            f"{API}/model-versions/create",
            b'{"name": "wired", "source": "models:/m-1", "run_id": "\\u0000"}',
        ),
        (
            "POST",
            f"{API}/runs/create",
            b'{"experiment_id": "1", "tags": [{"key": "k", "value": "\\u0000"}]}',
        ),
        ("POST", f"{API}/experiments/create", b'{"name": "\\u0000"}'),
    ],
)
def test_bad_input_is_a_4xx_with_an_mlflow_body(
    http: TestClient, method: str, path: str, body: bytes | None
) -> None:
    register(http)
    headers = {"Content-Type": "application/json"}
    response = http.request(method, path, content=body, headers=headers)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error_code"] in {
        "INVALID_PARAMETER_VALUE",
        "RESOURCE_DOES_NOT_EXIST",
        "INVALID_STATE",
    }


@pytest.mark.parametrize("step", ["abc", [1], {"n": 1}, 1.5, True])
def test_a_run_s_outputs_refuse_a_step_that_is_not_a_whole_number(
    http: TestClient, step: object
) -> None:
    run_id, model_id = logged_model(http)
    models = [{"model_id": model_id, "step": step}]
    response = http.post(f"{API}/runs/outputs", json={"run_id": run_id, "models": models})
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    run = ok(http.get(f"{API}/runs/get", params={"run_id": run_id}))["run"]
    assert "outputs" not in run or not run["outputs"].get("model_outputs")


def test_a_run_s_outputs_keep_each_model_once_with_its_step(http: TestClient) -> None:
    run_id, model_id = logged_model(http)
    for step in ("3", 7):
        models = [{"model_id": model_id, "step": step}]
        ok(http.post(f"{API}/runs/outputs", json={"run_id": run_id, "models": models}))
    run = ok(http.get(f"{API}/runs/get", params={"run_id": run_id}))["run"]
    assert run["outputs"]["model_outputs"] == [{"model_id": model_id, "step": 3}]


def test_cairn_api_errors_keep_cairn_s_own_body(http: TestClient) -> None:
    response = http.get("/api/v1/models/default/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"


def test_logged_files_survive_garbage_collection(http: TestClient, services: Services) -> None:
    _, model_id = logged_model(http)  # logged, never registered: only MLflow names the blobs
    report = services.gc.collect(SYSTEM, grace=timedelta(0))
    assert report.deleted == 0
    listing = ok(http.get(ARTIFACTS, params={"path": f"1/models/{model_id}/artifacts"}))
    assert {f["path"] for f in listing["files"]} == {"MLmodel", "weights"}
    got = http.get(f"{ARTIFACTS}/1/models/{model_id}/artifacts/weights/w.bin")
    assert got.content == FILES["weights/w.bin"]


def test_a_listing_reads_only_its_own_experiments_folder(http: TestClient) -> None:
    _, model_id = logged_model(http)
    other = ok(http.post(f"{API}/experiments/create", json={"name": "other"}))["experiment_id"]
    run = ok(http.post(f"{API}/runs/create", json={"experiment_id": other, "start_time": 1}))
    run_root = run["run"]["info"]["artifact_uri"].removeprefix("mlflow-artifacts:/")
    assert http.put(f"{ARTIFACTS}/{run_root}/notes.txt", content=b"n").status_code == 200

    mine = ok(http.get(ARTIFACTS, params={"path": f"1/models/{model_id}/artifacts"}))
    assert {f["path"] for f in mine["files"]} == {"MLmodel", "weights"}
    theirs = ok(http.get(ARTIFACTS, params={"path": run_root}))
    assert theirs == {"files": [{"path": "notes.txt", "is_dir": False, "file_size": 1}]}
    # Every file lies under an experiment's folder: a path that is not one holds nothing.
    assert ok(http.get(ARTIFACTS, params={"path": "models"})) == {}
    assert ok(http.get(ARTIFACTS, params={"path": "x1/models"})) == {}


@pytest.fixture
def small_pages(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    """A server whose search pages hold three versions, so searches cross many of them."""
    settings = make_settings(tmp_path, database_url, page_size_default=3, page_size_max=3)
    svc = Services.open(settings)
    svc.identity.bootstrap(settings.admin_token_file)
    token = settings.admin_token_file.read_text().strip()
    try:
        yield TestClient(create_app(svc), base_url="http://cairn.test", headers=bearer(token))
    finally:
        svc.close()


def _all_pages(http: TestClient, params: dict[str, Any]) -> list[list[str]]:
    pages: list[list[str]] = []
    token: str | None = None
    while True:
        query = {**params, **({"page_token": token} if token else {})}
        found = ok(http.get(f"{API}/model-versions/search", params=query))
        pages.append([v["version"] for v in found["model_versions"]])
        token = found.get("next_page_token")
        if token is None:
            return pages


def test_version_searches_page_newest_first_across_every_match(small_pages: TestClient) -> None:
    http = small_pages
    data = b"weights"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert http.put(f"/api/v1/namespaces/default/blobs/{digest}", content=data).status_code in (
        200,
        201,
    )
    for number in range(1, 9):
        body = {
            "manifest": {"files": [{"path": "w.bin", "digest": digest, "size": len(data)}]},
            "tags": {"keep": "yes" if number % 2 == 0 else "no"},
        }
        created = http.post("/api/v1/models/default/paged/versions", json=body)
        assert created.status_code == 201, created.text
    kept = {"filter": "name = 'paged' AND tag.keep = 'yes'", "max_results": 1}

    assert _all_pages(http, kept) == [["8"], ["6"], ["4"], ["2"]]
    every = {"filter": "name = 'paged'", "max_results": 3}
    assert _all_pages(http, every) == [["8", "7", "6"], ["5", "4", "3"], ["2", "1"]]
    ordered = {**kept, "max_results": 3, "order_by": "version_number ASC"}
    assert _all_pages(http, ordered) == [["2", "4", "6"], ["8"]]


def test_a_search_page_draws_each_model_with_its_own_stages_and_aliases(
    http: TestClient,
) -> None:
    """The page's latest versions and aliases are read for all its models at once: each model
    gets its own, and a model with neither gets none."""
    blob = b"weights"
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    assert http.put(f"/api/v1/namespaces/default/blobs/{digest}", content=blob).status_code in (
        200,
        201,
    )
    manifest = {"files": [{"path": "w.bin", "size": len(blob), "digest": digest}]}
    for name, count in (("alpha", 2), ("beta", 1)):
        for _ in range(count):
            made = http.post(f"/api/v1/models/default/{name}/versions", json={"manifest": manifest})
            assert made.status_code == 201, made.text
    ok(http.post(f"{API}/registered-models/create", json={"name": "gamma"}))
    stage = {"name": "alpha", "version": "1", "stage": "Staging"}
    ok(http.post(f"{API}/model-versions/transition-stage", json=stage))
    ok(
        http.post(
            f"{API}/registered-models/alias",
            json={"name": "beta", "alias": "champion", "version": "1"},
        )
    )
    found = ok(http.get(f"{API}/registered-models/search", params={"max_results": 10}))
    drawn = {m["name"]: m for m in found["registered_models"]}
    assert [(v["version"], v["current_stage"]) for v in drawn["alpha"]["latest_versions"]] == [
        ("1", "Staging"),
        ("2", "None"),
    ]
    assert "aliases" not in drawn["alpha"]
    assert [(v["version"], v["current_stage"]) for v in drawn["beta"]["latest_versions"]] == [
        ("1", "None")
    ]
    assert drawn["beta"]["aliases"] == [{"alias": "champion", "version": "1"}]
    assert "latest_versions" not in drawn["gamma"] and "aliases" not in drawn["gamma"]
    # One model's page says the same as the search.
    alone = ok(http.get(f"{API}/registered-models/get", params={"name": "beta"}))
    assert alone["registered_model"] == drawn["beta"]
