import pytest

from cairn.domain.numbers import ID_MAX, parse_id


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", 1), (1, 1), ("42", 42), ("0000000011", 11), (str(ID_MAX), ID_MAX), (ID_MAX, ID_MAX)],
)
def test_an_id_in_range_is_read(raw: object, expected: int) -> None:
    assert parse_id(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "0",
        0,
        -1,
        "-1",
        ID_MAX + 1,
        str(ID_MAX + 1),
        "00000000011",  # eleven characters: never cut down to ten
        str(2**64 + 1),
        "9" * 5000,
        "1.0",
        "1e3",
        " 1",
        "\u0661",  # ARABIC-INDIC DIGIT ONE: a digit, not an ASCII one
        "",
        True,
        1.0,
        None,
        ["1"],
    ],
)
def test_anything_else_names_no_id(raw: object) -> None:
    assert parse_id(raw) is None
