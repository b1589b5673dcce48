"""MLflow's run-data routes at the wire, as a training script's client calls them: params
written once, metrics with steps and history, tags, batches within MLflow's limits, dataset
inputs, run search, delete and restore, experiment search and rename. A refused request
writes nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from cairn.api import create_app
from cairn.services.container import Services
from tests.conftest import bearer

API = "/api/2.0/mlflow"


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


def refused(response: Any, code: str = "INVALID_PARAMETER_VALUE") -> str:
    assert response.status_code in (400, 404), response.text
    body = response.json()
    assert body["error_code"] == code, body
    message: str = body["message"]
    return message


def new_run(http: TestClient, experiment: str = "train", start: int = 1) -> str:
    found = http.get(f"{API}/experiments/get-by-name", params={"experiment_name": experiment})
    if found.status_code == 404:
        exp = ok(http.post(f"{API}/experiments/create", json={"name": experiment}))
        exp_id = exp["experiment_id"]
    else:
        exp_id = ok(found)["experiment"]["experiment_id"]
    body = {"experiment_id": exp_id, "start_time": start}
    run_id: str = ok(http.post(f"{API}/runs/create", json=body))["run"]["info"]["run_id"]
    return run_id


def get_run(http: TestClient, run_id: str) -> dict[str, Any]:
    run: dict[str, Any] = ok(http.get(f"{API}/runs/get", params={"run_id": run_id}))["run"]
    return run


def pairs(items: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {i["key"]: i["value"] for i in items or []}


def test_params_are_written_once_and_a_new_value_is_refused(http: TestClient) -> None:
    run_id = new_run(http)
    body = {"run_id": run_id, "run_uuid": run_id, "key": "alpha", "value": "0.5"}
    ok(http.post(f"{API}/runs/log-parameter", json=body))
    ok(http.post(f"{API}/runs/log-parameter", json=body))  # the same value again: no change
    message = refused(http.post(f"{API}/runs/log-parameter", json={**body, "value": "0.7"}))
    assert "Changing param values is not allowed" in message and "'0.7'" in message
    assert pairs(get_run(http, run_id)["data"]["params"]) == {"alpha": "0.5"}
    refused(http.post(f"{API}/runs/log-parameter", json={**body, "key": "../up"}))
    refused(http.post(f"{API}/runs/log-parameter", json={**body, "key": "k", "value": "x" * 6001}))


def test_metrics_keep_their_history_and_the_latest_value_by_step(http: TestClient) -> None:
    run_id = new_run(http)
    for step, value, at in ((0, 0.5, 10), (2, 0.9, 11), (1, 0.7, 12)):
        body = {"run_id": run_id, "key": "acc", "value": value, "timestamp": at, "step": step}
        ok(http.post(f"{API}/runs/log-metric", json=body))
    nan = {"run_id": run_id, "key": "loss", "value": "NaN", "timestamp": 5, "step": 0}
    ok(http.post(f"{API}/runs/log-metric", json=nan))
    for spelled in ("-Infinity", "Infinity"):  # both databases keep them, and NaN, as doubles
        ok(http.post(f"{API}/runs/log-metric", json={**nan, "key": "grad", "value": spelled}))
    grad = {"run_id": run_id, "metric_key": "grad"}
    stored = ok(http.get(f"{API}/metrics/get-history", params=grad))["metrics"]
    assert [m["value"] for m in stored] == ["-Infinity", "Infinity"]
    metrics = {m["key"]: m for m in get_run(http, run_id)["data"]["metrics"]}
    assert metrics["acc"] == {"key": "acc", "value": 0.9, "timestamp": 11, "step": 2}
    assert metrics["loss"]["value"] == "NaN"
    query = {"run_id": run_id, "metric_key": "acc"}
    history = ok(http.get(f"{API}/metrics/get-history", params=query))["metrics"]
    assert [(m["step"], m["value"]) for m in history] == [(0, 0.5), (2, 0.9), (1, 0.7)]
    first = ok(http.get(f"{API}/metrics/get-history", params={**query, "max_results": 2}))
    rest = ok(
        http.get(
            f"{API}/metrics/get-history",
            params={**query, "max_results": 2, "page_token": first["next_page_token"]},
        )
    )
    assert [m["step"] for m in first["metrics"] + rest["metrics"]] == [0, 2, 1]
    assert "next_page_token" not in rest
    bad: dict[str, Any] = {"run_id": run_id, "key": "acc", "value": "high", "timestamp": 1}
    refused(http.post(f"{API}/runs/log-metric", json=bad))
    refused(http.post(f"{API}/runs/log-metric", json={**bad, "value": 1, "timestamp": -1}))
    missing = {"run_id": "nope", "key": "acc", "value": 1, "timestamp": 1}
    refused(http.post(f"{API}/runs/log-metric", json=missing), "RESOURCE_DOES_NOT_EXIST")


def test_a_batch_over_mlflows_limits_or_with_a_changed_param_writes_nothing(
    http: TestClient,
) -> None:
    run_id = new_run(http)
    ok(http.post(f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "a", "value": "1"}))
    metric = {"key": "m", "value": 1.0, "timestamp": 1, "step": 0}
    over: list[dict[str, Any]] = [
        {"metrics": [metric] * 1001},
        {"params": [{"key": f"p{i}", "value": "v"} for i in range(101)]},
        {"tags": [{"key": f"t{i}", "value": "v"} for i in range(101)]},
        {
            "metrics": [metric] * 900,
            "params": [{"key": f"p{i}", "value": "v"} for i in range(100)],
            "tags": [{"key": "t", "value": "v"}],
        },
    ]
    for extra in over:
        message = refused(http.post(f"{API}/runs/log-batch", json={"run_id": run_id, **extra}))
        assert message.startswith("A batch logging request can contain at most")
    changed = {
        "run_id": run_id,
        "metrics": [metric],
        "params": [{"key": "b", "value": "2"}, {"key": "a", "value": "9"}],
        "tags": [{"key": "t", "value": "v"}],
    }
    assert "Changing param values" in refused(http.post(f"{API}/runs/log-batch", json=changed))
    twice = {**changed, "params": [{"key": "c", "value": "1"}, {"key": "c", "value": "2"}]}
    assert "Duplicate parameter keys" in refused(http.post(f"{API}/runs/log-batch", json=twice))
    run = get_run(http, run_id)
    assert pairs(run["data"]["params"]) == {"a": "1"}
    assert "metrics" not in run["data"] and "t" not in pairs(run["data"]["tags"])
    history = {"run_id": run_id, "metric_key": "m"}
    assert ok(http.get(f"{API}/metrics/get-history", params=history)) == {"metrics": []}
    fine = {**changed, "params": [{"key": "b", "value": "2"}, {"key": "a", "value": "1"}]}
    ok(http.post(f"{API}/runs/log-batch", json=fine))
    run = get_run(http, run_id)
    assert pairs(run["data"]["params"]) == {"a": "1", "b": "2"}
    assert pairs(run["data"]["metrics"]) == {"m": 1.0}


def test_tags_are_set_renamed_and_deleted(http: TestClient) -> None:
    run_id = new_run(http)
    ok(http.post(f"{API}/runs/set-tag", json={"run_id": run_id, "key": "team", "value": "a"}))
    tag = {"run_id": run_id, "key": "mlflow.runName", "value": "renamed"}
    ok(http.post(f"{API}/runs/set-tag", json=tag))
    run = get_run(http, run_id)
    assert run["info"]["run_name"] == "renamed"
    assert pairs(run["data"]["tags"])["team"] == "a"
    ok(http.post(f"{API}/runs/delete-tag", json={"run_id": run_id, "key": "team"}))
    assert "team" not in pairs(get_run(http, run_id)["data"]["tags"])
    gone = http.post(f"{API}/runs/delete-tag", json={"run_id": run_id, "key": "team"})
    assert (
        refused(gone, "RESOURCE_DOES_NOT_EXIST")
        == f"No tag with name: team in run with id {run_id}"
    )
    long = {"run_id": run_id, "key": "big", "value": "x" * 8001}
    refused(http.post(f"{API}/runs/set-tag", json=long))


def test_dataset_inputs_are_kept_with_their_context(http: TestClient) -> None:
    run_id = new_run(http)
    dataset = {
        "name": "iris",
        "digest": "a1b2c3d4",
        "source_type": "http",
        "source": '{"url": "https://example.com/iris.csv"}',
        "schema": '{"mlflow_colspec": []}',
        "profile": '{"num_rows": 150}',
    }
    inputs = [{"tags": [{"key": "mlflow.data.context", "value": "training"}], "dataset": dataset}]
    ok(http.post(f"{API}/runs/log-inputs", json={"run_id": run_id, "datasets": inputs}))
    ok(http.post(f"{API}/runs/log-inputs", json={"run_id": run_id, "datasets": inputs}))
    logged = get_run(http, run_id)["inputs"]["dataset_inputs"]
    assert logged == inputs  # the same dataset twice is one input
    no_digest = [{"dataset": {**dataset, "digest": ""}}]
    refused(http.post(f"{API}/runs/log-inputs", json={"run_id": run_id, "datasets": no_digest}))
    long = [{"dataset": {**dataset, "name": "other", "digest": "x" * 37}}]
    refused(http.post(f"{API}/runs/log-inputs", json={"run_id": run_id, "datasets": long}))
    assert len(get_run(http, run_id)["inputs"]["dataset_inputs"]) == 1


def test_runs_are_searched_filtered_ordered_and_paged(http: TestClient) -> None:
    runs = [new_run(http, start=i) for i in range(1, 5)]
    for i, run_id in enumerate(runs):
        batch = {
            "run_id": run_id,
            "metrics": [{"key": "acc", "value": 0.5 + i / 10, "timestamp": 1, "step": 0}],
            "params": [{"key": "depth", "value": str(i)}],
            "tags": [{"key": "kind", "value": "even" if i % 2 == 0 else "odd"}],
        }
        ok(http.post(f"{API}/runs/log-batch", json=batch))
    exp = ok(http.get(f"{API}/experiments/get-by-name", params={"experiment_name": "train"}))
    exp_id = exp["experiment"]["experiment_id"]

    def search(**body: Any) -> dict[str, Any]:
        return ok(http.post(f"{API}/runs/search", json={"experiment_ids": [exp_id], **body}))

    def ids(found: dict[str, Any]) -> list[str]:
        return [r["info"]["run_id"] for r in found.get("runs", [])]

    assert ids(search()) == runs[::-1]  # newest start first
    assert ids(search(filter="metrics.acc > 0.65")) == [runs[3], runs[2]]
    assert ids(search(filter="params.depth = '1' and tags.kind = 'odd'")) == [runs[1]]
    assert ids(search(filter="tags.kind LIKE 'ev%'", order_by=["metrics.acc ASC"])) == [
        runs[0],
        runs[2],
    ]
    assert ids(search(filter=f"attributes.run_id IN ('{runs[0]}', '{runs[3]}')")) == [
        runs[3],
        runs[0],
    ]
    first = search(max_results=3, order_by=["params.depth"])
    rest = search(max_results=3, order_by=["params.depth"], page_token=first["next_page_token"])
    assert ids(first) + ids(rest) == runs and "next_page_token" not in rest
    ok(http.post(f"{API}/runs/delete", json={"run_id": runs[0]}))
    assert runs[0] not in ids(search())
    assert ids(search(run_view_type="DELETED_ONLY")) == [runs[0]]
    tag = {"run_id": runs[0], "key": "late", "value": "x"}
    assert "must be in the 'active' state" in refused(http.post(f"{API}/runs/set-tag", json=tag))
    ok(http.post(f"{API}/runs/restore", json={"run_id": runs[0]}))
    assert len(ids(search(run_view_type="ALL"))) == 4


def test_a_filter_mlflow_cannot_read_is_refused(http: TestClient) -> None:
    new_run(http)
    for bad in ("metrics.acc > 'high'", "params.depth > 2", "bogus.x = 'a'", "metrics.acc >"):
        body = {"experiment_ids": ["1"], "filter": bad}
        refused(http.post(f"{API}/runs/search", json=body))
    refused(http.post(f"{API}/runs/search", json={"experiment_ids": ["1"], "order_by": ["x y z"]}))


def test_experiments_are_searched_and_renamed(http: TestClient) -> None:
    # MLflow's "Default" experiment (0) takes runs when a script sets no experiment.
    run = ok(http.post(f"{API}/runs/create", json={"experiment_id": "0", "start_time": 1}))
    assert run["run"]["info"]["experiment_id"] == "0"
    for name in ("alpha", "beta"):
        ok(http.post(f"{API}/experiments/create", json={"name": name}))
    found = ok(http.post(f"{API}/experiments/search", json={"filter": "name LIKE 'a%'"}))
    assert [e["name"] for e in found["experiments"]] == ["alpha"]
    every = ok(http.post(f"{API}/experiments/search", json={"order_by": ["name ASC"]}))
    assert [e["name"] for e in every["experiments"]] == ["Default", "alpha", "beta"]
    alpha = found["experiments"][0]["experiment_id"]
    ok(http.post(f"{API}/experiments/update", json={"experiment_id": alpha, "new_name": "gamma"}))
    got = ok(http.get(f"{API}/experiments/get", params={"experiment_id": alpha}))
    assert got["experiment"]["name"] == "gamma"
    taken = http.post(
        f"{API}/experiments/update", json={"experiment_id": alpha, "new_name": "beta"}
    )
    refused(taken, "RESOURCE_ALREADY_EXISTS")


def test_a_point_logged_again_is_kept_once(http: TestClient) -> None:
    run_id = new_run(http)
    point = {"key": "acc", "value": 0.5, "timestamp": 7, "step": 1}
    ok(http.post(f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": [point, point]}))
    ok(http.post(f"{API}/runs/log-metric", json={"run_id": run_id, **point}))
    history = {"run_id": run_id, "metric_key": "acc"}
    assert len(ok(http.get(f"{API}/metrics/get-history", params=history))["metrics"]) == 1


def register_from_run(http: TestClient, run_id: str, name: str) -> None:
    """A logged model of the run with one file, registered as MLflow's client registers it."""
    exp = get_run(http, run_id)["info"]["experiment_id"]
    body = {"experiment_id": exp, "name": "model", "source_run_id": run_id}
    model = ok(http.post(f"{API}/logged-models", json=body))["model"]["info"]
    root = model["artifact_uri"].removeprefix("mlflow-artifacts:/")
    put = http.put(f"/api/2.0/mlflow-artifacts/artifacts/{root}/MLmodel", content=b"flavors: {}\n")
    assert put.status_code == 200
    ok(http.post(f"{API}/registered-models/create", json={"name": name}))
    create = {"name": name, "source": f"models:/{model['model_id']}", "model_id": model["model_id"]}
    ok(http.post(f"{API}/model-versions/create", json=create))


