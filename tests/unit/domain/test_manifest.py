import hashlib
import json
from typing import Any

import pytest

from cairn.domain.manifest import (
    FILES_MAX,
    SIZE_MAX,
    FileEntry,
    Manifest,
    manifest_digest,
    parse_manifest,
)
from cairn.errors import InvalidDigest, InvalidManifest, UnsafePath
from tests.unit.domain.expect import raises_exactly

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
D3 = "sha256:" + "3" * 64


def entry(path: Any, size: Any = 1, digest: Any = D1) -> dict[str, Any]:
    return {"path": path, "size": size, "digest": digest}


def canonical_sha256(files: list[dict[str, Any]], *, ensure_ascii: bool = True) -> str:
    doc = {"files": sorted(files, key=lambda f: f["path"])}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=ensure_ascii)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- manifests --------------------------------------------------------------------------------


def test_a_manifest_is_sorted_by_path() -> None:
    manifest = parse_manifest([entry("b", 2, D2), entry("a/z", 1, D1), entry("a/b", 3, D3)])
    assert [f.path for f in manifest.files] == ["a/b", "a/z", "b"]
    assert manifest.files[0] == FileEntry("a/b", 3, D3)
    assert manifest.total_size == 6
    assert manifest.to_dict() == {
        "files": [entry("a/b", 3, D3), entry("a/z", 1, D1), entry("b", 2, D2)]
    }


def test_a_manifest_may_be_sent_as_an_object_with_files() -> None:
    files = [entry("a", 1, D1)]
    assert parse_manifest({"files": files}) == parse_manifest(files)


def test_sizes_from_zero_to_the_bound_are_accepted() -> None:
    manifest = parse_manifest([entry("empty", 0), entry("huge", SIZE_MAX)])
    assert manifest.total_size == SIZE_MAX


@pytest.mark.parametrize("raw", [[], {"files": []}])
def test_an_empty_manifest_is_refused(raw: object) -> None:
    with raises_exactly(InvalidManifest) as info:
        parse_manifest(raw)
    assert "at least one file" in info.value.message


@pytest.mark.parametrize("raw", [None, "a", 3, {"file": [entry("a")]}, {}, (entry("a"),)])
def test_a_manifest_that_is_not_a_list_is_refused(raw: object) -> None:
    with raises_exactly(InvalidManifest):
        parse_manifest(raw)


def test_too_many_files_are_refused() -> None:
    with raises_exactly(InvalidManifest) as info:
        parse_manifest([entry("a")] * (FILES_MAX + 1))
    assert info.value.details == {"count": FILES_MAX + 1}


@pytest.mark.parametrize(
    "item",
    [
        {"path": "a", "size": 1},
        {"path": "a", "digest": D1},
        {"size": 1, "digest": D1},
        {},
        {**entry("a"), "mode": "0755"},
        {**entry("a"), "Path": "a"},
        "a",
        ["a", 1, D1],
        None,
    ],
)
def test_an_entry_with_missing_or_extra_keys_is_refused(item: object) -> None:
    with raises_exactly(InvalidManifest) as info:
        parse_manifest([entry("ok"), item])
    assert info.value.details == {"index": 1}


@pytest.mark.parametrize("size", [-1, True, False, 1.0, 1.5, "1", None, SIZE_MAX + 1, 2**64])
def test_a_size_that_is_not_a_whole_number_of_bytes_is_refused(size: object) -> None:
    with raises_exactly(InvalidManifest) as info:
        parse_manifest([entry("a", size)])
    assert "whole number" in info.value.message


@pytest.mark.parametrize("digest", ["md5:" + "a" * 32, "sha256:" + "A" * 64, "", None])
def test_a_bad_digest_in_an_entry_is_refused(digest: object) -> None:
    with raises_exactly(InvalidDigest):
        parse_manifest([entry("a", 1, digest)])


@pytest.mark.parametrize("path", ["../a", "/etc/passwd", "a//b", "%2e%2e/a", None])
def test_an_unsafe_path_in_an_entry_is_refused(path: object) -> None:
    with raises_exactly(UnsafePath):
        parse_manifest([entry("ok"), entry(path)])


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("a.bin", "a.bin"),
        ("A.bin", "a.bin"),
        ("dir/File.TXT", "DIR/file.txt"),
        ("caf\u00e9.bin", "cafe\u0301.bin"),  # é composed (NFC) and decomposed (NFD)
        ("Caf\u00e9.bin", "cafe\u0301.BIN"),
        ("stra\u00dfe", "STRASSE"),  # ß case-folds to ss
    ],
)
def test_paths_equal_after_normalisation_are_duplicates(first: str, second: str) -> None:
    with raises_exactly(UnsafePath) as info:
        parse_manifest([entry(first, 1, D1), entry(second, 2, D2)])
    assert "same path once normalised" in info.value.message
    assert {info.value.details["path"], info.value.details["other"]} == {first, second}


@pytest.mark.parametrize(
    "paths",
    [
        ["a", "a/b"],
        ["a/b", "a"],
        ["x/a", "x/a/b/c"],
        ["A", "a/b"],
        ["caf\u00e9", "cafe\u0301/x"],
    ],
)
def test_a_file_that_is_also_a_folder_is_refused(paths: list[str]) -> None:
    with raises_exactly(UnsafePath) as info:
        parse_manifest([entry(p) for p in paths])
    assert "also used as a folder" in info.value.message


def test_siblings_sharing_a_prefix_are_not_folders_of_each_other() -> None:
    manifest = parse_manifest([entry("a"), entry("ab/c"), entry("a.d/e"), entry("b/a")])
    assert len(manifest.files) == 4


# --- manifest digest --------------------------------------------------------------------------


def test_the_manifest_digest_is_sha256_of_the_canonical_json() -> None:
    files = [entry("weights/b.bin", 20, D2), entry("config.json", 10, D1), entry("z", 0, D3)]
    manifest = parse_manifest(files)
    expected = canonical_sha256(files)
    assert manifest.digest == expected
    assert manifest_digest(manifest.files) == expected


def test_the_manifest_digest_does_not_depend_on_input_order() -> None:
    files = [entry("c", 3, D3), entry("a", 1, D1), entry("b/x", 2, D2)]
    digests = {
        parse_manifest(order).digest
        for order in (files, files[::-1], [files[1], files[2], files[0]])
    }
    assert len(digests) == 1
    assert manifest_digest(reversed(parse_manifest(files).files)) in digests


def test_the_manifest_digest_changes_with_any_field() -> None:
    base = parse_manifest([entry("a", 1, D1)]).digest
    assert parse_manifest([entry("b", 1, D1)]).digest != base
    assert parse_manifest([entry("a", 2, D1)]).digest != base
    assert parse_manifest([entry("a", 1, D2)]).digest != base
    assert parse_manifest([entry("a", 1, D1), entry("b", 1, D1)]).digest != base


def test_non_ascii_paths_are_hashed_as_raw_utf8() -> None:
    files = [entry("modèle/权重.bin", 5, D1)]
    digest = parse_manifest(files).digest
    assert digest == canonical_sha256(files, ensure_ascii=False)
    assert digest != canonical_sha256(files, ensure_ascii=True)


def test_a_manifest_is_immutable() -> None:
    manifest = Manifest((FileEntry("a", 1, D1),))
    with pytest.raises(AttributeError):
        manifest.files = ()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        manifest.files[0].size = 2  # type: ignore[misc]
