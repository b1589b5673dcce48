"""Which import sources the server may fetch: s3:// under an allowed prefix, by whole segments."""

from __future__ import annotations

import pytest

from cairn.domain.imports import allowed, parse_import_allow, parse_s3_uri, relative_path
from cairn.errors import ImportSourceRefused

ALLOW = parse_import_allow("s3://models/team-a, s3://archive")


@pytest.mark.parametrize(
    "source",
    ["s3://models/team-a", "s3://models/team-a/", "s3://models/team-a/fraud/v3", "s3://archive/x"],
)
def test_a_source_under_an_allowed_prefix_is_allowed(source: str) -> None:
    assert allowed(source, ALLOW).bucket in ("models", "archive")


@pytest.mark.parametrize(
    "source",
    [
        "s3://models/team-a-private/x",  # a prefix covers whole segments only
        "s3://models/team-b/x",
        "s3://models",
        "s3://other/team-a/x",
        "s3://models/team-a/../team-b/x",
        "s3://models/team-a//x",
        "s3://models/team-a/./x",
        "https://models/team-a/x",
        "file:///etc/passwd",
        "s3://models/team-a/x\n",
        "",
        None,
        42,
    ],
)
def test_anything_else_is_refused(source: object) -> None:
    with pytest.raises(ImportSourceRefused):
        allowed(source, ALLOW)


def test_nothing_is_allowed_by_default() -> None:
    with pytest.raises(ImportSourceRefused):
        allowed("s3://models/team-a/x", parse_import_allow(""))


def test_paths_are_relative_to_the_source() -> None:
    folder = parse_s3_uri("s3://models/team-a/fraud")
    assert relative_path(folder, "team-a/fraud/w/model.bin") == "w/model.bin"
    assert relative_path(parse_s3_uri("s3://b/a/model.bin"), "a/model.bin") == "model.bin"
    assert relative_path(parse_s3_uri("s3://b"), "a/model.bin") == "a/model.bin"
