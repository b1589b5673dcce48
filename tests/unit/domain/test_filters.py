from datetime import UTC, datetime

import pytest

from cairn.domain import filters
from cairn.domain.filters import (
    STATES,
    And,
    Compare,
    Field,
    Has,
    Node,
    Not,
    Or,
    check_target,
    parse_filter,
)
from cairn.errors import InvalidFilter
from tests.unit.domain.expect import raises_exactly

A = Compare(Field("name"), "=", "a")
B = Compare(Field("state"), "=", "staging")
C = Compare(Field("number"), "=", 3)
TEXT_A, TEXT_B, TEXT_C = "name = 'a'", "state = 'staging'", "number = 3"


def parsed(text: str) -> Node:
    node = parse_filter(text)
    assert node is not None
    return node


def error(text: str) -> InvalidFilter:
    with raises_exactly(InvalidFilter) as info:
        parse_filter(text)
    assert isinstance(info.value, InvalidFilter)
    return info.value


def test_every_public_name_exists() -> None:
    assert all(hasattr(filters, name) for name in filters.__all__)
    assert {"archived", "production", "registered", "staging"} == STATES


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t"])
def test_no_text_is_no_filter(text: str | None) -> None:
    assert parse_filter(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"{TEXT_A} OR {TEXT_B} AND {TEXT_C}", Or((A, And((B, C))))),
        (f"{TEXT_A} AND {TEXT_B} OR {TEXT_C}", Or((And((A, B)), C))),
        (f"({TEXT_A} OR {TEXT_B}) AND {TEXT_C}", And((Or((A, B)), C))),
        (f"{TEXT_A} AND {TEXT_B} AND {TEXT_C}", And((A, B, C))),
        (f"{TEXT_A} or {TEXT_B} Or {TEXT_C}", Or((A, B, C))),
        (f"NOT {TEXT_A} AND {TEXT_B}", And((Not(A), B))),
        (f"NOT ({TEXT_A} AND {TEXT_B})", Not(And((A, B)))),
        (f"not not {TEXT_A}", Not(Not(A))),
        (f"((({TEXT_A})))", A),
        (f"NOT({TEXT_A})", Not(A)),
    ],
)
def test_and_binds_tighter_than_or_and_not_tighter_than_and(text: str, expected: Node) -> None:
    assert parsed(text) == expected


@pytest.mark.parametrize(
    ("op", "expected"),
    [("=", "="), ("==", "="), ("!=", "!="), ("<", "<"), ("<=", "<="), (">", ">"), (">=", ">=")],
)
def test_every_operator(op: str, expected: str) -> None:
    assert parsed(f"number {op} 7") == Compare(Field("number"), expected, 7)
    assert parsed(f"number{op}7") == Compare(Field("number"), expected, 7)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("number IN (1, 2,3)", Compare(Field("number"), "in", (1, 2, 3))),
        ("number not in (1)", Compare(Field("number"), "not in", (1,))),
        ("tags.team IN ('a', \"b\")", Compare(Field("tag", "team"), "in", ("a", "b"))),
        ("metrics.auc IN (1, 0.5)", Compare(Field("metric", "auc"), "in", (1.0, 0.5))),
        ("state NOT IN ('Staging')", Compare(Field("state"), "not in", ("staging",))),
    ],
)
def test_in_and_not_in(text: str, expected: Compare) -> None:
    assert parsed(text) == expected


@pytest.mark.parametrize(
    ("text", "op", "pattern"),
    [
        ("name LIKE 'fraud%'", "like", "fraud%"),
        ("name not like 'a_b'", "not like", "a_b"),
        # escaped wildcards become literal; a literal backslash is escaped for ESCAPE '\'
        ("description LIKE '100\\%%'", "like", "100\\%%"),
        ("description LIKE 'a\\_b'", "like", "a\\_b"),
        ("description LIKE 'c:\\\\dir%'", "like", "c:\\\\dir%"),
        ("description LIKE 'it\\'s%'", "like", "it's%"),
    ],
)
def test_like_keeps_wildcards_and_escapes_the_rest(text: str, op: str, pattern: str) -> None:
    node = parsed(text)
    assert isinstance(node, Compare)
    assert (node.op, node.value) == (op, pattern)


