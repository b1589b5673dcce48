"""Sharded ``model-signing`` manifests: each file signed as byte ranges of a fixed size.

With ``serialization.method`` ``shards`` (``hash_type`` sha256), each resource is named
``path:start:end`` with algorithm ``sha256-sharded-<shard size>`` and the digest of bytes
``[start, end)`` of that file. Cairn holds a digest per whole file only, so these are checked
against the bytes themselves, read through ``RangeDigest`` (the server reads its blobs, a pull
its downloaded copies): the shards of a file must tile it exactly, from 0 to its size, and
each must hash to what the signer wrote.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath

# (path, start, end) -> lower-case hex sha256 of bytes [start, end) of that file
RangeDigest = Callable[[str, int, int], str]
Shards = dict[str, list[tuple[int, int, str]]]

SHARD_ALGORITHM = re.compile(r"sha256-sharded-[0-9]{1,15}")
_NAME = re.compile(r"(?s)(.+):([0-9]{1,15}):([0-9]{1,15})")


class ShardsMalformed(Exception):
    """A shard's name does not say a file and a range; the message says which."""


def parse_shards(resources: Mapping[str, str]) -> Shards:
    """Group ``{"path:start:end": digest}`` by file."""
    shards: Shards = {}
    for name, digest in resources.items():
        match = _NAME.fullmatch(name)
        if match is None:
            raise ShardsMalformed(f"{name[:200]!r} does not name a file's byte range")
        path, start, end = str(PurePosixPath(match[1])), int(match[2]), int(match[3])
        if start > end:
            raise ShardsMalformed(f"{name[:200]!r} ends before it starts")
        shards.setdefault(path, []).append((start, end, digest))
    return shards


def shard_differences(
    shards: Shards, files: Mapping[str, tuple[int, str]], range_digest: RangeDigest
) -> tuple[list[str], list[str]]:
    """The signed files whose bytes differ (or whose shards do not tile them), and those
    missing."""
    changed: list[str] = []
    missing: list[str] = []
    for path in sorted(shards):
        if path not in files:
            missing.append(path)
            continue
        spans = sorted(shards[path])
        position = 0
        for start, end, _ in spans:
            if start != position:
                break
            position = end
        else:
            if position == files[path][0] and all(
                range_digest(path, start, end) == digest for start, end, digest in spans
            ):
                continue
        changed.append(path)
    return changed, missing
