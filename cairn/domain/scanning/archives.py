"""Archive members: where they would land when extracted, and what they hold.

Nothing is extracted. Each member's name is checked as a path (absolute paths, drive
letters and ``..`` segments that climb out of the extraction folder are high; other ``..``
segments, control characters, duplicate names and anything else the one path rule of
``cairn.domain.paths`` refuses are medium), links and device files in tar
archives are reported, and every regular member is handed back to the scanner as a stream,
read in place (zip members decompressed on the fly, tar members sliced out of the archive).
"""

from __future__ import annotations

import gzip
import io
import posixpath
import re
import stat
import tarfile
import zipfile
from collections.abc import Callable
from functools import partial
from typing import IO, cast

from cairn.domain.paths import check_path
from cairn.domain.scanning.results import FindingKind, FindingLog, Severity
from cairn.errors import UnsafePath

# Scans one member: (stream, member name, location for findings).
MemberScanner = Callable[[IO[bytes], str, str], None]

_DRIVE = re.compile(r"^[A-Za-z]:")
_ZIP_ENCRYPTED = 0x1
# zipfile loads the whole central directory, a few hundred bytes of memory per entry: past
# this size (some 300,000 entries with short names) the archive is not opened.
ZIP_DIRECTORY_MAX = 16 * 2**20


class MemberBudget:
    """How many archive members one file's scan may still visit, nested archives included."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._left = limit

    def take(self) -> bool:
        self._left -= 1
        return self._left >= 0


def member_location(where: str, name: str) -> str:
    return f"{where}!/{name}" if where else name


def path_problem(name: str) -> tuple[Severity, str] | None:
    """Why extracting a member of this name could be unsafe, if it could."""
    if not name:
        return Severity.WARNING, "the member has an empty name"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        return Severity.WARNING, "the member name holds control characters"
    path = name.replace("\\", "/")  # a backslash separates paths on Windows
    if path.startswith("/") or _DRIVE.match(path):
        return Severity.BLOCKING, "the member has an absolute path"
    if _climbs_out(path):
        return Severity.BLOCKING, "the member path climbs out of the extraction folder"
    if ".." in path.split("/"):
        return Severity.WARNING, "the member path has '..' segments"
    # Leading "./" and a folder's trailing "/" are how tar and zip write names, not tricks.
    portable = name.removesuffix("/")
    while portable.startswith("./"):
        portable = portable[2:]
    if portable in ("", "."):
        return None
    try:
        check_path(portable)
    except UnsafePath as exc:
        return Severity.WARNING, f"the member name breaks the path rule: {exc.message}"
    return None


def scan_zip(
    stream: IO[bytes], where: str, log: FindingLog, scan: MemberScanner, budget: MemberBudget
) -> None:
    directory = zip_directory_size(stream)
    if directory is not None and directory > ZIP_DIRECTORY_MAX:
        log.error(where, f"the zip's central directory has {directory} bytes; too many to load")
        return
    with zipfile.ZipFile(stream) as archive:
        seen: set[str] = set()
        for info in archive.infolist():
            if not budget.take():
                log.error(where, f"more than {budget.limit} archive members; the rest were skipped")
                return
            name = info.orig_filename  # ZipInfo.filename is cut at a NUL; the raw name is not
            at = member_location(where, name)
            _check_name(name, at, log, seen)
            if stat.S_ISLNK(info.external_attr >> 16):
                log.add(at, FindingKind.ARCHIVE_LINK, Severity.BLOCKING, "the member is a symlink")
            elif info.is_dir():
                continue
            elif info.flag_bits & _ZIP_ENCRYPTED:
                log.error(at, "the member is encrypted and cannot be scanned")
            else:
                _scan_member(partial(archive.open, info), name, at, log, scan)


def zip_directory_size(stream: IO[bytes]) -> int | None:
    """The central directory's size as the end record gives it, read before zipfile loads it.

    The end record is the last 22 bytes plus a comment of up to 65,535; a size of 0xFFFFFFFF
    sends the reader to the zip64 end record, found through the locator just before it.
    """
    end = stream.seek(0, io.SEEK_END)
    start = max(0, end - 22 - 0xFFFF)
    stream.seek(start)
    tail = stream.read(end - start)
    stream.seek(0)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None
    size = int.from_bytes(tail[at + 12 : at + 16], "little")
    locator = tail[at - 20 : at] if at >= 20 else b""
    if size == 0xFFFFFFFF and locator.startswith(b"PK\x06\x07"):
        stream.seek(int.from_bytes(locator[8:16], "little"))
        record = stream.read(56)
        stream.seek(0)
        if record.startswith(b"PK\x06\x06"):
            size = int.from_bytes(record[40:48], "little")
    return size


def scan_tar(
    stream: IO[bytes], where: str, log: FindingLog, scan: MemberScanner, budget: MemberBudget
) -> None:
    with tarfile.open(fileobj=stream, mode="r:") as archive:
        seen: set[str] = set()
        while (member := archive.next()) is not None:
            if not budget.take():
                log.error(where, f"more than {budget.limit} archive members; the rest were skipped")
                return
            at = member_location(where, member.name)
            _check_name(member.name, at, log, seen)
            if member.issym() or member.islnk():
                severity, message = _link_problem(member)
                log.add(at, FindingKind.ARCHIVE_LINK, severity, message)
            elif member.ischr() or member.isblk() or member.isfifo():
                message = "the member is a device file or a FIFO"
                log.add(at, FindingKind.SPECIAL_MEMBER, Severity.WARNING, message)
            elif member.isfile():
                _scan_member(partial(archive.extractfile, member), member.name, at, log, scan)


def gunzip(stream: IO[bytes]) -> IO[bytes]:
    # GzipFile is a binary, seekable file object; typeshed types it as BufferedIOBase only.
    return cast(IO[bytes], gzip.GzipFile(fileobj=stream, mode="rb"))


def _scan_member(
    open_member: Callable[[], IO[bytes] | None],
    name: str,
    at: str,
    log: FindingLog,
    scan: MemberScanner,
) -> None:
    # One broken member is an error at that member; the archive's other members still count.
    try:
        member = open_member()
        if member is None:
            return
        with member:
            scan(member, name, at)
    except Exception as exc:
        log.error(at, f"the member could not be scanned: {type(exc).__name__}: {exc}"[:500])


def _check_name(name: str, at: str, log: FindingLog, seen: set[str]) -> None:
    problem = path_problem(name)
    if problem is not None:
        log.add(at, FindingKind.UNSAFE_MEMBER_PATH, *problem)
    key = posixpath.normpath(name.replace("\\", "/")) if name else name
    if key in seen:
        message = "the archive holds this name more than once; tools differ on which one wins"
        log.add(at, FindingKind.DUPLICATE_MEMBER, Severity.WARNING, message)
    seen.add(key)


def _link_problem(member: tarfile.TarInfo) -> tuple[Severity, str]:
    kind = "symlink" if member.issym() else "hard link"
    target = member.linkname.replace("\\", "/")
    # A symlink resolves from its own folder; a hard link names another member from the root.
    base = posixpath.dirname(member.name.replace("\\", "/")) if member.issym() else ""
    if target.startswith("/") or _DRIVE.match(target) or _climbs_out(posixpath.join(base, target)):
        return Severity.BLOCKING, f"the member is a {kind} to {target!r}, outside the archive"
    return Severity.WARNING, f"the member is a {kind} to {target!r}"


def _climbs_out(path: str) -> bool:
    depth = 0
    for part in path.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False
