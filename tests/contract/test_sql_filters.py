"""Compiled filters against real databases: every filter returns the same rows on each dialect.

The corpus is small and written with Core inserts; each case names the exact set of versions
(or models) a filter must return. The search queries are built as the services build them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, false, inspect, select, text
from sqlalchemy.engine import make_url

from cairn.domain.filters import Compare, Field, Node, parse_filter
from cairn.errors import InvalidFilter
from cairn.storage.sql import tables
from cairn.storage.sql.filters import compile_model_filter, compile_version_filter
from cairn.storage.sql.tables import aliases, models, namespaces, versions

DIALECTS = ["sqlite", "postgresql"]
# The same server the shared fixtures use; this module makes its own scratch database on it.
POSTGRES = os.environ.get("CAIRN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
INJECTION = "' OR 1=1 --"

# Names and aliases keep their spelling: "Fraud-Model" and "@Champion" are stored so.
FM1, FM2, FM3 = ("Fraud-Model", 1), ("Fraud-Model", 2), ("Fraud-Model", 3)
CH1, FV1 = ("churn", 1), ("fraud_v2", 1)
ALL = {FM1, FM2, FM3, CH1, FV1}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


NAMESPACES = [(1, "research"), (2, "prod-ml")]
# id, namespace, name, owner, description, created, updated, deleted, tags
MODELS: list[tuple[Any, ...]] = [
    (
        1,
        1,
        "Fraud-Model",
        "alice",
        "Detects FRAUD",
        "2023-11-01",
        "2024-06-15",
        False,
        {"team": "risk"},
    ),
    (2, 1, "churn", "bob", "Who leaves", "2024-01-05", "2024-02-01", False, {"my key": "x"}),
    (
        3,
        2,
        "fraud_v2",
        "carol",
        "Second fraud",
        "2024-02-20",
        "2024-02-20",
        False,
        {"team": INJECTION},
    ),
    (4, 1, "gone", "alice", "Deleted", "2023-01-01", "2023-01-01", True, {"team": "risk"}),
]
# id, model, number, state, author, description, created, updated, metrics, params, tags, alias
VERSIONS: list[tuple[Any, ...]] = [
    (1, 1, 1, "archived", "alice", "1000 runs, recall rate", "2024-01-10", "2024-01-10",
     {"auc": 0.81, "loss": 0.5}, {"lr": "0.01", "optimizer": "adam"}, {"stage": "old"}, None),
    (2, 1, 2, "production", "bob", "100% recall_rate", "2024-03-01T12:00", "2024-06-01",
     {"auc": 0.93, "précision": 0.9}, {"lr": "0.001", "use_bn": "true"},
     {"stage": "candidate", "env name": "a b"}, "Champion"),
    (3, 1, 3, "staging", "alice", "C:\\path\\to", "2024-06-15", "2024-06-15",
     {}, {}, {"note": INJECTION}, "challenger"),
    (4, 2, 1, "registered", "Bob", "Ünïcode", "2024-02-01", "2024-02-01",
     {"auc": 0.9}, {"lr": "0.1"}, {"stage": "candidate"}, None),
    (5, 3, 1, "production", "carol", 'quote " and %', "2024-02-20", "2024-02-20",
     {"auc": 0.95, 'a"b': 1.0}, {"optimizer": "sgd"}, {}, "champion"),
    (6, 4, 1, "production", "alice", "100% gone", "2024-03-01", "2024-03-01",
     {"auc": 0.99}, {"lr": "0.01"}, {"stage": "candidate"}, "champion"),
]  # fmt: skip


def _insert_corpus(engine: Engine) -> None:
    tables.metadata.create_all(engine)
    with engine.begin() as conn:
        for ns_id, name in NAMESPACES:
            created = at("2023-01-01")
            conn.execute(
                namespaces.insert(), {"id": ns_id, "name": name, "key": name, "created_at": created}
            )
        for mid, ns_id, name, owner, description, created, updated, deleted, tags in MODELS:
            conn.execute(
                models.insert(),
                {"id": mid, "namespace_id": ns_id, "name": name, "key": name.lower(),
                 "owner": owner, "description": description, "deleted": deleted, "next_number": 9,
                 "created_at": at(created), "updated_at": at(updated)},
            )  # fmt: skip
            for key, value in tags.items():
                conn.execute(
                    tables.model_tags.insert(), {"model_id": mid, "key": key, "value": value}
                )
        for row in VERSIONS:
            _insert_version(conn, *row)


def _insert_version(
    conn: Any, vid: int, mid: int, number: int, state: str, author: str, description: str,
    created: str, updated: str, metrics: dict[str, float], params: dict[str, str],
    tags: dict[str, str], alias: str | None,
) -> None:  # fmt: skip
    conn.execute(
        versions.insert(),
        {"id": vid, "model_id": mid, "number": number, "manifest_digest": f"sha256:{vid:064x}",
         "size": 1, "file_count": 1, "state": state, "description": description, "author": author,
         "provenance": {}, "io_schema": {}, "metrics": metrics, "params": params,
         "completeness": 1.0, "missing_fields": [], "created_at": at(created),
         "updated_at": at(updated)},
    )  # fmt: skip
    for key, value in tags.items():
        conn.execute(tables.version_tags.insert(), {"version_id": vid, "key": key, "value": value})
    if alias:
        conn.execute(
            aliases.insert(),
            {"model_id": mid, "name": alias, "key": alias.lower(), "version_id": vid,
             "updated_by": author, "updated_at": at(updated)},
        )  # fmt: skip


@pytest.fixture(scope="module", params=DIALECTS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("filters") / "cairn.db"
        engine = create_engine(f"sqlite:///{path}")
        _insert_corpus(engine)
        yield engine
        engine.dispose()
        return
    name = f"cairn_filters_{uuid.uuid4().hex}"
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(make_url(POSTGRES).set(database=name))
    try:
        _insert_corpus(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _node(filter_text: str) -> Node:
    node = parse_filter(filter_text)
    assert node is not None
    return node


def versions_matching(engine: Engine, filter_text: str) -> set[tuple[str, int]]:
    query = (
        select(models.c.name, versions.c.number)
        .select_from(
            versions.join(models, models.c.id == versions.c.model_id).join(
                namespaces, namespaces.c.id == models.c.namespace_id
            )
        )
        .where(models.c.deleted == false(), compile_version_filter(_node(filter_text)))
    )
    with engine.connect() as conn:
        return {(name, number) for name, number in conn.execute(query)}


def models_matching(engine: Engine, filter_text: str) -> set[str]:
    query = (
        select(models.c.name)
        .select_from(models.join(namespaces, namespaces.c.id == models.c.namespace_id))
        .where(models.c.deleted == false(), compile_model_filter(_node(filter_text)))
    )
    with engine.connect() as conn:
        return set(conn.scalars(query))


VERSION_CASES: list[tuple[str, set[tuple[str, int]]]] = [
    # names and aliases, case-insensitively (they keep their spelling, unique whatever the case)
    ("name = 'fraud-model'", {FM1, FM2, FM3}),
    ("NAME == 'Fraud-Model'", {FM1, FM2, FM3}),
    ("namespace = 'prod-ml'", {FV1}),
    ("namespace != 'prod-ml'", {FM1, FM2, FM3, CH1}),
    ("name IN ('churn', 'FRAUD_V2')", {CH1, FV1}),
    ("name LIKE 'fraud_%'", {FM1, FM2, FM3, FV1}),
    ("name LIKE 'fraud\\_%'", {FV1}),
    ("name NOT LIKE 'FRAUD%'", {CH1}),
    # number, every operator
    ("number = 2", {FM2}),
    ("number != 1", {FM2, FM3}),
    ("number < 2", {FM1, CH1, FV1}),
    ("number <= 2", {FM1, FM2, CH1, FV1}),
    ("number > 2", {FM3}),
    ("number >= 2", {FM2, FM3}),
    ("number IN (1, 3)", {FM1, FM3, CH1, FV1}),
    ("number NOT IN (1)", {FM2, FM3}),
    # state and alias
    ("state = 'production'", {FM2, FV1}),
    ("state = 'PRODUCTION'", {FM2, FV1}),
    ("state != 'production'", {FM1, FM3, CH1}),
    ("state IN ('staging', 'registered')", {FM3, CH1}),
    ("state NOT IN ('archived')", ALL - {FM1}),
    ("alias = 'Champion'", {FM2, FV1}),
    ("alias != 'champion'", {FM1, FM3, CH1}),
    ("alias IN ('challenger', 'nobody')", {FM3}),
    ("alias LIKE 'ch%'", {FM2, FM3, FV1}),
    ("alias NOT LIKE 'ch%'", {FM1, CH1}),
    # text: = is exact, LIKE folds ASCII letters only, the same on both dialects
    ("author = 'bob'", {FM2}),
    ("author LIKE 'BOB'", {FM2, CH1}),
    ("owner = 'alice'", {FM1, FM2, FM3}),
    ("owner IN ('bob', 'carol')", {CH1, FV1}),
    ("description LIKE '%RECALL%'", {FM1, FM2}),
    ("description LIKE '100%'", {FM1, FM2}),
    ("description LIKE '100\\%%'", {FM2}),
    ("description LIKE '%recall_rate'", {FM1, FM2}),
    ("description LIKE '%recall\\_rate'", {FM2}),
    ("description LIKE 'c:\\\\path%'", {FM3}),
    ("description = 'C:\\\\path\\\\to'", {FM3}),
    ("description LIKE 'Ünï%'", {CH1}),
    ("description LIKE 'ünï%'", set()),
    ("description LIKE '%\"%'", {FV1}),
    ('description = "quote \\" and %"', {FV1}),
    # tags: EXISTS; an absent tag compares false, and != is NOT =
    ("tags.stage = 'candidate'", {FM2, CH1}),
    ("tag.stage = 'Candidate'", set()),
    ("tags.stage != 'candidate'", {FM1, FM3, FV1}),
    ("tags.stage IN ('old', 'x')", {FM1}),
    ("tags.stage NOT IN ('old')", ALL - {FM1}),
    ("tags.stage LIKE 'CAND%'", {FM2, CH1}),
    ("tags.stage NOT LIKE 'cand%'", {FM1, FM3, FV1}),
    ("has(tags.stage)", {FM1, FM2, CH1}),
    ("NOT has(tags.stage)", {FM3, FV1}),
    ("tags.`env name` = 'a b'", {FM2}),
    # metrics: numbers; an absent metric compares false and NOT is a plain complement
    ("metrics.auc = 0.93", {FM2}),
    ("metrics.auc != 0.93", ALL - {FM2}),
    ("metrics.auc < 0.9", {FM1}),
    ("metrics.auc <= 0.9", {FM1, CH1}),
    ("metrics.auc > 0.9", {FM2, FV1}),
    ("metrics.auc >= 0.9", {FM2, CH1, FV1}),
    ("NOT metrics.auc > 0.9", {FM1, FM3, CH1}),
    ("metrics.auc IN (0.81, 0.95)", {FM1, FV1}),
    ("metrics.auc NOT IN (0.81)", ALL - {FM1}),
    ("metric.auc > 0", {FM1, FM2, CH1, FV1}),
    ("metrics.nope > 0 OR NOT metrics.nope > 0", ALL),
    ("metrics.`précision` >= 0.9", {FM2}),
    ('metrics.`a"b` = 1', {FV1}),
    ("has(metrics.auc)", {FM1, FM2, CH1, FV1}),
    ("has(metrics.loss)", {FM1}),
    # params: text; numbers as Cairn writes them, true/false as 'true'/'false'
    ("params.lr = 0.01", {FM1}),
    ("params.lr = 1e-3", {FM2}),
    ("params.lr = '0.1'", {CH1}),
    ("params.lr != '0.1'", ALL - {CH1}),
    ("params.use_bn = true", {FM2}),
    ("params.use_bn = false", set()),
    ("params.optimizer IN ('adam', 'sgd')", {FM1, FV1}),
    ("params.optimizer NOT LIKE 'A%'", ALL - {FM1}),
    ("has(params.lr)", {FM1, FM2, CH1}),
    ("NOT has(params.lr)", {FM3, FV1}),
    # dates: UTC instants; a bare date is midnight UTC
    ("created >= '2024-03-01'", {FM2, FM3}),
    ("created > '2024-02-01'", {FM2, FM3, FV1}),
    ("created < '2024-03-01T13:00:00+01:00'", {FM1, CH1, FV1}),
    ("created <= '2024-03-01T13:00:00+01:00'", {FM1, FM2, CH1, FV1}),
    ("updated > '2024-05-31T23:59:59Z'", {FM2, FM3}),
    # precedence: AND binds tighter than OR; parentheses and NOT
    ("state = 'production' OR state = 'staging' AND name = 'churn'", {FM2, FV1}),
    ("(state = 'production' OR state = 'staging') AND name = 'fraud-model'", {FM2, FM3}),
    ("NOT (tags.stage = 'candidate' OR metrics.auc > 0.9)", {FM1, FM3}),
    ("NOT NOT state = 'archived'", {FM1}),
    # values that look like SQL are inert
    ("tags.note = '\\' OR 1=1 --'", {FM3}),
    ("name = '\\' OR 1=1 --'", set()),
    ("tags.`' OR 1=1 --` = 'x'", set()),
    ("metrics.`') OR 1=1 --` > 0", set()),
    ("params.`lr'); DROP TABLE versions; --` = '1'", set()),
    ('description LIKE "%\' OR 1=1 --%"', set()),
]

MODEL_CASES: list[tuple[str, set[str]]] = [
    ("tags.team = 'risk'", {"Fraud-Model"}),
    ("tags.team != 'risk'", {"churn", "fraud_v2"}),
    ("tags.`my key` = 'x'", {"churn"}),
    ("name LIKE 'fraud%'", {"Fraud-Model", "fraud_v2"}),
    ("namespace = 'research' AND NOT has(tags.team)", {"churn"}),
    ("owner != 'alice'", {"churn", "fraud_v2"}),
    ("description LIKE '%fraud%'", {"Fraud-Model", "fraud_v2"}),
    ("created < '2024-01-01'", {"Fraud-Model"}),
    ("updated >= '2024-02-01' AND updated < '2024-03-01'", {"churn", "fraud_v2"}),
    ("tags.team = '\\' OR 1=1 --'", {"fraud_v2"}),
]


@pytest.mark.parametrize(("filter_text", "expected"), VERSION_CASES)
def test_a_version_filter_returns_exactly_its_versions(
    engine: Engine, filter_text: str, expected: set[tuple[str, int]]
) -> None:
    assert versions_matching(engine, filter_text) == expected


@pytest.mark.parametrize(("filter_text", "expected"), MODEL_CASES)
def test_a_model_filter_returns_exactly_its_models(
    engine: Engine, filter_text: str, expected: set[str]
) -> None:
    assert models_matching(engine, filter_text) == expected


# MLflow's comparisons (cairn.domain.mlflow_filters): exact, unless ILIKE (a folded like).
EXACT_CASES: list[tuple[Node, set[tuple[str, int]]]] = [
    (Compare(Field("name"), "=", "Fraud-Model", exact=True), {FM1, FM2, FM3}),
    (Compare(Field("name"), "=", "fraud-model", exact=True), set()),
    (Compare(Field("name"), "!=", "fraud-model", exact=True), ALL),
    (Compare(Field("name"), "like", "Fraud%", exact=True), {FM1, FM2, FM3}),
    (Compare(Field("name"), "like", "fraud%", exact=True), {FV1}),
    (Compare(Field("name"), "like", "fraud\\_%", exact=True), {FV1}),
    (Compare(Field("name"), "like", "fraud_v_", exact=True), {FV1}),
    (Compare(Field("name"), "like", "fraud%"), {FM1, FM2, FM3, FV1}),
    (Compare(Field("alias"), "=", "Champion", exact=True), {FM2}),
    (Compare(Field("alias"), "=", "champion"), {FM2, FV1}),
    (Compare(Field("tag", "stage"), "like", "Cand%", exact=True), set()),
    (Compare(Field("tag", "stage"), "like", "cand%", exact=True), {FM2, CH1}),
    (Compare(Field("description"), "like", "%[*?]%", exact=True), set()),
    (Compare(Field("description"), "like", "C:\\\\path%", exact=True), {FM3}),
    (Compare(Field("description"), "like", "100\\%%", exact=True), {FM2}),
]


@pytest.mark.parametrize(("node", "expected"), EXACT_CASES)
def test_an_exact_comparison_tells_upper_from_lower_case(
    engine: Engine, node: Node, expected: set[tuple[str, int]]
) -> None:
    query = (
        select(models.c.name, versions.c.number)
        .select_from(
            versions.join(models, models.c.id == versions.c.model_id).join(
                namespaces, namespaces.c.id == models.c.namespace_id
            )
        )
        .where(models.c.deleted == false(), compile_version_filter(node))
    )
    with engine.connect() as conn:
        assert {(name, number) for name, number in conn.execute(query)} == expected


def test_filters_of_one_shape_keep_their_own_keys(engine: Engine) -> None:
    # SQLAlchemy reuses compiled SQL for statements of the same shape; a key baked into it
    # would answer the second filter with the first one's key.
    for _ in range(2):
        assert versions_matching(engine, "metrics.auc = 0.93") == {FM2}
        assert versions_matching(engine, "metrics.loss = 0.5") == {FM1}
        assert versions_matching(engine, "params.optimizer = 'sgd'") == {FV1}
        assert versions_matching(engine, "params.use_bn = 'true'") == {FM2}
        assert versions_matching(engine, "has(metrics.loss)") == {FM1}
        assert versions_matching(engine, "has(metrics.auc)") == {FM1, FM2, CH1, FV1}


def test_the_injection_attempts_left_every_table_in_place(engine: Engine) -> None:
    versions_matching(engine, "params.`lr'); DROP TABLE versions; --` = '1'")
    assert set(tables.metadata.tables) <= set(inspect(engine).get_table_names())
    assert versions_matching(engine, "number >= 1") == ALL


def test_values_and_keys_travel_as_bound_parameters(engine: Engine) -> None:
    node = _node(f"tags.`{INJECTION}` = '\\{INJECTION}' AND metrics.`{INJECTION}` > 1")
    compiled = compile_version_filter(node).compile(dialect=engine.dialect)
    assert "1=1" not in str(compiled)
    assert INJECTION in compiled.params.values()


@pytest.mark.parametrize(
    ("filter_text", "position"),
    [("state = 'production'", 0), ("name = 'a' AND alias = 'x'", 15), ("has(params.lr)", 4)],
)
def test_a_model_filter_refuses_version_fields(filter_text: str, position: int) -> None:
    with pytest.raises(InvalidFilter) as info:
        compile_model_filter(_node(filter_text))
    assert info.value.details["position"] == position