def test_an_escaped_wildcard_outside_like_is_the_plain_character() -> None:
    assert parsed("description = '100\\%'") == Compare(Field("description"), "=", "100%")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("has(tags.team)", Has(Field("tag", "team"))),
        ("HAS ( metric.auc )", Has(Field("metric", "auc"))),
        ("not has(params.lr)", Not(Has(Field("param", "lr")))),
    ],
)
def test_has(text: str, expected: Node) -> None:
    assert parsed(text) == expected


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("tags.team = 'x'", Field("tag", "team")),
        ("tag.team = 'x'", Field("tag", "team")),
        ("TAGS.Team = 'x'", Field("tag", "Team")),
        ("tags.a.b:c/d-e = 'x'", Field("tag", "a.b:c/d-e")),
        ("tags.1st = 'x'", Field("tag", "1st")),
        ("tags.`my key` = 'x'", Field("tag", "my key")),
        ("tags.`a\\`b\\\\c` = 'x'", Field("tag", "a`b\\c")),
        ("metrics.`précision` = 1", Field("metric", "précision")),
        ("params.`' OR 1=1 --` = 'x'", Field("param", "' OR 1=1 --")),
        ("Name = 'x'", Field("name")),
        ("OWNER = 'x'", Field("owner")),
    ],
)
def test_fields_and_keys(text: str, field: Field) -> None:
    node = parsed(text)
    assert isinstance(node, Compare)
    assert node.field == field


@pytest.mark.parametrize("kind", ["name", "namespace", "alias", "author", "description", "owner"])
def test_every_text_field_takes_a_string(kind: str) -> None:
    assert parsed(f"{kind} = 'x'") == Compare(Field(kind), "=", "x")


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("'plain'", "plain"),
        ('"double"', "double"),
        ("'it\\'s'", "it's"),
        ('"say \\"hi\\""', 'say "hi"'),
        ("'a\"b'", 'a"b'),
        ("'tab\\there\\nnew\\r'", "tab\there\nnew\r"),
        ("'back\\\\slash'", "back\\slash"),
        ("''", ""),
        ("'é ü 日本'", "é ü 日本"),
        ("' OR 1=1 --'", " OR 1=1 --"),
    ],
)
def test_strings_and_their_escapes(literal: str, value: str) -> None:
    assert parsed(f"tags.k = {literal}") == Compare(Field("tag", "k"), "=", value)


@pytest.mark.parametrize(
    ("literal", "value"),
    [("1", 1.0), ("-2", -2.0), ("0.5", 0.5), (".5", 0.5), ("1e3", 1000.0), ("-1.5E-2", -0.015)],
)
def test_metrics_compare_with_numbers(literal: str, value: float) -> None:
    node = parsed(f"metrics.auc > {literal}")
    assert node == Compare(Field("metric", "auc"), ">", value)
    assert isinstance(node.value, float)


@pytest.mark.parametrize(
    ("literal", "value"),
    [("'0.01'", "0.01"), ("0.01", "0.01"), ("1e-2", "0.01"), ("10", "10"), ("true", "true")],
)
def test_params_are_text(literal: str, value: str) -> None:
    assert parsed(f"params.lr = {literal}") == Compare(Field("param", "lr"), "=", value)
    assert parsed(f"params.lr = {literal.upper()}") == Compare(Field("param", "lr"), "=", value)


