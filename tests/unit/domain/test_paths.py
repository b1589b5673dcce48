"""The one path rule (``cairn.domain.paths``): every spelling of every way out refused."""

from typing import Any

import pytest

from cairn.domain.paths import (
    DEPTH_MAX,
    PATH_MAX,
    SEGMENT_MAX,
    check_path,
    is_device_name,
    segment_problem,
)
from cairn.errors import UnsafePath
from tests.unit.domain.expect import raises_exactly


def long_path(length: int) -> str:
    """A path of ``length`` ASCII bytes whose segments are all short."""
    path = ("a" * 100 + "/") * 10 + "a" * (length - 1010)
    assert len(path) == length
    return path


# --- safe paths -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "model.bin",
        "weights/layer-1.safetensors",
        "a/b/c/d.txt",
        ".gitattributes",
        "config/.hidden",
        "a..b",
        "..a",
        ".a.b",
        "a.b.c",
        "console.txt",  # a device name only when the whole stem is one
        "com10",
        "lpt",
        "nul_model",
        "a b/c d.txt",
        "\u05de\u05d5\u05d3\u05dc.bin",  # right-to-left letters are letters, not overrides
        "/".join(["d"] * (DEPTH_MAX - 1) + ["f"]),
        "a/b..c/d",
        "100%.txt",
        "%zz",
        "with space.txt",
        "données/modèle.bin",
        "模型/权重.bin",
        "a" * SEGMENT_MAX,
        long_path(PATH_MAX - 1),
    ],
)
def test_a_safe_path_is_returned_unchanged(path: str) -> None:
    assert check_path(path) == path


def test_a_path_of_exactly_the_byte_limit_is_accepted() -> None:
    path = long_path(PATH_MAX)
    assert check_path(path) == path


# --- unsafe paths -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "..",
        "../a",
        "a/../b",
        "a/..",
        "a/b/../../..",
        "%2e%2e/a",
        "%2E%2E%2Fetc",
        "%2e%2e",
        ".%2e/a",
        "a/%2e%2e",
        "%252e%252e/a",  # encoded twice
        "%25252e%25252e/a",  # three times
        "%2525252e%2525252e/a",  # four times
        "..%2fa",
        "..%2Fa",
        "a%2f..%2fb",
        "a%2F..%2Fb",
        "a%252f..%252fb",
    ],
)
def test_a_dot_dot_segment_is_refused_in_every_spelling(path: str) -> None:
    with raises_exactly(UnsafePath) as info:
        check_path(path)
    assert "'..'" in info.value.message
    assert info.value.details == {"path": path}


def test_the_message_says_when_the_danger_was_encoded() -> None:
    with raises_exactly(UnsafePath) as info:
        check_path("%2e%2e/a")
    assert "once percent-decoded" in info.value.message
    with raises_exactly(UnsafePath) as info:
        check_path("../a")
    assert "percent-decoded" not in info.value.message


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "/", "/a", "%2fetc", "%2Fetc/passwd", "%252fetc", "//server/share"]
)
def test_an_absolute_path_is_refused(path: str) -> None:
    with raises_exactly(UnsafePath) as info:
        check_path(path)
    assert "relative" in info.value.message


@pytest.mark.parametrize("path", ["C:/x", "c:x", "C:", "z:\\x", "C%3a/x", "%43:/x"])
def test_a_drive_letter_is_refused(path: str) -> None:
    with raises_exactly(UnsafePath):
        check_path(path)


@pytest.mark.parametrize("path", ["a\\b", "\\a", "..\\a", "a%5cb", "a%5Cb", "a%255cb"])
def test_a_backslash_is_refused(path: str) -> None:
    with raises_exactly(UnsafePath) as info:
        check_path(path)
    assert "backslash" in info.value.message


@pytest.mark.parametrize(
    "path",
    ["a\x00b", "\x00", "a\nb", "a\rb", "a\tb", "a\x1fb", "a\x7fb", "\x1b[31m", "a\ud800b"],
)
def test_nul_and_control_characters_are_refused(path: str) -> None:
    with raises_exactly(UnsafePath) as info:
        check_path(path)
    assert "control characters" in info.value.message


@pytest.mark.parametrize("path", ["a%00b", "a%00", "%2500"])
def test_an_encoded_nul_is_refused(path: str) -> None:
    with raises_exactly(UnsafePath) as info:
        check_path(path)
    assert "NUL" in info.value.message


@pytest.mark.parametrize("path", ["a//b", "./a", "a/./b", "a/.", ".", "a/", "a/b/"])
def test_empty_and_dot_segments_are_refused(path: str) -> None:
    with raises_exactly(UnsafePath) as info:
        check_path(path)
    assert "empty or '.' segments" in info.value.message


def test_an_over_long_path_is_refused() -> None:
    path = long_path(PATH_MAX + 1)
    with raises_exactly(UnsafePath) as info:
        check_path(path)
    assert f"at most {PATH_MAX} bytes" in info.value.message
    assert len(info.value.details["path"]) == 200


