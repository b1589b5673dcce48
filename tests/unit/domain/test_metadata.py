import math
from typing import Any

import pytest

from cairn.domain.metadata import (
    DEFAULT_REQUIRED_FIELDS,
    MAX_ENTRIES,
    check_required_fields,
    completeness,
    parse_io_schema,
    parse_metrics,
    parse_params,
    parse_provenance,
    parse_tags,
    parse_text,
)
from cairn.errors import InvalidMetadata, InvalidName
from tests.unit.domain.expect import raises_exactly

DIGEST = "sha256:" + "a" * 64

FULL_PROVENANCE: dict[str, Any] = {
    "code": {
        "repository": "https://git.example/fraud",
        "commit": "0123abc",
        "branch": "main",
        "dirty": False,
        "path": "train.py",
    },
    "datasets": [{"uri": "s3://bucket/train.parquet", "digest": DIGEST, "role": "train"}],
    "environment": {"python": "3.11.7", "platform": "linux", "packages": {"numpy": "1.26"}},
    "run": {"id": "r-1", "experiment": "e-1", "url": "https://runs.example/r-1"},
    "parents": [{"ref": "ns/base:3", "relation": "fine_tuned_from"}],
    "extra": {"notes": ["anything", 1, None]},
}


# --- provenance -------------------------------------------------------------------------------


def test_full_provenance_is_kept() -> None:
    assert parse_provenance(FULL_PROVENANCE) == FULL_PROVENANCE


def test_absent_provenance_is_empty() -> None:
    assert parse_provenance(None) == {}
    assert parse_provenance({}) == {}


def test_empty_and_default_provenance_fields_are_dropped() -> None:
    raw = {"code": {"commit": "abcdef0", "branch": None}, "parents": [{"ref": "ns/m:1"}]}
    assert parse_provenance(raw) == {"code": {"commit": "abcdef0"}, "parents": [{"ref": "ns/m:1"}]}


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"comit": {}}, "provenance.comit"),
        ({"code": {"commt": "abcdef0"}}, "provenance.code.commt"),
        ({"datasets": [{"uri": "x", "sha": DIGEST}]}, "provenance.datasets.0.sha"),
        ({"environment": {"pip": {}}}, "provenance.environment.pip"),
        ({"run": {"name": "r"}}, "provenance.run.name"),
        ({"parents": [{"ref": "ns/m:1", "why": "x"}]}, "provenance.parents.0.why"),
    ],
)
def test_an_unknown_provenance_key_is_refused(raw: dict[str, Any], field: str) -> None:
    with raises_exactly(InvalidMetadata) as info:
        parse_provenance(raw)
    assert info.value.details["field"] == field
    assert info.value.message.startswith(f"{field}: ")


@pytest.mark.parametrize(
    "commit",
    ["abcdef", "ABCDEF0", "abcdefg", "0" * 65, "", "abc def0", "abcdef0\n", 1234567],
)
def test_a_bad_commit_is_refused(commit: object) -> None:
    with raises_exactly(InvalidMetadata) as info:
        parse_provenance({"code": {"commit": commit}})
    assert info.value.details["field"] == "provenance.code.commit"


@pytest.mark.parametrize("commit", ["abcdef0", "0" * 40, "f" * 64])
def test_a_commit_is_7_to_64_lower_case_hex_digits(commit: str) -> None:
    assert parse_provenance({"code": {"commit": commit}}) == {"code": {"commit": commit}}


def test_a_dataset_digest_is_validated() -> None:
    raw = {"datasets": [{"uri": "s3://b/k", "digest": DIGEST}]}
    assert parse_provenance(raw) == raw


@pytest.mark.parametrize("digest", ["md5:" + "a" * 32, "sha256:" + "A" * 64, "sha256:abc"])
def test_a_bad_dataset_digest_is_invalid_metadata_naming_the_field(digest: str) -> None:
    with raises_exactly(InvalidMetadata) as info:
        parse_provenance({"datasets": [{"uri": "s3://b/k", "digest": digest}]})
    assert info.value.details["field"] == "provenance.datasets.0.digest"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"datasets": [{"digest": DIGEST}]}, "provenance.datasets.0.uri"),
        ({"datasets": [{"uri": ""}]}, "provenance.datasets.0.uri"),
        ({"datasets": [{"uri": "x", "role": "r" * 65}]}, "provenance.datasets.0.role"),
        ({"parents": [{"ref": ""}]}, "provenance.parents.0.ref"),
        ({"run": {"url": "u" * 4097}}, "provenance.run.url"),
        ({"environment": {"packages": {"": "1"}}}, "provenance.environment.packages..[key]"),
        ({"datasets": {"uri": "x"}}, "provenance.datasets"),
        ({"code": "abcdef0"}, "provenance.code"),
    ],
)
def test_a_badly_shaped_provenance_is_refused(raw: dict[str, Any], field: str) -> None:
    with raises_exactly(InvalidMetadata) as info:
        parse_provenance(raw)
    assert info.value.details["field"] == field


