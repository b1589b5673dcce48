"""The load test's shared parts: the operation mix both systems draw from, the recorder, the
side-by-side rows, and the scratch database (on the local PostgreSQL)."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from benchmarks.load_common import (
    CAIRN_ONLY,
    MIX,
    Mix,
    Recorder,
    compared_rate,
    quantile_ms,
    scratch_database,
    side_by_side_rows,
)

DRAWS = 40_000


def draw(mix: Mix) -> Counter[str]:
    rng = random.Random(7)
    return Counter(mix.pick(rng) for _ in range(DRAWS))


def test_the_mix_sums_to_one_and_draws_in_its_proportions() -> None:
    assert sum(weight for weight, _ in MIX) == pytest.approx(1.0)
    counts = draw(Mix())
    for weight, op in MIX:
        assert counts[op] / DRAWS == pytest.approx(weight, abs=0.01), op


def test_leaving_out_cairn_only_operations_keeps_the_others_proportions() -> None:
    counts = draw(Mix(leave_out=CAIRN_ONLY))
    assert not set(counts) & set(CAIRN_ONLY)
    kept = {op: weight for weight, op in MIX if op not in CAIRN_ONLY}
    total = sum(kept.values())
    for op, weight in kept.items():
        assert counts[op] / DRAWS == pytest.approx(weight / total, abs=0.01), op


def test_the_recorder_counts_failures_apart_from_durations() -> None:
    recorder = Recorder()
    recorder.timed("get", lambda: None)
    recorder.timed("get", lambda: 1 / 0)
    assert len(recorder.samples["get"]) == 1
    assert recorder.errors["get"] == ["ZeroDivisionError: division by zero"]
    assert recorder.error_count() == 1


def test_stats_give_nearest_rank_percentiles_in_milliseconds() -> None:
    recorder = Recorder()
    recorder.samples["get"] = [i / 1000 for i in range(100, 0, -1)]  # 1 … 100 ms, unsorted
    recorder.errors["get"] = ["boom"]
    s = recorder.stats("get", seconds=10)
    assert s is not None
    assert (s.ops, s.ops_per_s, s.errors) == (100, 10.0, 1)
    assert (s.p50_ms, s.p95_ms, s.p99_ms) == pytest.approx((51.0, 96.0, 100.0))
    assert quantile_ms([0.002], 0.99) == pytest.approx(2.0)
    assert recorder.stats("never", seconds=10) is None


def test_an_operation_that_only_failed_still_has_a_row() -> None:
    recorder = Recorder()
    recorder.timed("push small", lambda: 1 / 0)
    s = recorder.stats("push small", seconds=1)
    assert s is not None
    assert (s.ops, s.errors) == (0, 1)


def test_side_by_side_rows_compare_only_what_both_systems_do() -> None:
    cairn, mlflow = Recorder(), Recorder()
    cairn.samples["search"] = [0.01] * 60
    mlflow.samples["search"] = [0.03] * 20
    cairn.samples["promote staging"] = [0.02] * 10
    mlflow.samples["promote staging"] = [0.02] * 10  # would not be compared even if present
    cairn.samples["pull"] = [0.05] * 5  # MLflow did none
    rows = {
        op: (ours, theirs, ratio)
        for op, ours, theirs, ratio in side_by_side_rows(cairn, 10, mlflow, 10)
    }
    assert set(rows) == {"search", "promote staging", "pull"}  # in the mix, done by someone
    assert rows["search"][2] == pytest.approx(3.0)
    assert rows["promote staging"][1] is None and rows["promote staging"][2] is None
    assert rows["pull"][1] is None and rows["pull"][2] is None
    assert compared_rate(cairn, 10) == pytest.approx(6.5)  # search and pull, not promotions
    assert compared_rate(mlflow, 10) == pytest.approx(2.0)


def test_the_scratch_database_exists_inside_and_is_gone_after() -> None:
    with scratch_database("cairn_scratch_test") as url:
        name = make_url(url).database
        engine = create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_database()")).scalar() == name
        engine.dispose()
    admin = create_engine(make_url(url).set(database="postgres"))
    with admin.connect() as conn:
        found = conn.execute(
            text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": name}
        ).scalar()
    admin.dispose()
    assert found == 0