@pytest.mark.parametrize(
    ("literal", "moment"),
    [
        ("'2024-05-01'", datetime(2024, 5, 1, tzinfo=UTC)),
        ("'2024-05-01T12:30:00'", datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        ("'2024-05-01T12:30:00Z'", datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        ("'2024-05-01T12:30:00+02:00'", datetime(2024, 5, 1, 10, 30, tzinfo=UTC)),
        ('"2024-05-01 00:00:00.5-01:00"', datetime(2024, 5, 1, 1, 0, 0, 500000, tzinfo=UTC)),
    ],
)
def test_dates_become_utc_instants(literal: str, moment: datetime) -> None:
    node = parsed(f"created >= {literal}")
    assert node == Compare(Field("created"), ">=", moment)
    assert isinstance(node, Compare)
    assert isinstance(node.value, datetime)
    assert node.value.tzinfo is UTC
    assert parsed(f"updated < {literal}") == Compare(Field("updated"), "<", moment)


@pytest.mark.parametrize("state", sorted(STATES))
def test_every_state_case_insensitively(state: str) -> None:
    assert parsed(f"state = '{state.upper()}'") == Compare(Field("state"), "=", state)


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        # tokens
        ("name = 'open", 7, "unterminated string"),
        ("tags.`open = 'x'", 5, "unterminated key"),
        ("name = 'a\\q'", 9, "unknown escape '\\q'"),
        ("tags.`a\\n` = 'x'", 7, "unknown escape '\\n'"),
        ("name # 'a'", 5, "unexpected character '#'"),
        ("name = `a`", 7, "backquoted, as in tags.`my key`"),
        ("tags.clé = 'x'", 7, "unexpected character 'é'; a key with other characters is"),
        ("number = 12abc", 9, "malformed number"),
        ("number = 99999999999999999999", 9, "number out of range"),
        ("metrics.auc > 1e999", 14, "number out of range"),
        # grammar
        ("name", 4, "expected an operator after name, found the end"),
        ("name 'a'", 5, "expected an operator after name"),
        ("name = ", 7, "name compares with a quoted string, found the end"),
        ("NOT", 3, "expected a field"),
        ("name = 'a' AND", 14, "expected a field, found the end"),
        ("AND name = 'a'", 0, "expected a field, found 'AND'"),
        ("name = 'a' name = 'b'", 11, "expected AND, OR or the end"),
        ("(name = 'a'", 11, "expected ')' to close the '(' at position 0"),
        ("name = 'a')", 10, "')' closes no '('"),
        ("name NOT = 'a'", 5, "expected IN or LIKE after NOT"),
        ("number IN 1", 10, "expected '(' to open the IN list"),
        ("number IN ()", 11, "an IN list needs at least one value"),
        ("number IN (1 2)", 13, "expected ',' or ')' in the IN list"),
        ("name LIKE a", 10, "LIKE takes a quoted pattern"),
        ("has tags.x", 4, "expected '(' after has"),
        ("has(tags.x", 10, "expected ')' to close has("),
        ("has(name)", 4, "has() takes a tag, metric or param, not name"),
        # fields
        ("bogus = 'a'", 0, "unknown field 'bogus'"),
        ("tags = 'a'", 0, "tags takes a key"),
        ("tags. = 'a'", 0, "tags takes a key"),
        ("tags.`` = 'a'", 0, "tags takes a key"),
        (f"tags.{'k' * 251} = 'a'", 0, "tags takes a key of 1-250"),
        ("tags.`a\tb` = 'a'", 0, "printable"),
        ("name.first = 'a'", 0, "name has no keys"),
        # types and operators
        ("metrics.auc > 'high'", 14, "metrics.auc compares with a number"),
        ("number = 1.5", 9, "number compares with an integer"),
        ("number = '1'", 9, "number compares with an integer"),
        ("name = 1", 7, "name compares with a quoted string"),
        ("name = fraud", 7, "quote text"),
        ("tags.k = true", 9, "tags.k compares with a quoted string"),
        ("metrics.auc = true", 14, "metrics.auc compares with a number"),
        ("state = 'prod'", 8, "state compares with one of 'registered', 'staging'"),
        ("state IN ('staging', 'live')", 21, "state compares with one of"),
        ("created > 'yesterday'", 10, "ISO-8601"),
        ("created > 20240101", 10, "ISO-8601"),
        ("created = '2024-01-01'", 8, "created does not take =; it takes <, <=, >, >="),
        ("updated IN ('2024-01-01')", 8, "updated does not take IN"),
        ("state < 'staging'", 6, "state does not take <"),
        ("alias >= 'a'", 6, "alias does not take >="),
        ("name > 'a'", 5, "name does not take >"),
        ("params.lr < 0.1", 10, "params.lr does not take <"),
        ("state LIKE 'st%'", 6, "state does not take LIKE"),
        ("metrics.auc LIKE '1%'", 12, "metrics.auc does not take LIKE"),
        ("number NOT LIKE '1%'", 7, "number does not take NOT LIKE"),
        ("created NOT IN ('2024-01-01')", 8, "created does not take NOT IN"),
    ],
)
def test_an_error_says_what_and_where(text: str, position: int, fragment: str) -> None:
    exc = error(text)
    assert exc.details["position"] == position
    assert fragment in exc.message
    assert f"(at position {position})" in exc.message


