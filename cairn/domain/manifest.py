"""A version's content: a sorted list of ``{path, size, digest}`` and the digest of that list.

Each path passes the one path rule (``cairn.domain.paths``: relative, checked segment by
segment, refused rather than rewritten). Two paths that are the same after Unicode
normalisation and case folding are duplicates, since they would collide on common file
systems; so is a file that is also another file's folder.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cairn.domain.digests import digest_bytes, parse_digest
from cairn.domain.paths import check_path
from cairn.errors import InvalidManifest, UnsafePath

FILES_MAX = 100_000
SIZE_MAX = 2**50  # 1 PiB: a bound that catches nonsense, not a quota


@dataclass(frozen=True, slots=True)
class FileEntry:
    path: str
    size: int
    digest: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "digest": self.digest}


@dataclass(frozen=True, slots=True)
class Manifest:
    files: tuple[FileEntry, ...]

    @property
    def digest(self) -> str:
        return manifest_digest(self.files)

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {"files": [f.to_dict() for f in self.files]}


def manifest_digest(files: Iterable[FileEntry]) -> str:
    """sha256 of the canonical JSON form: sorted keys, no spaces, files sorted by path."""
    doc = {"files": [f.to_dict() for f in sorted(files, key=lambda f: f.path)]}
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return digest_bytes(canonical.encode("utf-8"))


def _collision_key(path: str) -> str:
    return unicodedata.normalize("NFC", path).casefold()


def parse_manifest(raw: object) -> Manifest:
    """Validate a manifest sent by a client and return it sorted by path."""
    if isinstance(raw, Mapping):
        if set(raw) != {"files"}:
            raise InvalidManifest('a manifest is {"files": [...]} with no other keys')
        raw = raw["files"]
    if not isinstance(raw, list):
        raise InvalidManifest("a manifest is a list of files {path, size, digest}")
    if not raw:
        raise InvalidManifest("a manifest lists at least one file")
    if len(raw) > FILES_MAX:
        raise InvalidManifest(f"a manifest lists at most {FILES_MAX} files", count=len(raw))
    entries: list[FileEntry] = []
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping) or set(item) != {"path", "size", "digest"}:
            raise InvalidManifest(
                "each manifest entry has exactly the keys path, size and digest", index=index
            )
        size = item["size"]
        if type(size) is not int or not 0 <= size <= SIZE_MAX:
            raise InvalidManifest("a file size is a whole number of bytes", index=index)
        entries.append(FileEntry(check_path(item["path"]), size, parse_digest(item["digest"])))
    seen: dict[str, str] = {}
    for entry in entries:
        key = _collision_key(entry.path)
        if key in seen:
            raise UnsafePath(
                "two files have the same path once normalised",
                path=entry.path[:200],
                other=seen[key][:200],
            )
        seen[key] = entry.path
    for key, path in seen.items():
        parts = key.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in seen:
                raise UnsafePath("a file is also used as a folder", path=path[:200])
    return Manifest(tuple(sorted(entries, key=lambda f: f.path)))
