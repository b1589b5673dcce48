"""The folder a version is pulled into ends up holding exactly the version.

A folder that holds anything the version does not (a stale file of an earlier version, a
folder, a link) is refused before a byte is downloaded, unless ``replace`` asks for those
entries to be removed. Nothing is followed out of the folder: links inside it are never
followed (a link where the version has a file is replaced by the file; a link where the
version has a folder is in the way, like any file there), and removal only ever unlinks
entries below the folder, or removes real folders below it.

Writing is in two steps so that a failure leaves the folder as it was where it can: every
file is first written beside its place under a new temporary name (``.cairn-….tmp``, made
with ``O_EXCL | O_NOFOLLOW``: where a full disk or a permission fails), and only then are the
files renamed into place and the extra entries removed.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cairn import errors

TMP_SUFFIX = ".tmp"
SHOWN = 10  # extra entries named in a refusal


@dataclass
class Plan:
    """What writing the version into ``root`` does to what is there."""

    root: Path
    files: set[str]
    folders: set[str]
    extra: list[str] = field(default_factory=list)  # entries the version does not have
    in_the_way: list[str] = field(default_factory=list)  # a file or link where a folder goes


def plan(root: Path, paths: Iterable[str], *, replace: bool, what: str) -> Plan:
    """How ``paths`` (a version's files, '/'-separated) go into ``root``; refused when
    ``root`` holds anything else and ``replace`` is not given (``Conflict``), or is a file."""
    files = set(paths)
    folders = {p.rsplit("/", i)[0] for p in files for i in range(1, p.count("/") + 1)}
    found = Plan(root, files, folders)
    if os.path.lexists(root) and not root.is_dir():
        raise errors.InvalidInput(f"{root} is not a folder", path=str(root))
    if root.is_dir():
        _survey(found, "")
    unwanted = sorted(found.extra + found.in_the_way)
    if unwanted and not replace:
        shown = ", ".join(unwanted[:SHOWN]) + (", …" if len(unwanted) > SHOWN else "")
        raise errors.Conflict(
            f"{root} holds {len(unwanted)} entries that are not in {what} ({shown}): pull into "
            "an empty folder, or replace its contents (cairn pull --replace, pull(replace=True))",
            path=str(root),
            extra=unwanted[:SHOWN],
        )
    return found


def _survey(found: Plan, rel: str) -> None:
    with os.scandir(found.root / rel if rel else found.root) as entries:
        for entry in entries:
            path = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_dir(follow_symlinks=False):
                if path in found.folders:
                    _survey(found, path)
                else:
                    found.extra.append(path)
            elif path in found.folders:
                found.in_the_way.append(path)
            elif path not in found.files or not (entry.is_file() or entry.is_symlink()):
                found.extra.append(path)


def write(found: Plan, sources: Iterable[tuple[str, Path]]) -> None:
    """Copy each ``(path, source)`` into the folder, then remove what the version does not
    have; a failure while copying removes the copies made and leaves the folder as it was."""
    made: list[Path] = []
    placed: list[tuple[Path, Path]] = []
    aside: list[tuple[Path, Path]] = []  # only with replace: a folder of the version goes here
    try:
        for path in found.in_the_way:  # moved aside (a link as itself), put back on failure
            entry = found.root / path
            aside.append((entry, entry.with_name(f".cairn-{secrets.token_hex(8)}{TMP_SUFFIX}")))
            entry.rename(aside[-1][1])
        if not found.root.is_dir():
            found.root.mkdir(parents=True)
            made.append(found.root)
        for path, source in sources:
            out = found.root.joinpath(*path.split("/"))
            _make_folders(found.root, out.parent, made)
            tmp = out.with_name(f".cairn-{secrets.token_hex(8)}{TMP_SUFFIX}")
            placed.append((tmp, out))
            _copy(source, tmp)
    except BaseException as exc:
        for tmp, _ in placed:
            tmp.unlink(missing_ok=True)
        for folder in reversed(made):
            folder.rmdir()
        for entry, hidden in aside:
            if os.path.lexists(hidden):
                hidden.rename(entry)
        if isinstance(exc, OSError):
            raise errors.CairnError(
                f"cannot write {found.root}: {exc}; it was left as it was", path=str(found.root)
            ) from exc
        raise
    for _, hidden in aside:
        hidden.unlink()
    extra = set(found.extra)
    written: set[tuple[int, int] | None] = {None}  # None: gone already
    for tmp, out in placed:
        rel = out.relative_to(found.root).as_posix()
        if rel in extra:  # a real folder where the version has a file
            _remove(out)
            extra.discard(rel)
        tmp.replace(out)
        written.add(_identity(out))
    for rel in sorted(extra):
        # On a file system that folds case, a stale 'A.txt' is the 'a.txt' just written.
        if _identity(found.root / rel) not in written:
            _remove(found.root / rel)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        status = path.lstat()
    except FileNotFoundError:
        return None
    return status.st_dev, status.st_ino


def _copy(source: Path, tmp: Path) -> None:
    """A new file (never an existing one, nor through a link), with the source's bytes."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)  # not on Windows
    fd = os.open(tmp, flags | getattr(os, "O_BINARY", 0), 0o666)
    with os.fdopen(fd, "wb") as out, source.open("rb") as src:
        shutil.copyfileobj(src, out, COPY_BLOCK)


COPY_BLOCK = 1 << 20


def _make_folders(root: Path, folder: Path, made: list[Path]) -> None:
    missing = []
    while folder != root and not os.path.lexists(folder):
        missing.append(folder)
        folder = folder.parent
    for each in reversed(missing):
        each.mkdir()
        made.append(each)


def _remove(path: Path) -> None:
    """Unlink a file or a link (never what it points to); remove a real folder and all below
    it (``rmtree`` does not follow the links it finds inside)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