def test_a_version_from_a_run_carries_its_data_and_takes_its_final_metrics_at_its_end(
    http: TestClient,
) -> None:
    run_id = new_run(http)
    batch = {
        "run_id": run_id,
        "metrics": [
            {"key": "acc", "value": 0.7, "timestamp": 1, "step": 0},
            {"key": "acc", "value": 0.8, "timestamp": 2, "step": 1},
            {"key": "loss", "value": "NaN", "timestamp": 2, "step": 1},
        ],
        "params": [{"key": "depth", "value": "3"}],
        "tags": [
            {
                "key": "mlflow.source.git.commit",
                "value": "9fceb02d0ae598e95dc970b74767f19372d61af8",
            },
            {"key": "mlflow.source.name", "value": "train.py"},
        ],
    }
    ok(http.post(f"{API}/runs/log-batch", json=batch))
    dataset = {"name": "d", "digest": "abc123", "source_type": "code", "source": "{}"}
    inputs = [{"dataset": dataset, "tags": [{"key": "mlflow.data.context", "value": "eval"}]}]
    ok(http.post(f"{API}/runs/log-inputs", json={"run_id": run_id, "datasets": inputs}))
    register_from_run(http, run_id, "from-run")
    version = ok(http.get("/api/v1/models/default/from-run/versions/1"))
    assert version["params"] == {"depth": "3"}
    assert version["metrics"] == {"acc": 0.8}  # the latest; NaN has no place in Cairn's metrics
    provenance = version["provenance"]
    assert provenance["run"]["id"] == run_id
    assert provenance["code"] == {
        "commit": "9fceb02d0ae598e95dc970b74767f19372d61af8",
        "path": "train.py",
    }
    assert provenance["datasets"] == [
        {"uri": "mlflow-dataset:d", "digest": "mlflow:abc123", "role": "eval"}
    ]

    # Logged after the registration, while the run runs: the version takes it when it ends,
    # keeping what it has; a param logged later joins it too.
    late = {"run_id": run_id, "key": "f1", "value": 0.6, "timestamp": 3, "step": 2}
    ok(http.post(f"{API}/runs/log-metric", json=late))
    ok(http.post(f"{API}/runs/log-metric", json={**late, "key": "acc", "value": 0.9}))
    ok(http.post(f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "lr", "value": "1"}))
    assert ok(http.get("/api/v1/models/default/from-run/versions/1"))["metrics"] == {"acc": 0.8}
    end = {"run_id": run_id, "status": "FINISHED", "end_time": 9}
    ok(http.post(f"{API}/runs/update", json=end))
    version = ok(http.get("/api/v1/models/default/from-run/versions/1"))
    assert version["metrics"] == {"acc": 0.8, "f1": 0.6}
    assert version["params"] == {"depth": "3", "lr": "1"}
    assert version["provenance"] == provenance  # the provenance never changes
    checks = ok(http.get("/api/v1/models/default/from-run/versions/1/validations"))["items"]
    assert [c["name"] for c in checks].count("completeness") == 2
    # A run that ended already changes no version.
    ok(http.post(f"{API}/runs/log-metric", json={**late, "key": "after", "timestamp": 10}))
    ok(http.post(f"{API}/runs/update", json={**end, "status": "KILLED"}))
    assert "after" not in ok(http.get("/api/v1/models/default/from-run/versions/1"))["metrics"]


