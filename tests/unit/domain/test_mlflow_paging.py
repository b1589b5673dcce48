"""MLflow's page sizes, page tokens and order_by clauses."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from cairn.domain.mlflow_paging import (
    cursor_token,
    offset_token,
    ordered,
    page_of,
    page_size,
    parse_order,
    token_cursor,
    token_offset,
)
from cairn.errors import InvalidInput


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_tokens_come_back_as_they_were_given() -> None:
    assert token_cursor(cursor_token("abc", 2)) == ("abc", 2)
    assert token_cursor(cursor_token(None, 0)) == (None, 0)
    assert token_offset(offset_token(300)) == 300
    assert token_cursor(None) == (None, 0) and token_offset("") == 0


@pytest.mark.parametrize(
    "token",
    [
        "!!",
        "x" * 2000,
        _b64("[1]"),
        _b64('{"offset": -1}'),
        _b64('{"offset": true}'),
        _b64('{"offset": 1.5}'),
        _b64('{"offset": 99999999999999999999999999}'),
        _b64('{"offset": 1, "extra": 2}'),
        _b64('{"offset": 1, "offset": 2}'),
        _b64('{"cursor": null, "skip": 0}'),  # a token of the other kind
        base64.b64encode(b'{"offset": "\xff"}').decode(),
    ],
)
def test_an_offset_token_from_elsewhere_is_refused(token: str) -> None:
    with pytest.raises(InvalidInput):
        token_offset(token)


@pytest.mark.parametrize(
    "token",
    [
        _b64('{"offset": 3}'),  # a token of the other kind
        _b64('{"cursor": 5, "skip": 0}'),
        _b64('{"cursor": "c", "skip": -2}'),
        _b64('{"cursor": "c"}'),
        _b64("null"),
    ],
)
def test_a_cursor_token_from_elsewhere_is_refused(token: str) -> None:
    with pytest.raises(InvalidInput):
        token_cursor(token)


@pytest.mark.parametrize("size", [0, -1, 1001, 10**30])
def test_page_sizes_outside_the_limit_are_refused(size: int) -> None:
    with pytest.raises(InvalidInput):
        page_size(size, 100, 1000)


def test_pages_cut_a_list_and_say_where_the_next_starts() -> None:
    items = list(range(7))
    chunk, token = page_of(items, 3, 0)
    assert chunk == [0, 1, 2] and token is not None and token_offset(token) == 3
    assert page_of(items, 3, 6) == ([6], None)
    assert page_of(items, 3, 2**31 - 1) == ([], None)


def test_order_by_sorts_first_clause_first() -> None:
    jan, feb = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC)
    rows = [("b", jan), ("a", feb), ("c", jan)]
    keys = {"name": lambda r: r[0], "creation_timestamp": lambda r: r[1]}
    order = parse_order(["creation_timestamp DESC", "attributes.name"], keys)
    assert ordered(rows, order) == [("a", feb), ("b", jan), ("c", jan)]


@pytest.mark.parametrize("clause", ["", "bogus", "name SIDEWAYS", "name ASC extra", "name\x00"])
def test_an_order_by_outside_the_keys_is_refused(clause: str) -> None:
    with pytest.raises(InvalidInput):
        parse_order([clause], {"name": str})


def test_order_by_holds_at_most_ten_clauses() -> None:
    assert len(parse_order(["name"] * 10, {"name": str})) == 10
    with pytest.raises(InvalidInput):
        parse_order(["name"] * 11, {"name": str})