@pytest.mark.parametrize("raw", ["provenance", 3, [], ["code"]])
def test_provenance_that_is_not_an_object_is_refused(raw: object) -> None:
    with raises_exactly(InvalidMetadata) as info:
        parse_provenance(raw)
    assert info.value.details["field"] == "provenance"


def test_too_many_datasets_are_refused() -> None:
    with raises_exactly(InvalidMetadata):
        parse_provenance({"datasets": [{"uri": "x"}] * 1001})


# --- schema -----------------------------------------------------------------------------------


def test_an_io_schema_is_kept() -> None:
    raw = {
        "inputs": [{"name": "x", "type": "float32", "shape": [-1, 28, 28]}],
        "outputs": [{"type": "int64", "shape": [0]}],
    }
    assert parse_io_schema(raw) == raw


def test_an_io_schema_gets_empty_inputs_and_outputs() -> None:
    assert parse_io_schema(None) == {}
    assert parse_io_schema({}) == {"inputs": [], "outputs": []}
    assert parse_io_schema({"inputs": [{"type": "str"}]}) == {
        "inputs": [{"type": "str"}],
        "outputs": [],
    }


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"inputs": [{"type": "f", "shape": [-2]}]}, "schema.inputs.0.shape"),
        ({"inputs": [{"type": "f", "shape": [1] * 33}]}, "schema.inputs.0.shape"),
        ({"inputs": [{"type": "f", "shape": [1.5]}]}, "schema.inputs.0.shape.0"),
        ({"inputs": [{"shape": [1]}]}, "schema.inputs.0.type"),
        ({"inputs": [{"type": ""}]}, "schema.inputs.0.type"),
        ({"outputs": [{"type": "f", "dtype": "f"}]}, "schema.outputs.0.dtype"),
        ({"input": []}, "schema.input"),
        ({"inputs": {"type": "f"}}, "schema.inputs"),
        ([], "schema"),
    ],
)
def test_a_badly_shaped_io_schema_is_refused(raw: object, field: str) -> None:
    with raises_exactly(InvalidMetadata) as info:
        parse_io_schema(raw)
    assert info.value.details["field"] == field


# --- metrics ----------------------------------------------------------------------------------


def test_metrics_are_finite_floats() -> None:
    assert parse_metrics({"auc": 0.91, "n": 3, "loss": -1e-3}) == {
        "auc": 0.91,
        "n": 3.0,
        "loss": -1e-3,
    }
    assert type(parse_metrics({"n": 3})["n"]) is float
    assert parse_metrics(None) == {}
    assert parse_metrics({}) == {}


@pytest.mark.parametrize("value", [True, False, "0.9", None, [0.9], {"v": 1}])
def test_a_metric_that_is_not_a_number_is_refused(value: object) -> None:
    with raises_exactly(InvalidMetadata) as info:
        parse_metrics({"auc": value})
    assert info.value.details == {"field": "metrics.auc"}
    assert "must be a number" in info.value.message


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_metric_that_is_not_finite_is_refused(value: float) -> None:
    with raises_exactly(InvalidMetadata) as info:
        parse_metrics({"auc": value})
    assert "finite" in info.value.message


def test_an_integer_metric_too_large_for_a_float_is_refused() -> None:
    with raises_exactly(InvalidMetadata):
        parse_metrics({"count": 10**400})


@pytest.mark.parametrize("key", ["", "a\nb", "\x00", "k" * 251, 3, None])
def test_a_bad_metric_key_is_refused(key: object) -> None:
    with raises_exactly(InvalidMetadata) as info:
        parse_metrics({key: 1.0})
    assert info.value.details == {"field": "metrics"}


@pytest.mark.parametrize("raw", [[("auc", 0.9)], "auc=0.9", 0.9])
def test_metrics_that_are_not_an_object_are_refused(raw: object) -> None:
    with raises_exactly(InvalidMetadata):
        parse_metrics(raw)


def test_too_many_metrics_are_refused() -> None:
    with raises_exactly(InvalidMetadata) as info:
        parse_metrics({f"m{i}": 1.0 for i in range(MAX_ENTRIES + 1)})
    assert f"more than {MAX_ENTRIES}" in info.value.message


# --- params -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "true"),
        (False, "false"),
        (12, "12"),
        (0, "0"),
        (-3, "-3"),
        (0.001, "0.001"),
        (1e-7, "1e-07"),
        ("adam", "adam"),
        ("", ""),
    ],
)
def test_params_are_kept_as_strings(value: object, text: str) -> None:
    assert parse_params({"p": value}) == {"p": text}


def test_absent_params_are_empty() -> None:
    assert parse_params(None) == {}


@pytest.mark.parametrize("value", [None, [1, 2], {"a": 1}, b"bytes"])
def test_a_param_that_is_not_a_string_or_number_is_refused(value: object) -> None:
    with raises_exactly(InvalidMetadata) as info:
        parse_params({"p": value})
    assert info.value.details == {"field": "params.p"}


def test_an_over_long_param_is_refused() -> None:
    assert parse_params({"p": "x" * 8192}) == {"p": "x" * 8192}
    with raises_exactly(InvalidMetadata) as info:
        parse_params({"p": "x" * 8193})
    assert info.value.details == {"field": "params.p"}


