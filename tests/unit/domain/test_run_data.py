"""MLflow's rules for run data: keys, value limits, params written once, batch limits, the
latest metric per key, and dataset inputs."""

from __future__ import annotations

import math
from typing import Any

import pytest

from cairn.domain.run_data import (
    MetricPoint,
    batch_limits,
    check_key,
    dataset_input,
    latest_metrics,
    merged_inputs,
    metric_json,
    metric_point,
    new_params,
    param_pair,
    stored_point,
    tag_pair,
)
from cairn.errors import InvalidInput


@pytest.mark.parametrize("key", ["acc", "val/loss", "a b", "x:1", "é-1.2_3"])
def test_keys_mlflow_allows(key: str) -> None:
    assert check_key(key, "key") == key


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("", "Missing value"),
        (None, "Missing value"),
        ("a/../b", "resolve to"),
        ("/abs", "resolve to"),
        ("./a", "resolve to"),
        ("a//b", "resolve to"),
        ("semi;colon", "Names may only contain"),
        ("tab\there", "Names may only contain"),
        ("k" * 251, "exceeds the maximum length of 250"),
        (3, "Names may only contain"),
    ],
)
def test_keys_mlflow_refuses(key: object, why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        check_key(key, "key")


def test_value_limits_are_mlflows() -> None:
    assert param_pair("p", "v" * 6000) == ("p", "v" * 6000)
    with pytest.raises(InvalidInput, match="6000"):
        param_pair("p", "v" * 6001)
    assert tag_pair("t", "v" * 8000)[1] == "v" * 8000
    with pytest.raises(InvalidInput, match="8000"):
        tag_pair("t", "v" * 8001)
    with pytest.raises(InvalidInput, match="NUL"):
        tag_pair("t", "a\x00b")


def test_a_param_is_written_once() -> None:
    assert new_params("r", {"a": "1"}, {"a": "1", "b": "2"}) == {"b": "2"}
    with pytest.raises(InvalidInput, match="key='a' was already logged with value='1'"):
        new_params("r", {"a": "1"}, {"a": "2"})
    with pytest.raises(InvalidInput, match="Params were already logged"):
        new_params("r", {"a": "1", "b": "1"}, {"a": "2", "b": "2"})


@pytest.mark.parametrize(
    ("metrics", "params", "tags"),
    [(1001, 0, 0), (0, 101, 0), (0, 0, 101), (900, 100, 1)],
)
def test_batches_over_mlflows_limits_are_refused(metrics: int, params: int, tags: int) -> None:
    with pytest.raises(InvalidInput, match="A batch logging request can contain at most"):
        batch_limits(metrics, params, tags)


def test_batches_at_the_limits_pass() -> None:
    batch_limits(1000, 0, 0)
    batch_limits(800, 100, 100)


def test_metric_values_take_proto_jsons_non_finite_spellings() -> None:
    point = metric_point({"key": "a", "value": "NaN", "timestamp": "5"}, "")
    assert math.isnan(point.value) and point.timestamp == 5 and point.step == 0
    assert metric_point({"key": "a", "value": "-Infinity", "timestamp": 1}, "").value == -math.inf
    assert metric_json(math.nan) == "NaN" and metric_json(math.inf) == "Infinity"
    for bad in (
        {"value": "high"},
        {"value": True},
        {"value": None},
        {"value": 10**400},
        {"timestamp": -1},
        {"timestamp": 2**63},
        {"step": 1.5},
    ):
        with pytest.raises(InvalidInput):
            metric_point({"key": "a", "value": 1, "timestamp": 1, **bad}, "")


def test_the_latest_metric_has_the_highest_step_then_timestamp_then_value() -> None:
    points = [
        MetricPoint("a", 0.9, 10, 2),
        MetricPoint("a", 0.5, 99, 1),  # later, at an earlier step
        MetricPoint("a", 0.1, 10, 2),  # the same step and time, a smaller value
        MetricPoint("b", math.nan, 1, 0),
    ]
    latest = latest_metrics({}, points)
    assert stored_point("a", latest["a"]) == MetricPoint("a", 0.9, 10, 2)
    assert latest["b"]["value"] == "NaN"
    assert latest_metrics(latest, [MetricPoint("a", 0.2, 11, 2)])["a"]["value"] == 0.2


def test_dataset_inputs_have_mlflows_limits_and_are_kept_once() -> None:
    raw: dict[str, Any] = {
        "dataset": {"name": "d", "digest": "abc", "source_type": "code", "source": "{}"},
        "tags": [{"key": "mlflow.data.context", "value": "train"}],
    }
    found = dataset_input(raw, "datasets[0]")
    assert found.tags == {"mlflow.data.context": "train"} and found.schema == ""
    again = merged_inputs([found.to_dict()], [found])
    assert len(again) == 1
    for field, value in (("digest", "x" * 37), ("name", ""), ("source", None)):
        bad = {**raw, "dataset": {**raw["dataset"], field: value}}
        with pytest.raises(InvalidInput):
            dataset_input(bad, "datasets[0]")
    with pytest.raises(InvalidInput):
        dataset_input({**raw, "tags": [{"key": "k", "value": "v" * 501}]}, "datasets[0]")
