"""Secrets the servers keep in files outside the database: created by whichever process
starts first (mode 0600, exclusively, so processes starting at once agree), read by the rest.
Every server process of one registry must be given the same file."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def load_or_create(path: Path, make: Callable[[], bytes]) -> bytes:
    """The key in ``path`` (surrounding whitespace stripped); a new ``make()`` if none."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    key = make()
    with os.fdopen(fd, "wb") as out:
        out.write(key + b"\n")
        out.flush()
        os.fsync(out.fileno())
    return key