@pytest.mark.parametrize("key", ["", "a\tb", "k" * 251, 3])
def test_a_bad_param_key_is_refused(key: object) -> None:
    with raises_exactly(InvalidMetadata):
        parse_params({key: "1"})


# --- tags and text ----------------------------------------------------------------------------


def test_tags_are_checked_pairs() -> None:
    assert parse_tags({"team": "fraud", "k8s.io/app": ""}) == {"team": "fraud", "k8s.io/app": ""}
    assert parse_tags(None) == {}


@pytest.mark.parametrize(
    "raw", [{"/bad": "x"}, {"team": "a\nb"}, {"team": 3}, {"team": "v" * 100_001}]
)
def test_a_bad_tag_is_an_invalid_name(raw: dict[str, Any]) -> None:
    with raises_exactly(InvalidName):
        parse_tags(raw)


@pytest.mark.parametrize("raw", [["team"], "team=fraud"])
def test_tags_that_are_not_an_object_are_refused(raw: object) -> None:
    with raises_exactly(InvalidMetadata) as info:
        parse_tags(raw)
    assert info.value.details == {"field": "tags"}


def test_text_is_kept_within_its_limit() -> None:
    assert parse_text(None, "description") == ""
    assert parse_text("# Model\n\nmulti-line\ttext", "description") == "# Model\n\nmulti-line\ttext"
    assert parse_text("x" * 10, "card", limit=10) == "x" * 10


@pytest.mark.parametrize(("raw", "limit"), [("x" * 11, 10), ("a\x00b", 10), (3, 10), (["a"], 10)])
def test_bad_text_is_refused(raw: object, limit: int) -> None:
    with raises_exactly(InvalidMetadata) as info:
        parse_text(raw, "card", limit=limit)
    assert info.value.details == {"field": "card"}


def test_the_default_text_limit_is_the_description_limit() -> None:
    assert parse_text("x" * 100_000, "description") == "x" * 100_000
    with raises_exactly(InvalidMetadata):
        parse_text("x" * 100_001, "description")


# --- completeness -----------------------------------------------------------------------------

COMPLETE: dict[str, Any] = {
    "description": "Scores card transactions.",
    "provenance": {
        "code": {"commit": "abcdef0"},
        "datasets": [{"uri": "s3://b/k"}],
        "environment": {"python": "3.11"},
    },
    "params": {"lr": "0.1"},
    "metrics": {"auc": 0.0},
    "schema": {"inputs": [{"type": "float32"}], "outputs": []},
}


def test_the_default_required_fields() -> None:
    assert DEFAULT_REQUIRED_FIELDS == (
        "description",
        "provenance.code.commit",
        "provenance.datasets",
        "provenance.environment.python",
        "params",
        "metrics",
        "schema.inputs",
    )


def test_a_complete_document_scores_one() -> None:
    assert completeness(COMPLETE, DEFAULT_REQUIRED_FIELDS) == (1.0, [])


def test_an_empty_document_scores_zero_and_misses_everything() -> None:
    assert completeness({}, DEFAULT_REQUIRED_FIELDS) == (0.0, list(DEFAULT_REQUIRED_FIELDS))


def test_empty_values_count_as_missing() -> None:
    document = {
        **COMPLETE,
        "description": "",
        "params": {},
        "schema": {"inputs": []},
        "provenance": {**COMPLETE["provenance"], "code": {"commit": None}},
    }
    score, missing = completeness(document, DEFAULT_REQUIRED_FIELDS)
    assert missing == ["description", "provenance.code.commit", "params", "schema.inputs"]
    assert score == round(3 / 7, 4) == 0.4286


def test_a_path_through_a_non_object_is_missing() -> None:
    document = {"provenance": {"code": "abcdef0"}, "metrics": [1]}
    assert completeness(document, ["provenance.code.commit", "metrics.auc"]) == (
        0.0,
        [
            "provenance.code.commit",
            "metrics.auc",
        ],
    )


def test_zero_and_false_are_present() -> None:
    assert completeness({"a": 0, "b": False, "c": 0.0}, ["a", "b", "c"]) == (1.0, [])


def test_nothing_required_is_complete() -> None:
    assert completeness({}, []) == (1.0, [])


def test_the_score_is_rounded_to_four_places() -> None:
    assert completeness({"a": 1}, ["a", "b", "c"]) == (0.3333, ["b", "c"])


def test_required_fields_are_a_list_of_dotted_names() -> None:
    assert check_required_fields(["description", "provenance.code.commit"]) == [
        "description",
        "provenance.code.commit",
    ]
    assert check_required_fields([]) == []
    assert check_required_fields(["f"] * 100) == ["f"] * 100


@pytest.mark.parametrize(
    "raw",
    [None, "description", ("description",), [""], ["ok", 3], [None], ["f"] * 101],
)
def test_bad_required_fields_are_refused(raw: object) -> None:
    with raises_exactly(InvalidMetadata):
        check_required_fields(raw)
