import json
from collections.abc import Callable
from typing import Any

import pytest

from cairn.domain.jsonsafe import MAX_DEPTH, MAX_INT, check_storable, strict_loads
from cairn.errors import InvalidInput, InvalidJSON, PayloadTooLarge
from tests.unit.domain.expect import raises_exactly

LIMIT = 1_000_000


def loads(body: bytes, **kwargs: int) -> Any:
    return strict_loads(body, max_bytes=kwargs.pop("max_bytes", LIMIT), **kwargs)


def nested_arrays(depth: int, inner: str = "1") -> bytes:
    return ("[" * depth + inner + "]" * depth).encode()


def nested_objects(depth: int, inner: str = "1") -> bytes:
    return ('{"a":' * depth + inner + "}" * depth).encode()


@pytest.mark.parametrize(
    "value",
    [
        {"name": "fraud", "n": 3, "ratio": 0.25, "ok": True, "none": None, "list": [1, "two"]},
        [],
        {},
        "text with ünïcödé and \u2028",
        0,
        -0.5,
        None,
        MAX_INT,
        -MAX_INT,
        1e308,
        {"a": {"b": {"c": [1, 2, {"d": "e"}]}}},
    ],
)
def test_valid_json_round_trips(value: object) -> None:
    assert loads(json.dumps(value).encode()) == value
    assert loads(json.dumps(value, ensure_ascii=False).encode()) == value


def test_whitespace_around_a_document_is_allowed() -> None:
    assert loads(b' \n\t{"a": [1, 2]}\r\n') == {"a": [1, 2]}


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": 1, "a": 2}',
        b'{"a": 1, "a": 1}',
        b'{"outer": {"k": 1, "k": 2}}',
        b'[{"ok": 1}, {"dup": 1, "dup": 2}]',
        b'{"a": 1, "\\u0061": 2}',  # the same key, spelled with an escape
    ],
)
def test_duplicate_keys_are_refused(body: bytes) -> None:
    with raises_exactly(InvalidJSON) as info:
        loads(body)
    assert "duplicate key" in info.value.message


def test_keys_that_differ_only_in_case_are_not_duplicates() -> None:
    assert loads(b'{"a": 1, "A": 2}') == {"a": 1, "A": 2}


@pytest.mark.parametrize(
    "body",
    [b"NaN", b"Infinity", b"-Infinity", b'{"x": NaN}', b"[1, Infinity]", b'{"x": -Infinity}'],
)
def test_non_finite_constants_are_refused(body: bytes) -> None:
    with raises_exactly(InvalidJSON) as info:
        loads(body)
    assert "is not a JSON number" in info.value.message


@pytest.mark.parametrize("body", [b"1e999", b"-1e999", b'{"x": 1.5e400}', b"[1E+309]"])
def test_numbers_too_large_for_a_float_are_refused(body: bytes) -> None:
    with raises_exactly(InvalidJSON) as info:
        loads(body)
    assert "too large" in info.value.message


def test_tiny_floats_underflow_to_zero_quietly() -> None:
    assert loads(b"1e-999") == 0.0


@pytest.mark.parametrize(
    "number",
    [
        MAX_INT + 1,
        -(2**63) - 1,
        2**64,
        10**19,
        10**100,
    ],
)
def test_integers_beyond_64_bits_are_refused(number: int) -> None:
    with raises_exactly(InvalidJSON) as info:
        loads(str(number).encode())
    assert "64-bit" in info.value.message


def test_a_very_long_integer_is_refused_without_converting_it() -> None:
    # 5,000 digits is past Python's int-to-str guard; it must still be InvalidJSON.
    with raises_exactly(InvalidJSON):
        loads(b"1" * 5000)


def test_the_smallest_signed_64_bit_integer_is_accepted() -> None:
    # -2**63 is inside the signed 64-bit range the error message names.
    assert loads(str(-(2**63)).encode()) == -(2**63)


