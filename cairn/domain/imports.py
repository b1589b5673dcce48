"""Importing a model from where it already lives: which sources the server may fetch.

Only ``s3://bucket/prefix`` sources, and only under a prefix an administrator lists in
``CAIRN_IMPORT_ALLOW``: the server fetches with its own S3 credentials, so anything else (other
buckets, other prefixes, any ``http(s)://`` URL) would let a caller make it read what it can
reach and they cannot. A prefix covers whole path segments (``s3://b/models`` covers
``s3://b/models/fraud``, never ``s3://b/models-private``), and a source whose key has empty,
``.`` or ``..`` segments is refused rather than normalised.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cairn.errors import ConfigError, ImportSourceRefused, InvalidInput

SCHEME = "s3://"
IMPORT_FILES_MAX = 10_000


@dataclass(frozen=True, slots=True)
class S3Location:
    bucket: str
    key: str  # no leading or trailing slash; "" for the whole bucket

    def __str__(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.key}" if self.key else f"{SCHEME}{self.bucket}"

    def covers(self, other: S3Location) -> bool:
        """Whether ``other`` is this location or lies under it, segment by segment."""
        if other.bucket != self.bucket:
            return False
        return not self.key or other.key == self.key or other.key.startswith(self.key + "/")


def parse_s3_uri(raw: object, what: str = "an import source") -> S3Location:
    """``s3://bucket[/key]`` as a location; anything else is refused."""
    if not isinstance(raw, str) or not raw.startswith(SCHEME) or len(raw) > 2048:
        raise ImportSourceRefused(
            f"{what} is an s3://bucket/prefix URI under a prefix the server allows, "
            f"not {str(raw)[:200]!r}",
            source=str(raw)[:200],
        )
    bucket, _, key = raw.removeprefix(SCHEME).partition("/")
    key = key.rstrip("/")
    segments = key.split("/") if key else []
    if not bucket or any(s in ("", ".", "..") for s in segments) or _control(raw):
        raise ImportSourceRefused(
            f"{what} {raw[:200]!r} is not a plain s3://bucket/prefix URI (no empty, '.' or "
            "'..' segments)",
            source=raw[:200],
        )
    return S3Location(bucket, key)


def parse_import_allow(raw: str) -> tuple[S3Location, ...]:
    """``CAIRN_IMPORT_ALLOW``: comma-separated ``s3://bucket[/prefix]`` (ValueError if not)."""
    found = []
    for item in (i.strip() for i in raw.split(",")):
        if item:
            try:
                found.append(parse_s3_uri(item, "an allowed prefix"))
            except InvalidInput as exc:
                raise ValueError(exc.message) from None
    return tuple(found)


def check_apart_from_store(allow: Iterable[S3Location], blob_url: str) -> None:
    """``ConfigError`` if an allowed prefix reaches into the S3 blob store's own objects (or
    lies inside them): an import from there would let a writer of one namespace take any
    namespace's blobs (and Cairn's own markers) by their keys, past every read check."""
    if not blob_url.startswith(SCHEME):
        return
    store = S3Location(*blob_url.removeprefix(SCHEME).partition("/")[::2])
    store = S3Location(store.bucket, store.key.strip("/"))
    for prefix in allow:
        if prefix.covers(store) or store.covers(prefix):
            raise ConfigError(
                f"CAIRN_IMPORT_ALLOW: {prefix} reaches the blob store's own objects "
                f"(CAIRN_BLOB_URL {store}); allow prefixes outside it",
                setting="CAIRN_IMPORT_ALLOW",
            )


def allowed(source: object, allow: Iterable[S3Location]) -> S3Location:
    """The source's location if a listed prefix covers it; ``ImportSourceRefused`` if not."""
    location = parse_s3_uri(source)
    if not any(prefix.covers(location) for prefix in allow):
        raise ImportSourceRefused(
            f"{location} is not under a prefix this server may import from "
            "(an administrator lists them in CAIRN_IMPORT_ALLOW)",
            source=str(location)[:200],
        )
    return location


def relative_path(location: S3Location, key: str) -> str:
    """An object's path in the version: its key below the source (a single object: its name)."""
    if key == location.key:
        return key.rpartition("/")[2]
    return key.removeprefix(location.key + "/") if location.key else key


def _control(text: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in text)
