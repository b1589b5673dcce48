"""A deterministic tar stream: the same files give the same bytes, wherever it is built.

Entries are sorted by path, each folder is listed once before what it holds, and every header
has mtime, uid and gid 0, no owner names and fixed modes (0755 folders, 0644 files), in the
POSIX pax format (which adds an extended header only for a long or non-ASCII name). The stream
ends as ``tarfile`` ends an archive: two zero blocks, padded to a whole record.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

BLOCK = tarfile.BLOCKSIZE
RECORD = tarfile.RECORDSIZE


@dataclass(frozen=True, slots=True)
class TarMember:
    """A file to put in the archive: its path inside it, its size, and how to read it."""

    path: str
    size: int
    read: Callable[[], Iterable[bytes]]


def tar_stream(members: Sequence[TarMember]) -> Iterator[bytes]:
    """The archive of ``members`` (paths relative, '/'-separated), as chunks."""
    written = 0
    folders: set[str] = set()
    for member in sorted(members, key=lambda m: m.path):
        parts = member.path.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder not in folders:
                folders.add(folder)
                header = _header(folder, tarfile.DIRTYPE, 0, 0o755)
                written += len(header)
                yield header
        header = _header(member.path, tarfile.REGTYPE, member.size, 0o644)
        written += len(header)
        yield header
        received = 0
        for chunk in member.read():
            received += len(chunk)
            yield chunk
        if received != member.size:
            raise ValueError(f"{member.path}: read {received} bytes, expected {member.size}")
        padding = -member.size % BLOCK
        written += member.size + padding
        yield b"\0" * padding
    end = 2 * BLOCK
    end += -(written + end) % RECORD
    yield b"\0" * end


def _header(name: str, kind: bytes, size: int, mode: int) -> bytes:
    info = tarfile.TarInfo(name + ("/" if kind == tarfile.DIRTYPE else ""))
    info.type = kind
    info.size = size
    info.mode = mode
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
