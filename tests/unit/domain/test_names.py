import pytest

from cairn.domain.names import (
    NAME_MAX,
    TAG_VALUE_MAX,
    alias_key,
    canonical_key,
    check_alias,
    check_name,
    check_new_name,
    check_tag,
    normalize_alias,
    normalize_name,
)
from cairn.errors import InvalidName
from tests.unit.domain.expect import raises_exactly


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("fraud-model", "fraud-model"),
        ("Fraud_Model", "fraud_model"),
        ("RESNET50", "resnet50"),
        ("7b", "7b"),
        ("a", "a"),
        ("a.b-c_d", "a.b-c_d"),
        ("model-", "model-"),
        ("x" * NAME_MAX, "x" * NAME_MAX),
    ],
)
def test_a_valid_name_keeps_its_spelling_and_lower_cases_when_normalised(
    raw: str, stored: str
) -> None:
    assert check_name(raw) == raw
    assert normalize_name(raw) == stored


def test_any_spelling_of_a_name_has_its_canonical_key() -> None:
    assert canonical_key("UpdateRMTest") == canonical_key("updatermtest") == "updatermtest"
    assert canonical_key("Fraud_Model") == "fraud-model"


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Fraud_Model", "fraud-model"),
        ("fraud.model", "fraud-model"),
        ("fraud-_.model", "fraud-model"),
        ("FRAUD__MODEL", "Fraud--Model"),
    ],
)
def test_look_alike_names_share_a_canonical_key(left: str, right: str) -> None:
    key = canonical_key(normalize_name(left))
    assert key == canonical_key(normalize_name(right))
    assert key == "fraud-model"


def test_names_that_differ_by_more_than_separators_keep_distinct_keys() -> None:
    assert canonical_key("fraudmodel") != canonical_key("fraud-model")
    assert canonical_key("model1") != canonical_key("model-1-")


@pytest.mark.parametrize(
    "raw",
    [
        "ns/model",
        "a\\b",
        "a\x00b",
        "a b",
        " model",
        "model ",
        "model\n",
        "\tmodel",
        ".hidden",
        "-flag",
        "_private",
        "modèle",
        "模型",
        "мodel",  # Cyrillic em
        "\u212aafka",  # KELVIN SIGN, which str.lower() turns into an ASCII 'k'
        "a:b",
        "a@b",
        "a%2fb",
        "x" * (NAME_MAX + 1),
        "",
    ],
)
def test_a_bad_name_is_refused(raw: str) -> None:
    with raises_exactly(InvalidName) as info:
        normalize_name(raw)
    assert info.value.details["kind"] == "name"


def test_an_over_long_name_reports_its_length() -> None:
    with raises_exactly(InvalidName) as info:
        normalize_name("a" * 129)
    assert info.value.details["length"] == 129


@pytest.mark.parametrize("raw", [None, 3, b"model", ["model"]])
def test_a_name_that_is_not_a_string_is_refused(raw: object) -> None:
    with raises_exactly(InvalidName) as info:
        normalize_name(raw, kind="namespace")
    assert info.value.message == "a namespace must be a string"


def test_the_kind_is_named_in_the_error() -> None:
    with raises_exactly(InvalidName) as info:
        normalize_name("", kind="model")
    assert info.value.message == "a model must not be empty"
    assert info.value.details == {"kind": "model"}


@pytest.mark.parametrize(
    ("raw", "stored"), [("prod", "prod"), ("Staging", "staging"), ("v1", "v1")]
)
def test_a_valid_alias_keeps_its_spelling_and_is_keyed_lower_cased(raw: str, stored: str) -> None:
    assert check_alias(raw) == raw
    assert normalize_alias(raw) == alias_key(raw) == stored


@pytest.mark.parametrize("raw", ["3", "0", "007", "latest", "LATEST", "Latest"])
def test_an_alias_may_not_be_a_number_or_latest(raw: str) -> None:
    with raises_exactly(InvalidName) as info:
        normalize_alias(raw)
    assert info.value.details["kind"] == "alias"


@pytest.mark.parametrize("raw", ["", "a/b", "-x", None, "x" * 129])
def test_an_alias_must_first_be_a_name(raw: object) -> None:
    with raises_exactly(InvalidName) as info:
        normalize_alias(raw)
    assert info.value.details["kind"] == "alias"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("team", "fraud"),
        ("Team", ""),
        ("_internal", "x"),
        ("k8s.io/app-name:v1", "a value with spaces"),
        ("k" * 250, "v" * TAG_VALUE_MAX),
        # MLflow's keys: spaces, a leading dash, dot or colon, letters of any script
        ("my key", "x"),
        ("-team", "x"),
        (".team", "x"),
        (":team", "x"),
        ("tëam", "x"),
        ("note", "tab\tseparated"),
        ("lang", "日本語"),
    ],
)
def test_a_valid_tag_is_returned_as_given(key: str, value: str) -> None:
    assert check_tag(key, value) == (key, value)


@pytest.mark.parametrize(
    "key",
    [
        "",
        ".",
        "/team",
        "a//b",
        "a/./b",
        "../team",
        "team/",
        "team\n",
        "te\tam",
        "k" * 251,
        "k=v",
        None,
        3,
    ],
)
def test_a_bad_tag_key_is_refused(key: object) -> None:
    with raises_exactly(InvalidName) as info:
        check_tag(key, "value")
    assert info.value.details["kind"] == "tag"


@pytest.mark.parametrize(
    "value",
    [
        "line\nbreak",
        "carriage\rreturn",
        "nul\x00",
        "\x1f",
        "\x1b[31mred",
        "delete\x7f",  # DEL is a control character (Unicode category Cc)
        "next\x85line",  # so is NEL, a C1 control
        "lone \ud800",
        "v" * (TAG_VALUE_MAX + 1),
    ],
)
def test_a_bad_tag_value_is_refused(value: str) -> None:
    with raises_exactly(InvalidName) as info:
        check_tag("team", value)
    assert {k: info.value.details[k] for k in ("kind", "key")} == {"kind": "tag", "key": "team"}
    assert info.value.details["rule"] in ("value_length", "value_characters")


@pytest.mark.parametrize("value", [None, 3, True, ["a"], b"bytes"])
def test_a_tag_value_that_is_not_a_string_is_refused(value: object) -> None:
    with raises_exactly(InvalidName) as info:
        check_tag("team", value)
    assert "must be a string" in info.value.message


@pytest.mark.parametrize(
    "raw", ["CON", "con", "prn", "aux", "Nul", "com1", "COM9", "lpt1", "lpt9", "con.v2", "nul.txt"]
)
def test_a_windows_device_name_is_refused_as_a_new_name(raw: str) -> None:
    name = normalize_name(raw)
    for kind in ("model", "namespace", "alias"):
        with raises_exactly(InvalidName) as info:
            check_new_name(name, kind=kind)
        assert "Windows device name" in info.value.message
        assert info.value.details == {"kind": kind, "value": name}


@pytest.mark.parametrize("raw", ["console", "con-model", "com10", "lpt0", "nul_", "aux2", "icon"])
def test_names_that_only_look_like_devices_are_new_names(raw: str) -> None:
    assert check_new_name(normalize_name(raw), kind="model") == raw