def test_experiments_are_deleted_and_restored_with_their_runs_and_tagged(
    http: TestClient,
) -> None:
    run_id = new_run(http, "gone")
    exp_id = get_run(http, run_id)["info"]["experiment_id"]
    tag = {"experiment_id": exp_id, "key": "project", "value": "fraud"}
    ok(http.post(f"{API}/experiments/set-experiment-tag", json=tag))
    got = ok(http.get(f"{API}/experiments/get", params={"experiment_id": exp_id}))["experiment"]
    assert pairs(got["tags"]) == {"project": "fraud"}
    untag = {"experiment_id": exp_id, "key": "project"}
    ok(http.post(f"{API}/experiments/delete-experiment-tag", json=untag))
    refused(
        http.post(f"{API}/experiments/delete-experiment-tag", json=untag),
        "RESOURCE_DOES_NOT_EXIST",
    )
    refused(http.post(f"{API}/experiments/set-experiment-tag", json={**tag, "value": "x" * 20001}))

    ok(http.post(f"{API}/experiments/delete", json={"experiment_id": exp_id}))
    assert get_run(http, run_id)["info"]["lifecycle_stage"] == "deleted"
    deleted = {"view_type": "DELETED_ONLY"}
    found = ok(http.post(f"{API}/experiments/search", json=deleted))["experiments"]
    assert [e["name"] for e in found] == ["gone"]
    more = http.post(f"{API}/runs/create", json={"experiment_id": exp_id, "start_time": 2})
    assert "must be in the 'active' state" in refused(more)
    refused(http.post(f"{API}/experiments/set-experiment-tag", json=tag))
    ok(http.post(f"{API}/experiments/restore", json={"experiment_id": exp_id}))
    assert get_run(http, run_id)["info"]["lifecycle_stage"] == "active"
