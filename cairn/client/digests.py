"""Digests of local files, remembered by what ``stat`` says about them.

A file whose device, inode, size, modification and change times are all as they were when it
was hashed has the same bytes, so it is neither hashed nor sent again. Entries are small files
under ``<cache>/digests/``, written by rename, so several processes can share the cache.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cairn.domain.digests import parse_digest
from cairn.errors import InvalidDigest


class DigestCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get(self, path: Path, stat: os.stat_result) -> str | None:
        try:
            return parse_digest(self._entry(path, stat).read_text(encoding="ascii").strip())
        except (OSError, ValueError, InvalidDigest):
            return None

    def put(self, path: Path, stat: os.stat_result, digest: str) -> None:
        """Remember ``digest`` for ``path`` if the file still is as ``stat`` found it."""
        if _identity(path.stat()) != _identity(stat):
            return  # it changed while it was read: what was hashed may not be what is there
        entry = self._entry(path, stat)
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = entry.with_name(f"{entry.name}.{os.getpid()}.tmp")
        tmp.write_text(digest, encoding="ascii")
        tmp.replace(entry)

    def _entry(self, path: Path, stat: os.stat_result) -> Path:
        key = f"{path.resolve()}\0{_identity(stat)}".encode("utf-8", "surrogateescape")
        name = hashlib.sha256(key).hexdigest()
        return self.folder / name[:2] / name


def _identity(stat: os.stat_result) -> tuple[int, int, int, int, int]:
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
