"""MLflow's filter grammar read into clauses and built into Cairn's filter tree, no text between."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cairn.domain.filters import And, Compare, Field, Node, parse_filter
from cairn.domain.mlflow_filters import Clause, matches, parse_mlflow_filter, to_tree
from cairn.errors import InvalidFilter

RM = frozenset({"name", "tag"})
MV = frozenset({"name", "tag", "run_id", "source_path", "version_number"})


@pytest.mark.parametrize(
    ("text", "fields", "cairn"),
    [
        ("name = 'Fraud'", RM, "name = 'Fraud'"),
        ('name != "m1"', RM, "name != 'm1'"),
        ("name LIKE 'm%'", RM, "name LIKE 'm%'"),
        ("tag.`mlflow.prompt.is_prompt` != 'true'", RM, "tags.`mlflow.prompt.is_prompt` != 'true'"),
        (
            "name LIKE 'm%' AND tag.`mlflow.prompt.is_prompt` != 'true'",
            RM,
            "name LIKE 'm%' AND tags.`mlflow.prompt.is_prompt` != 'true'",
        ),
        ("version_number >= 2 AND name='m'", MV, "number >= 2 AND name = 'm'"),
        ("version_number IN (1, '2')", MV, "number IN (1, 2)"),
        ("attributes.name = 'x'", MV, "name = 'x'"),
        ("tag.k = 'it\\'s'", MV, 'tags.k = "it\'s"'),
        ('tag.k = "say \\"hi\\""', MV, "tags.k = 'say \"hi\"'"),
        ("tag.k = 'a\\\\b'", MV, "tags.k = 'a\\\\b'"),
        # In LIKE, MLflow's backslash is a literal backslash; % and _ stay wildcards.
        ("name LIKE 'a\\\\b%'", RM, "name LIKE 'a\\\\b%'"),
        ("tag.`odd key` = 'v'", RM, "tags.`odd key` = 'v'"),
    ],
)
def test_filters_become_the_tree_cairn_s_own_filter_parses_to(
    text: str, fields: frozenset[str], cairn: str
) -> None:
    """The same tree, but exact: MLflow's =, != and LIKE tell upper from lower case."""
    assert to_tree(parse_mlflow_filter(text, fields)) == _exactly(parse_filter(cairn))


def test_ilike_is_cairn_s_own_like_which_ignores_case() -> None:
    tree = to_tree(parse_mlflow_filter("name ILIKE '%Od_'", RM))
    assert tree == parse_filter("name LIKE '%Od_'")
    assert tree == Compare(Field("name"), "like", "%Od_", exact=False)


def _exactly(node: Node | None) -> Node | None:
    if isinstance(node, Compare):
        return replace(node, exact=True)
    if isinstance(node, And):
        return And(tuple(_exactly(n) for n in node.items))  # type: ignore[misc]
    return node


def test_quotes_in_a_value_stay_inside_that_value() -> None:
    """What would break out of a quoted literal, were the filter written as text, is data."""
    hostile = "x' OR name != '"
    tree = to_tree(parse_mlflow_filter(f'name = "{hostile}"', RM))
    assert tree == Compare(Field("name"), "=", hostile, exact=True)
    tag = to_tree(parse_mlflow_filter("tag.k = '\\') OR (1 = 1'", RM))
    assert tag == Compare(Field("tag", "k"), "=", "') OR (1 = 1", exact=True)


def test_the_scope_comes_first_and_no_clause_is_no_tree() -> None:
    scope = Compare(Field("namespace"), "=", "mlflow")
    assert to_tree([], scope) == scope
    assert to_tree([]) is None
    assert to_tree(parse_mlflow_filter("name = 'm'", MV), scope) == And(
        (scope, Compare(Field("name"), "=", "m", exact=True))
    )


def test_run_id_and_source_path_are_checked_on_each_result() -> None:
    clauses = parse_mlflow_filter("name = 'm' AND run_id IN ('a', 'b')", MV)
    assert to_tree(clauses) == Compare(Field("name"), "=", "m", exact=True)
    assert matches(clauses, {"run_id": "b"})
    assert not matches(clauses, {"run_id": "c"})
    like = parse_mlflow_filter("source_path LIKE 'models:/%'", MV)
    assert matches(like, {"source_path": "models:/m-1"})
    assert not matches(like, {"source_path": "runs:/r/model"})
    assert to_tree(like) is None


@pytest.mark.parametrize(
    "text",
    [
        "bogus ~~ 1",
        "bogus = 'x'",
        "run_id = 'x'",  # not a registered-model field
        "name",
        "name =",
        "name = 'a' OR name = 'b'",
        "name > 'a'",
        "name = 3",
        "tags.team = 'a''",
        "attributes.name = 'x' and tag.k LIKE 'it''s'",
        "version_number = 'x'",
        "version_number = 99999999999999999999999",
        "tag. = 'x'",
        "x" * 5000,
        "name = 'a\x00'",
        "tag.`k\x00` = 'a'",
        "tag.`k\x07` = 'a'",
        f"tag.`{'k' * 251}` = 'a'",
        " AND ".join(["name = 'a'"] * 65),
        "name = 'a' AND",
        "name = 'a\\",
    ],
)
def test_what_mlflow_s_grammar_does_not_say_is_refused(text: str) -> None:
    with pytest.raises(InvalidFilter):
        parse_mlflow_filter(text, RM)


def test_in_lists_hold_at_most_a_hundred_values() -> None:
    values = ", ".join(str(n) for n in range(1, 102))
    with pytest.raises(InvalidFilter):
        parse_mlflow_filter(f"version_number IN ({values})", MV)
    assert parse_mlflow_filter(f"version_number IN ({values.rpartition(',')[0]})", MV)


def test_names_keep_their_case() -> None:
    clauses = parse_mlflow_filter("name = 'Model'", frozenset())
    assert clauses == [Clause("name", None, "=", "Model")]
