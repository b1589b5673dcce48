"""MLflow's filter grammar read into clauses and rewritten in Cairn's filter language."""

from __future__ import annotations

import pytest

from cairn.domain.filters import parse_filter
from cairn.domain.mlflow_filters import Clause, matches, parse_mlflow_filter, to_cairn
from cairn.errors import InvalidFilter

RM = frozenset({"name", "tag"})
MV = frozenset({"name", "tag", "run_id", "source_path", "version_number"})


@pytest.mark.parametrize(
    ("text", "fields", "cairn"),
    [
        ("name = 'Fraud'", RM, "name = 'fraud'"),
        ('name != "m1"', RM, "name != 'm1'"),
        ("name LIKE 'm%'", RM, "name LIKE 'm%'"),
        ("name ILIKE '%Od_'", RM, "name LIKE '%Od_'"),
        ("tag.`mlflow.prompt.is_prompt` != 'true'", RM, "tags.`mlflow.prompt.is_prompt` != 'true'"),
        (
            "name LIKE 'm%' AND tag.`mlflow.prompt.is_prompt` != 'true'",
            RM,
            "name LIKE 'm%' AND tags.`mlflow.prompt.is_prompt` != 'true'",
        ),
        ("tags.team = 'a''", RM, None),
        ("version_number >= 2 AND name='m'", MV, "number >= 2 AND name = 'm'"),
        ("attributes.name = 'x' and tag.k LIKE 'it''s'", MV, None),
        ("tag.k = 'it\\'s'", MV, "tags.`k` = 'it\\'s'"),
    ],
)
def test_filters_become_cairn_filters(text: str, fields: frozenset[str], cairn: str | None) -> None:
    if cairn is None:
        with pytest.raises(InvalidFilter):
            parse_mlflow_filter(text, fields)
        return
    rendered = to_cairn(parse_mlflow_filter(text, fields))
    assert rendered == cairn
    assert parse_filter(rendered) is not None  # Cairn's own parser accepts what we say


def test_run_id_and_source_path_are_checked_on_each_result() -> None:
    clauses = parse_mlflow_filter("name = 'm' AND run_id IN ('a', 'b')", MV)
    assert to_cairn(clauses) == "name = 'm'"
    assert matches(clauses, {"run_id": "b"})
    assert not matches(clauses, {"run_id": "c"})
    like = parse_mlflow_filter("source_path LIKE 'models:/%'", MV)
    assert matches(like, {"source_path": "models:/m-1"})
    assert not matches(like, {"source_path": "runs:/r/model"})
    assert to_cairn(like) is None


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
        "version_number = 'x'",
        "tag. = 'x'",
        "x" * 5000,
    ],
)
def test_what_mlflow_s_grammar_does_not_say_is_refused(text: str) -> None:
    with pytest.raises(InvalidFilter):
        parse_mlflow_filter(text, RM)


def test_logged_model_names_keep_their_case() -> None:
    clauses = parse_mlflow_filter("name = 'Model'", frozenset(), fold_names=False)
    assert clauses == [Clause("name", None, "=", "Model")]