def test_a_filter_that_is_not_text_is_refused() -> None:
    with raises_exactly(InvalidFilter) as info:
        parse_filter(42)  # type: ignore[arg-type]
    assert info.value.details["position"] == 0


def test_the_length_limit() -> None:
    longest = "name = '" + "a" * (filters.FILTER_MAX - 9) + "'"
    assert len(longest) == filters.FILTER_MAX
    assert parse_filter(longest) is not None
    assert error(longest + " ").details["position"] == filters.FILTER_MAX


def test_the_nesting_limit() -> None:
    depth = filters.DEPTH_MAX
    assert parse_filter("(" * depth + TEXT_A + ")" * depth) is not None
    assert parse_filter("NOT " * depth + TEXT_A) is not None
    assert parse_filter("NOT (" * (depth // 2) + TEXT_A + ")" * (depth // 2)) is not None
    too_deep = error("(" * (depth + 1) + TEXT_A + ")" * (depth + 1))
    assert too_deep.details["position"] == depth
    assert "nests at most 32" in too_deep.message
    assert error("NOT " * (depth + 1) + TEXT_A).details["position"] == 4 * depth


def test_the_comparison_limit() -> None:
    most = " OR ".join([TEXT_C] * filters.COMPARISONS_MAX)
    assert parse_filter(most) is not None
    too_many = error(most + " AND has(tags.x)")
    assert too_many.details["position"] == len(most) + 5
    assert "at most 64 comparisons" in too_many.message


def test_the_in_list_limit() -> None:
    values = ", ".join(str(n) for n in range(filters.IN_MAX))
    node = parsed(f"number IN ({values})")
    assert isinstance(node, Compare)
    assert isinstance(node.value, tuple)
    assert len(node.value) == filters.IN_MAX
    too_long = error(f"number IN ({values}, 100)")
    assert too_long.details["position"] == len(f"number IN ({values}, ")
    assert "at most 100 values" in too_long.message


def test_versions_take_every_field() -> None:
    text = (
        "name = 'a' AND namespace = 'b' AND number = 1 AND state = 'staging' AND alias = 'c'"
        " AND author = 'd' AND description = 'e' AND owner = 'f' AND created > '2024-01-01'"
        " AND updated > '2024-01-01' AND tags.t = 'g' AND metrics.m > 1 AND params.p = 'h'"
    )
    check_target(parsed(text), "versions")


def test_models_take_their_own_fields() -> None:
    text = (
        "name = 'a' OR namespace = 'b' OR owner = 'c' OR description = 'd'"
        " OR NOT (created > '2024-01-01' AND updated < '2025-01-01') OR has(tags.t)"
    )
    check_target(parsed(text), "models")


@pytest.mark.parametrize(
    ("text", "position", "field"),
    [
        ("state = 'staging'", 0, "state"),
        ("name = 'a' AND NOT (owner = 'b' OR number > 1)", 35, "number"),
        ("alias = 'x'", 0, "alias"),
        ("author = 'x'", 0, "author"),
        ("has(metrics.auc)", 4, "metrics.auc"),
        ("params.lr IN ('1')", 0, "params.lr"),
    ],
)
def test_models_refuse_version_fields(text: str, position: int, field: str) -> None:
    with raises_exactly(InvalidFilter) as info:
        check_target(parsed(text), "models")
    assert info.value.details["position"] == position
    assert f"models cannot be filtered on {field}" in info.value.message
