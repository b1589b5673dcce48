"""MLflow's run and experiment filters and ``order_by``: what they read, what they refuse,
and how records without a field match and sort."""

from __future__ import annotations

from typing import Any

import pytest

from cairn.domain.run_filters import (
    EXPERIMENT_FIELDS,
    RUN_FIELDS,
    matches,
    parse_filter,
    parse_order,
    sort,
)
from cairn.errors import InvalidFilter, InvalidInput

RUNS: list[dict[str, Any]] = [
    {"id": "a", "metric": {"acc": 0.9}, "param": {"lr": "0.1"}, "tag": {"t": "x"}},
    {"id": "b", "metric": {"acc": 0.5}, "param": {"lr": "0.2"}, "tag": {}},
    {"id": "c", "metric": {}, "param": {"lr": "0.1"}, "tag": {"t": "Xy"}},
]


def get(run: dict[str, Any], kind: str, key: str) -> Any:
    if kind == "attribute":
        return {"run_id": run["id"]}.get(key)
    return run[kind].get(key)


def found(text: str) -> list[str]:
    clauses = parse_filter(text, RUN_FIELDS)
    return [r["id"] for r in RUNS if matches(clauses, r, get)]


def test_filters_compare_metrics_as_numbers_and_the_rest_as_strings() -> None:
    assert found("metrics.acc > 0.6") == ["a"]
    assert found("metric.acc <= 0.9 AND params.lr = '0.1'") == ["a"]
    assert found("params.lr != '0.1'") == ["b"]
    assert found("tags.t LIKE 'x%'") == ["a"]
    assert found("tags.t ILIKE 'x%'") == ["a", "c"]
    assert found("attributes.run_id IN ('a', 'c')") == ["a", "c"]
    assert found("attributes.run_id NOT IN ('a')") == ["b", "c"]
    assert found('tags.`t` = "x"') == ["a"]
    assert found("metrics.acc >= 1e-1") == ["a", "b"]  # c has no acc: no match either way
    assert found("metrics.acc != 0.9") == ["b"]


@pytest.mark.parametrize(
    "text",
    [
        "metrics.acc > 'high'",
        "params.lr > '1'",
        "params.lr = 1",
        "nothing.x = 'a'",
        "attributes.bogus = 'a'",
        "metrics.acc >",
        "metrics.acc > 1 OR metrics.acc < 0",
        "tags.t IN ()",
        "metrics.acc > 1 AND",
        "a\x00b",
    ],
)
def test_filters_mlflow_cannot_read_are_refused(text: str) -> None:
    with pytest.raises(InvalidFilter):
        parse_filter(text, RUN_FIELDS)


def test_experiments_have_their_own_fields() -> None:
    assert parse_filter("name = 'x'", EXPERIMENT_FIELDS)[0].key == "name"
    with pytest.raises(InvalidFilter):
        parse_filter("metrics.acc > 1", EXPERIMENT_FIELDS)


def test_order_puts_records_without_the_field_last_both_ways() -> None:
    for direction in ("ASC", "DESC"):
        order = parse_order([f"metrics.acc {direction}"], RUN_FIELDS)
        ids = [r["id"] for r in sort(RUNS, order, get)]
        assert ids[-1] == "c"
        assert ids[:2] == (["b", "a"] if direction == "ASC" else ["a", "b"])
    order = parse_order(["params.lr", "attributes.run_id DESC"], RUN_FIELDS)
    assert [r["id"] for r in sort(RUNS, order, get)] == ["c", "a", "b"]
    with pytest.raises(InvalidInput):
        parse_order(["metrics.acc sideways"], RUN_FIELDS)
