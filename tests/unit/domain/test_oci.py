"""The OCI naming rules: repositories, the tag scheme that keeps versions, aliases and views
apart, and the aliases it reserves."""

from __future__ import annotations

import pytest

from cairn.domain.names import VIEW_SUFFIXES, normalize_alias
from cairn.domain.oci import VIEWS, Repository, Tag, parse_repository, parse_tag, tags_of
from cairn.errors import InvalidName, InvalidReference


def test_a_repository_is_namespace_and_model_or_a_model_in_default() -> None:
    assert parse_repository("risk/fraud-model") == Repository("risk", "fraud-model")
    assert parse_repository("fraud") == Repository("default", "fraud")
    assert parse_repository("a__b/c.d") == Repository("a__b", "c.d")


@pytest.mark.parametrize("name", ["Risk/fraud", "a/b/c", "", "a//b", "-a/b", "a/b-", "a/b..c"])
def test_names_outside_the_oci_grammar_or_cairns_shape_are_refused(name: str) -> None:
    with pytest.raises(InvalidName):
        parse_repository(name)


@pytest.mark.parametrize(
    ("tag", "meaning"),
    [
        ("7", Tag(number=7)),
        ("latest", Tag()),
        ("prod", Tag(alias="prod")),
        ("v1.2", Tag(alias="v1.2")),
        ("7.kserve", Tag(number=7, view="kserve")),
        ("latest.modelpack", Tag(view="modelpack")),
        ("prod.kserve", Tag(alias="prod", view="kserve")),
        ("v1.2.modelpack", Tag(alias="v1.2", view="modelpack")),
    ],
)
def test_each_tag_has_one_meaning(tag: str, meaning: Tag) -> None:
    assert parse_tag(tag) == meaning


@pytest.mark.parametrize("tag", ["0", "007", "Prod", "-x", "a" * 129, "1" * 13, "x/y"])
def test_tags_the_scheme_does_not_give_are_refused(tag: str) -> None:
    with pytest.raises(InvalidReference):
        parse_tag(tag)


def test_no_alias_can_spell_a_view_tag() -> None:
    assert {f".{v}" for v in VIEWS if v} == set(VIEW_SUFFIXES)
    for suffix in VIEW_SUFFIXES:
        with pytest.raises(InvalidName):
            normalize_alias(f"prod{suffix}")
    for reserved in ("latest", "12"):
        with pytest.raises(InvalidName):
            normalize_alias(reserved)


def test_the_tags_of_a_model_never_collide_and_each_reads_back() -> None:
    tags = tags_of([1, 2, 10], ["prod", "v1.2", "champion"])
    assert tags == sorted(tags)
    assert len(tags) == len(set(tags)) == (3 + 3 + 1) * len(VIEWS)
    meanings = {parse_tag(t) for t in tags}
    assert len(meanings) == len(tags)
    assert tags_of([], []) == []
