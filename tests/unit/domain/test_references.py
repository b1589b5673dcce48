import pytest

from cairn.domain.references import (
    DEFAULT_NAMESPACE,
    REF_MAX,
    Reference,
    parse_model_reference,
    parse_reference,
    parse_selector,
)
from cairn.errors import InvalidName, InvalidReference
from tests.unit.domain.expect import raises_exactly


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ns/m:3", Reference("ns", "m", number=3)),
        ("m", Reference(DEFAULT_NAMESPACE, "m")),
        ("m:3", Reference("default", "m", number=3)),
        ("ns/m", Reference("ns", "m")),
        ("ns/m@prod", Reference("ns", "m", alias="prod")),
        ("m@prod", Reference("default", "m", alias="prod")),
        ("ns/m:latest", Reference("ns", "m")),
        # Model names and aliases keep their spelling; namespaces are lower-cased.
        ("NS/Fraud_Model@Prod", Reference("ns", "Fraud_Model", alias="Prod")),
        ("ns/m:999999999999", Reference("ns", "m", number=999_999_999_999)),
        # Leading zeros are read as the number: ':01' is version 1.
        ("ns/m:01", Reference("ns", "m", number=1)),
        ("ns/m:0007", Reference("ns", "m", number=7)),
    ],
)
def test_a_valid_reference_is_parsed(raw: str, expected: Reference) -> None:
    assert parse_reference(raw) == expected


def test_a_reference_with_no_selector_is_latest() -> None:
    assert DEFAULT_NAMESPACE == "default"
    assert parse_reference("m").is_latest
    assert parse_reference("ns/m:latest").is_latest
    assert not parse_reference("ns/m:1").is_latest
    assert not parse_reference("ns/m@prod").is_latest


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("ns/m:3", "ns/m:3"),
        ("m", "default/m:latest"),
        ("ns/m@prod", "ns/m@prod"),
        ("ns/m:latest", "ns/m:latest"),
        ("NS/M:01", "ns/M:1"),
    ],
)
def test_str_is_the_canonical_spelling_and_parses_back(raw: str, text: str) -> None:
    ref = parse_reference(raw)
    assert str(ref) == text
    assert parse_reference(str(ref)) == ref


@pytest.mark.parametrize(
    "raw",
    [
        "ns/m:0",
        "ns/m:-1",
        "ns/m:+1",
        "ns/m:x",
        "ns/m:",
        "ns/m:1.0",
        "ns/m: 1",
        "ns/m:1 ",
        "ns/m:LATEST",
        "ns/m:\u0661",  # ARABIC-INDIC DIGIT ONE: a digit, but not ASCII
        "ns/m:\u00b2",  # SUPERSCRIPT TWO: str.isdigit() says yes
        "ns/m:1000000000000",
        "ns/m:" + "9" * 40,
        "ns/m:3:4",
    ],
)
def test_a_bad_version_selector_is_refused(raw: str) -> None:
    with raises_exactly(InvalidReference) as info:
        parse_reference(raw)
    assert "version selector" in info.value.message


@pytest.mark.parametrize("raw", ["a/b/c", "a/b/c:1", "/ns/m", "ns//m"])
def test_more_than_one_slash_is_refused(raw: str) -> None:
    with raises_exactly(InvalidReference) as info:
        parse_reference(raw)
    assert "at most one '/'" in info.value.message


@pytest.mark.parametrize(
    "raw",
    [
        "ns/m@",
        "ns/m@latest",
        "ns/m@3",
        "ns/m@a@b",
        "ns/m@prod:3",
        "ns/m:3@prod",
        "ns/",
        "/m",
        "ns/.m",
        "ns/m m",
        "ns/m\x00",
        "ns/modèle",
        "-ns/m",
        "@prod",
        ":3",
        "ns/" + "m" * 129,
    ],
)
def test_a_bad_name_inside_a_reference_is_a_bad_reference(raw: str) -> None:
    with raises_exactly(InvalidReference) as info:
        parse_reference(raw)
    assert isinstance(info.value.__cause__, InvalidName)
    assert info.value.details == {"ref": raw}


@pytest.mark.parametrize("raw", ["", None, 3, b"ns/m:3", ["ns/m"]])
def test_a_reference_that_is_not_a_non_empty_string_is_refused(raw: object) -> None:
    with raises_exactly(InvalidReference):
        parse_reference(raw)


def test_an_over_long_reference_is_refused_before_parsing() -> None:
    parse_reference("n" * 128 + "/" + "m" * 128 + "@" + "a" * 128)
    with raises_exactly(InvalidReference) as info:
        parse_reference("ns/m:" + "1" * (REF_MAX - 4))
    assert f"at most {REF_MAX} characters" in info.value.message


def test_a_reference_is_immutable() -> None:
    ref = parse_reference("ns/m:3")
    with pytest.raises(AttributeError):
        ref.number = 4  # type: ignore[misc]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("7", (7, None)),
        ("01", (1, None)),
        ("999999999999", (999_999_999_999, None)),
        ("latest", (None, None)),
        ("@prod", (None, "prod")),
        ("@Prod", (None, "Prod")),
    ],
)
def test_a_url_selector_is_parsed(raw: str, expected: tuple[int | None, str | None]) -> None:
    assert parse_selector(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "0", "-1", "x", "prod", "1000000000000", "@", "@latest", "@3", "@a/b", "@@prod", " 7"],
)
def test_a_bad_url_selector_is_refused(raw: str) -> None:
    with raises_exactly(InvalidReference):
        parse_selector(raw)


def test_a_bad_alias_selector_keeps_the_reason_and_the_selector() -> None:
    with raises_exactly(InvalidReference) as info:
        parse_selector("@latest")
    assert "may not be a number or 'latest'" in info.value.message
    assert info.value.details == {"selector": "@latest"}


@pytest.mark.parametrize("raw", ["fraud", "risk/fraud", "Risk/Fraud_Model"])
def test_a_model_reference_names_a_model(raw: str) -> None:
    ref = parse_model_reference(raw)
    assert ref.is_latest and ref == parse_reference(raw)


@pytest.mark.parametrize(
    "raw", ["fraud:1", "fraud:latest", "fraud@prod", "risk/fraud:12", "risk/fraud@champion"]
)
def test_a_selector_where_a_model_is_wanted_is_refused_not_dropped(raw: str) -> None:
    with raises_exactly(InvalidReference) as info:
        parse_model_reference(raw)
    assert "selects a version" in info.value.message
    assert info.value.details == {"ref": raw}