def test_the_path_limit_counts_utf8_bytes_not_characters() -> None:
    path = "/".join(["é" * 100] * 6)  # 605 characters, 1205 bytes
    with raises_exactly(UnsafePath):
        check_path(path)


@pytest.mark.parametrize("segment", ["a" * (SEGMENT_MAX + 1), "é" * 128])
def test_an_over_long_segment_is_refused(segment: str) -> None:
    with raises_exactly(UnsafePath) as info:
        check_path(f"dir/{segment}")
    assert f"at most {SEGMENT_MAX} bytes" in info.value.message


@pytest.mark.parametrize("path", ["", None, 3, b"a", ["a"]])
def test_a_path_that_is_not_a_non_empty_string_is_refused(path: object) -> None:
    with raises_exactly(UnsafePath):
        check_path(path)


# --- segment by segment -------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "weights/C:evil.bin",  # a drive letter after the first segment
        "a/c:",
        "model.bin:hidden",  # an NTFS alternate data stream
        "a/b:c/d",
        "a/%43%3A/b",
    ],
)
def test_a_colon_is_refused_in_every_segment(path: str) -> None:
    with raises_exactly(UnsafePath) as info:
        check_path(path)
    assert "':'" in info.value.message


@pytest.mark.parametrize("char", list('<>"|?*'))
def test_the_characters_windows_refuses_are_refused(char: str) -> None:
    with raises_exactly(UnsafePath) as info:
        check_path(f"dir/a{char}b")
    assert repr(char) in info.value.message


@pytest.mark.parametrize(
    "char",
    [
        "\u202a",
        "\u202b",
        "\u202c",
        "\u202d",
        "\u202e",  # RIGHT-TO-LEFT OVERRIDE: "model\u202enib.exe" shows as "modelexe.bin"
        "\u2066",
        "\u2067",
        "\u2068",
        "\u2069",
        "\u200b",  # ZERO WIDTH SPACE
        "\u200e",  # LEFT-TO-RIGHT MARK
        "\ufeff",  # BYTE ORDER MARK
        "\u2028",  # LINE SEPARATOR
        "\u2029",
        "\x85",  # NEXT LINE, a C1 control
        "\x9b",
    ],
)
def test_invisible_and_direction_changing_characters_are_refused(char: str) -> None:
    for path in [f"model{char}nib.exe", f"dir/{char}x", f"{char}/x", f"a/b{char}"]:
        with raises_exactly(UnsafePath) as info:
            check_path(path)
        assert f"U+{ord(char):04X}" in info.value.message


@pytest.mark.parametrize(
    "segment",
    [
        "CON",
        "con",
        "Con",
        "prn",
        "aux",
        "nul",
        "NUL.txt",
        "nul.tar.gz",
        "con.v2",
        "com1",
        "COM9.bin",
        "lpt1",
        "LPT9.log",
        "com\u00b9",
        "lpt\u00b3.x",
        "conin$",
        "CONOUT$.txt",
        "con .txt",  # Windows ignores spaces before the extension
    ],
)
def test_windows_device_names_are_refused_with_or_without_an_extension(segment: str) -> None:
    assert is_device_name(segment)
    for path in [segment, f"dir/{segment}", f"{segment}/x"]:
        with raises_exactly(UnsafePath) as info:
            check_path(path)
        assert "device name" in info.value.message


@pytest.mark.parametrize("path", ["a.", "a ", "dir/x.", "dir./x", "dir /x", "...", "a/.. "])
def test_a_segment_ending_in_a_dot_or_a_space_is_refused(path: str) -> None:
    with raises_exactly(UnsafePath) as info:
        check_path(path)
    assert "end in '.' or a space" in info.value.message


def test_a_path_deeper_than_the_bound_is_refused() -> None:
    deepest = "/".join(["d"] * DEPTH_MAX)
    assert check_path(deepest) == deepest
    with raises_exactly(UnsafePath) as info:
        check_path("/".join(["d"] * (DEPTH_MAX + 1)))
    assert f"at most {DEPTH_MAX} segments" in info.value.message


@pytest.mark.parametrize("path", ["a%2F%2Fb", "a%2Fcon", "x%20", "a%2F%E2%80%AEb"])
def test_each_percent_decoded_spelling_passes_the_same_rule(path: str) -> None:
    with raises_exactly(UnsafePath) as info:
        check_path(path)
    assert "once percent-decoded" in info.value.message


def test_the_rule_names_the_first_problem_of_a_segment_and_accepts_a_good_one() -> None:
    assert segment_problem("model.safetensors") is None
    assert segment_problem("") is not None
    assert segment_problem("..") == "a file path may not contain a '..' segment"


def test_a_refusal_never_rewrites_what_it_returns() -> None:
    for path in ["a/b", "d\u00e9j\u00e0/vu.bin", "100%.txt"]:
        assert check_path(path) is path
    for path in ["a/b/", "a//b", "/a/b", "a/./b"]:
        with raises_exactly(UnsafePath):
            check_path(path)


def test_any_value_that_is_not_a_string_is_refused() -> None:
    values: list[Any] = [b"a", 1, None, ["a"], {"a": 1}]
    for value in values:
        with raises_exactly(UnsafePath):
            check_path(value)
