import hashlib

import pytest

from cairn.domain.digests import ALGORITHM, digest_bytes, hex_of, parse_digest
from cairn.errors import InvalidDigest
from tests.unit.domain.expect import raises_exactly

EMPTY = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
HEX = "0123456789abcdef" * 4


def test_a_canonical_digest_is_returned_unchanged() -> None:
    assert parse_digest(EMPTY) == EMPTY
    assert parse_digest(f"sha256:{HEX}") == f"sha256:{HEX}"


def test_digest_bytes_is_sha256_with_its_prefix() -> None:
    assert ALGORITHM == "sha256"
    assert digest_bytes(b"") == EMPTY
    assert digest_bytes(b"cairn") == "sha256:" + hashlib.sha256(b"cairn").hexdigest()
    assert parse_digest(digest_bytes(b"anything")) == digest_bytes(b"anything")


def test_hex_of_drops_the_algorithm() -> None:
    assert hex_of(EMPTY) == EMPTY.removeprefix("sha256:")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (f"md5:{'a' * 32}", "unsupported digest algorithm 'md5'"),
        (f"sha512:{'a' * 128}", "unsupported digest algorithm 'sha512'"),
        (f"SHA256:{HEX}", "unsupported digest algorithm 'SHA256'"),
        (f":{HEX}", "unsupported digest algorithm ''"),
        (HEX, "written 'sha256:<64 hex>'"),
        ("", "written 'sha256:<64 hex>'"),
        ("sha256", "written 'sha256:<64 hex>'"),
        ("sha256:", "64 hex digits, not 0"),
        (f"sha256:{HEX[:-1]}", "64 hex digits, not 63"),
        (f"sha256:{HEX}0", "64 hex digits, not 65"),
        (f"sha256:{HEX}\n", "64 hex digits, not 65"),
        (f" sha256:{HEX}", "unsupported digest algorithm"),
        (f"sha256:{HEX.upper()}", "lower case"),
        (f"sha256:{HEX[:-1]}A", "lower case"),
        (f"sha256:{HEX[:-1]}g", "only 0-9 and a-f"),
        (f"sha256:{'z' * 64}", "only 0-9 and a-f"),
        (f"sha256:{HEX[:-1]}\u0660", "only 0-9 and a-f"),  # ARABIC-INDIC DIGIT ZERO
        (f"sha256:{HEX[:-1]}:", "only 0-9 and a-f"),
    ],
)
def test_a_malformed_digest_is_refused_saying_why(raw: str, reason: str) -> None:
    with raises_exactly(InvalidDigest) as info:
        parse_digest(raw)
    assert reason in info.value.message
    assert info.value.details["value"] == raw[:100]


@pytest.mark.parametrize("raw", [None, 42, EMPTY.encode(), ["sha256", HEX], {"d": EMPTY}])
def test_a_digest_that_is_not_a_string_is_refused(raw: object) -> None:
    with raises_exactly(InvalidDigest) as info:
        parse_digest(raw)
    assert "must be a string" in info.value.message


def test_the_value_shown_in_the_error_is_bounded() -> None:
    with raises_exactly(InvalidDigest) as info:
        parse_digest("x" * 10_000)
    assert len(info.value.details["value"]) == 100