def test_the_largest_signed_64_bit_integer_is_accepted() -> None:
    assert MAX_INT == 2**63 - 1
    assert loads(b'{"n": 9223372036854775807}') == {"n": MAX_INT}


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": "\xff"}',
        b"\xc3\x28",
        b'"\xed\xa0\x80"',  # an encoded UTF-16 surrogate
        b'"\xc0\xaf"',  # an over-long encoding of '/'
        b"\xfe\xff{}",
    ],
)
def test_invalid_utf8_is_refused(body: bytes) -> None:
    with raises_exactly(InvalidJSON) as info:
        loads(body)
    assert "UTF-8" in info.value.message


def test_a_body_over_the_limit_is_too_large() -> None:
    body = json.dumps({"k": "v" * 100}).encode()
    assert loads(body, max_bytes=len(body)) == {"k": "v" * 100}
    with raises_exactly(PayloadTooLarge) as info:
        loads(body, max_bytes=len(body) - 1)
    assert info.value.details == {"size": len(body)}


def test_the_size_limit_is_checked_before_decoding() -> None:
    with raises_exactly(PayloadTooLarge):
        loads(b"\xff" * 11, max_bytes=10)


@pytest.mark.parametrize("make", [nested_arrays, nested_objects])
def test_nesting_at_exactly_the_limit_is_accepted(make: Callable[..., bytes]) -> None:
    assert MAX_DEPTH == 32
    value = loads(make(MAX_DEPTH))
    for _ in range(MAX_DEPTH):
        value = value[0] if isinstance(value, list) else value["a"]
    assert value == 1


@pytest.mark.parametrize("make", [nested_arrays, nested_objects])
def test_nesting_past_the_limit_is_refused(make: Callable[..., bytes]) -> None:
    with raises_exactly(InvalidJSON) as info:
        loads(make(MAX_DEPTH + 1))
    assert "nested deeper than 32" in info.value.message


def test_mixed_nesting_past_the_limit_is_refused() -> None:
    body = ('{"a":[' * 17 + "1" + "]}" * 17).encode()  # 34 levels
    with raises_exactly(InvalidJSON):
        loads(body)


def test_an_explicit_depth_limit_is_honoured() -> None:
    assert loads(nested_arrays(3), max_depth=3) == [[[1]]]
    with raises_exactly(InvalidJSON) as info:
        loads(nested_arrays(4), max_depth=3)
    assert "nested deeper than 3" in info.value.message


@pytest.mark.parametrize("make", [nested_arrays, nested_objects])
def test_empty_containers_count_as_a_level(make: Callable[..., bytes]) -> None:
    # 33 containers, the innermost one empty: still 33 levels of nesting.
    inner = "[]" if make is nested_arrays else "{}"
    with raises_exactly(InvalidJSON):
        loads(make(MAX_DEPTH, inner))


@pytest.mark.parametrize("make", [nested_arrays, nested_objects])
def test_absurd_nesting_is_invalid_json_not_a_recursion_error(make: Callable[..., bytes]) -> None:
    body = make(100_000)
    with raises_exactly(InvalidJSON):
        loads(body, max_bytes=len(body))


def test_a_wide_document_is_not_deep() -> None:
    body = json.dumps([[i] for i in range(10_000)]).encode()
    assert len(loads(body)) == 10_000


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"{",
        b'{"a": 1,}',
        b"[1, 2,]",
        b"{'a': 1}",
        b'{"a" 1}',
        b"{a: 1}",
        b"01",
        b"1 2",
        b'{"a": 1} trailing',
        b'"unterminated',
        b'"bad \\x escape"',
        b"\xef\xbb\xbf{}",  # a UTF-8 byte-order mark
        b"// comment\n{}",
        b"true false",
        b"undefined",
    ],
)
def test_malformed_json_is_refused(body: bytes) -> None:
    with raises_exactly(InvalidJSON) as info:
        loads(body)
    assert "malformed JSON" in info.value.message
    assert {"line", "column"} <= set(info.value.details)


def test_text_from_a_url_is_held_to_the_same_rule_as_a_json_string() -> None:
    assert check_storable("risk/fraud", "subject") == "risk/fraud"
    for text in ["a\x00b", "\ud800", "x\udfff"]:
        with raises_exactly(InvalidInput) as info:
            check_storable(text, "subject")
        assert info.value.message.startswith("subject: ")
