"""MLflow's searches through its REST API, played by a user who sends what the grammar does not
expect: quotes and backslashes inside values, NUL, huge numbers, unknown keys, order_by
clauses and page tokens from elsewhere. Each is MLflow's error body with a 4xx, never a 5xx,
and a value is only ever a value. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cairn.api import create_app
from cairn.services.container import Services
from tests.conftest import bearer

API = "/api/2.0/mlflow"
ODD = 'it\'s "odd" \\ 100% _x_'  # a tag value holding every character a filter escapes


@pytest.fixture
def http(services: Services, admin_token: str) -> TestClient:
    client = TestClient(
        create_app(services),
        base_url="http://cairn.test",
        headers=bearer(admin_token),
        raise_server_exceptions=False,
    )
    data = b"weights"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    put = client.put(f"/api/v1/namespaces/default/blobs/{digest}", content=data)
    assert put.status_code in (200, 201), put.text
    manifest = {"files": [{"path": "w.bin", "digest": digest, "size": len(data)}]}
    for name in ("alpha", "beta", "gamma"):
        ok(client.post(f"{API}/registered-models/create", json={"name": name}))
        for _ in range(2):
            made = client.post(
                f"/api/v1/models/default/{name}/versions", json={"manifest": manifest}
            )
            assert made.status_code == 201, made.text
    tag = {"name": "beta", "key": "note", "value": ODD}
    ok(client.post(f"{API}/registered-models/set-tag", json=tag))
    ok(client.post(f"{API}/model-versions/set-tag", json={**tag, "version": "2"}))
    return client


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def models(http: TestClient, **params: Any) -> dict[str, Any]:
    return ok(http.get(f"{API}/registered-models/search", params=params))


def versions(http: TestClient, **params: Any) -> dict[str, Any]:
    return ok(http.get(f"{API}/model-versions/search", params=params))


def _escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def test_a_value_with_quotes_and_backslashes_is_matched_as_written(http: TestClient) -> None:
    clause = f"tag.note = '{_escaped(ODD)}'"
    assert [m["name"] for m in models(http, filter=clause)["registered_models"]] == ["beta"]
    found = versions(http, filter=clause)["model_versions"]
    assert [(v["name"], v["version"]) for v in found] == [("beta", "2")]
    like = "tag.note LIKE '%\\\\ 100%'"  # a backslash in a pattern is a backslash
    assert [m["name"] for m in models(http, filter=like)["registered_models"]] == ["beta"]


@pytest.mark.parametrize(
    "filter_text",
    [
        "name = 'x' OR name != 'x'",
        "name = 'x'' OR ''1''=''1'",
        "name = \"x' OR name != '\"",
        "name = 'x\\' OR name != \\'x'",
        "tag.`note` = '' OR 1=1 --'",
    ],
)
def test_a_filter_that_tries_to_break_out_of_its_value_finds_nothing_or_is_refused(
    http: TestClient, filter_text: str
) -> None:
    for path in ("registered-models", "model-versions"):
        response = http.get(f"{API}/{path}/search", params={"filter": filter_text})
        if response.status_code == 200:
            key = "registered_models" if path == "registered-models" else "model_versions"
            assert response.json().get(key, []) == []
        else:
            refused(response)


def refused(response: Any) -> None:
    assert 400 <= response.status_code < 500, (response.request.url, response.text)
    body = response.json()
    assert set(body) == {"error_code", "message"}, body
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert body["message"]


HOSTILE_FILTERS = [
    "name = 'a\x00b'",
    "tag.`k\x00` = 'v'",
    "tag.`bell\x07` = 'v'",
    f"tag.`{'k' * 300}` = 'v'",
    "version_number = 99999999999999999999999999999999",
    "version_number > -1",
    "version_number = '1e400'",
    "bogus = 'x'",
    "attributes.bogus = 'x'",
    "metrics.acc > 0.5",
    "tag.`` = 'x'",
    "name = 'unterminated",
    "name = 'a\\",
    "name = 'a' AND",
    "name IN ('a', 'b'",
    "run_id IN (" + ", ".join(f"'{n}'" for n in range(101)) + ")",
    " AND ".join(["name = 'a'"] * 65),
    "x" * 5000,
    "name = 'a' ; DROP TABLE models",
    "name = `a`",
]


def test_hostile_filters_are_a_4xx_in_mlflow_s_shape(http: TestClient) -> None:
    for filter_text in HOSTILE_FILTERS:
        refused(http.get(f"{API}/model-versions/search", params={"filter": filter_text}))
        refused(http.get(f"{API}/registered-models/search", params={"filter": filter_text}))


HOSTILE_PAGES = [
    {"max_results": "0"},
    {"max_results": "-5"},
    {"max_results": "abc"},
    {"max_results": "1e3"},
    {"max_results": str(10**40)},
    {"order_by": "bogus ASC"},
    {"order_by": "name SIDEWAYS"},
    {"order_by": "name\x00"},
    {"order_by": "name ASC; DROP"},
    {"order_by": ["name ASC"] * 50},
]


def test_hostile_page_sizes_and_orders_are_a_4xx(http: TestClient) -> None:
    for params in HOSTILE_PAGES:
        for path in ("registered-models", "model-versions"):
            refused(http.get(f"{API}/{path}/search", params=params))


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


FOREIGN_TOKENS = [
    "!!",
    "not base64 at all",
    "x" * 5000,
    _b64("[]"),
    _b64("null"),
    _b64('{"offset": -1}'),
    _b64('{"offset": 1e999}'),
    _b64('{"offset": 123456789012345678901234567890}'),
    _b64('{"offset": 1, "offset": 2}'),
    _b64('{"offset": "1"}'),
    base64.b64encode(b'{"offset": "\xff"}').decode(),
    _b64('{"cursor": "garbage", "skip": 0}'),
    _b64('{"cursor": null, "skip": 99999999999999999999}'),
    _b64('{"cursor": [1], "skip": 0}'),
    "WzEwXQ",  # a cursor of Cairn's own API, not an MLflow page token
]


def test_page_tokens_not_given_by_this_search_are_a_4xx(http: TestClient) -> None:
    for token in FOREIGN_TOKENS:
        refused(http.get(f"{API}/registered-models/search", params={"page_token": token}))
        refused(http.get(f"{API}/model-versions/search", params={"page_token": token}))
        sorted_search = {"page_token": token, "order_by": "version_number ASC"}
        refused(http.get(f"{API}/model-versions/search", params=sorted_search))


def test_a_token_from_one_kind_of_search_is_refused_by_the_other(http: TestClient) -> None:
    sorted_token = versions(http, max_results=1, order_by="version_number ASC")["next_page_token"]
    newest_token = versions(http, max_results=1)["next_page_token"]
    refused(http.get(f"{API}/model-versions/search", params={"page_token": sorted_token}))
    again = {"page_token": newest_token, "order_by": "version_number ASC"}
    refused(http.get(f"{API}/model-versions/search", params=again))
    refused(http.get(f"{API}/registered-models/search", params={"page_token": newest_token}))


def test_registered_models_page_in_their_order_with_the_prompt_clause(http: TestClient) -> None:
    clause = "name LIKE '%a%' AND tag.`mlflow.prompt.is_prompt` != 'true'"
    names: list[str] = []
    params: dict[str, Any] = {"filter": clause, "max_results": 1, "order_by": "name DESC"}
    while True:
        found = models(http, **params)
        names += [m["name"] for m in found["registered_models"]]
        if "next_page_token" not in found:
            break
        params["page_token"] = found["next_page_token"]
    assert names == ["gamma", "beta", "alpha"]


def test_version_filters_combine_names_numbers_and_tags(http: TestClient) -> None:
    none = {"model_versions": []}
    assert versions(http, filter="name = 'x' AND version_number = 1") == none
    found = versions(http, filter="name = 'alpha' AND version_number >= 2")["model_versions"]
    assert [(v["name"], v["version"]) for v in found] == [("alpha", "2")]
    assert versions(http, filter="tag.note = 'nothing' AND name = 'beta'") == none
    # MLflow's case rules: LIKE tells upper from lower case, ILIKE does not.
    assert versions(http, filter="tag.note LIKE 'IT%' AND name = 'beta'") == none
    found = versions(http, filter="tag.note ILIKE 'IT%' AND name = 'beta'")["model_versions"]
    assert [v["version"] for v in found] == ["2"]
    run = versions(http, filter="run_id = '' AND name = 'gamma'", order_by="version_number ASC")
    assert [v["version"] for v in run["model_versions"]] == ["1", "2"]


HOSTILE_LOGGED_MODEL_SEARCHES: list[dict[str, Any]] = [
    {"filter": "name = 'a\x00'"},
    {"filter": "name LIKE 'm%'"},
    {"filter": "tag.a = 'b'"},
    {"filter": "name = 'a' OR name = 'b'"},
    {"filter": 5},
    {"max_results": 10**30},
    {"max_results": "5"},
    {"max_results": True},
    {"max_results": -1},
    {"page_token": 5},
    {"page_token": _b64('{"cursor": null, "skip": 0}')},
    {"page_token": _b64('{"offset": -3}')},
    {"experiment_ids": ["99999999999999999999"]},
    {"experiment_ids": [None]},
]


def test_hostile_logged_model_searches_are_a_4xx(http: TestClient) -> None:
    for body in HOSTILE_LOGGED_MODEL_SEARCHES:
        refused(http.post(f"{API}/logged-models/search", json={"experiment_ids": ["0"], **body}))
    quoted = {"experiment_ids": ["0"], "filter": "name = 'it\\'s \"x\"'"}
    assert ok(http.post(f"{API}/logged-models/search", json=quoted)) == {"models": []}
