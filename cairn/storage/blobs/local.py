"""A blob store in a local folder: content-addressed files committed by an atomic rename.

On-disk layout, version 1 (``LAYOUT_VERSION``; the ``VERSION`` file holds the number)::

    root/
    ├── VERSION                     "1": refuse to open a folder laid out any other way
    ├── blobs/
    │   └── sha256/
    │       └── ab/                 the digest's first two hex digits (at most 256 folders)
    │           └── ab12…ef         the full 64 hex digits: one committed blob, read-only
    ├── uploads/
    │   └── <session id>            a resumable upload's bytes so far ([A-Za-z0-9_-]{1,64})
    └── tmp/
        └── put-<random>            a put in flight; a crash's leftovers go via purge_tmp()

A blob file's modification time is when the blob was last put: putting a blob already held
refreshes it (``_refresh``), and ``delete(put_before=…)`` compares against it. Both hold an
``flock`` on the blob file while they look, so a refresh and a removal never interleave.

Every path below ``root`` is built from a digest checked by ``parse_digest`` or a session id
checked by a strict pattern, never from anything else a client sent (DESIGN invariant 8).
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from io import BufferedReader
from pathlib import Path

from cairn.domain.digests import ALGORITHM, hex_of, parse_digest
from cairn.errors import (
    BlobNotFound,
    ConfigError,
    InsufficientStorage,
    IntegrityError,
    InvalidRange,
    UploadNotFound,
    UploadOffsetMismatch,
)
from cairn.storage.blobs.base import BlobEntry, BlobStat, check_declared, check_session_id
from cairn.storage.blobs.hashing import StreamHasher

__all__ = ["DEFAULT_CHUNK_SIZE", "LAYOUT_VERSION", "LocalBlobStore"]

LAYOUT_VERSION = 1
DEFAULT_CHUNK_SIZE = 1024 * 1024
_READ_ONLY = 0o444
_HEX = re.compile(r"[0-9a-f]{64}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class LocalBlobStore:
    """The ``BlobStore`` for one folder; several processes may share it."""

    def __init__(self, root: Path, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> None:
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        self.root = root
        self._chunk_size = chunk_size
        self._blobs = root / "blobs" / ALGORITHM
        self._uploads = root / "uploads"
        self._tmp = root / "tmp"
        self._open_layout()

    def put(
        self, chunks: Iterable[bytes], *, digest: str | None = None, size: int | None = None
    ) -> BlobStat:
        expected = parse_digest(digest) if digest is not None else None
        fd, name = tempfile.mkstemp(dir=self._tmp, prefix="put-")
        tmp = Path(name)
        try:
            try:
                hashing = StreamHasher()
                for chunk in hashing.feed(chunks):
                    _write_all(fd, chunk)
                written = hashing.size
                actual = f"{ALGORITHM}:{hashing.hexdigest()}"
                check_declared(actual, written, expected, size)
                os.fchmod(fd, _READ_ONLY)
                _sync(fd)
            finally:
                os.close(fd)
            return self._commit(tmp, actual, written)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def stat(self, digest: str) -> BlobStat | None:
        checked = parse_digest(digest)
        try:
            return BlobStat(checked, self._blob_path(checked).stat().st_size)
        except FileNotFoundError:
            return None

    def read(self, digest: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        checked = parse_digest(digest)
        try:
            file = self._blob_path(checked).open("rb")
        except FileNotFoundError:
            raise BlobNotFound(f"blob {checked} is not stored", digest=checked) from None
        try:
            size = os.fstat(file.fileno()).st_size
            stop = size if end is None else end
            if not 0 <= start <= stop <= size:
                msg = f"range [{start}, {end}) is not within the blob's {size} bytes"
                raise InvalidRange(msg, start=start, end=end, size=size)
            file.seek(start)
        except BaseException:
            file.close()
            raise
        return _FileChunks(file, stop - start, self._chunk_size)

    def delete(self, digest: str, *, put_before: datetime | None = None) -> bool:
        path = self._blob_path(parse_digest(digest))
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # waits out a put refreshing this blob
            held = os.fstat(fd)
            if held.st_nlink == 0:
                return False  # another delete removed it while we waited
            if put_before is not None and held.st_mtime_ns >= _nanoseconds(put_before):
                return False
            if _inode(path) != (held.st_dev, held.st_ino):
                return False  # a put stored it anew after a removal: that copy is fresh
            # No directory fsync: a delete undone by a crash leaves an orphan for the next GC.
            path.unlink()
            return True
        except FileNotFoundError:
            return False
        finally:
            os.close(fd)

    def iter_blobs(self) -> Iterator[BlobEntry]:
        for fanout in self._blobs.iterdir():
            if not fanout.is_dir():
                continue
            with os.scandir(fanout) as entries:
                for entry in entries:
                    if not _HEX.fullmatch(entry.name) or entry.name[:2] != fanout.name:
                        continue
                    try:
                        found = entry.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue  # deleted since the folder was read
                    if stat.S_ISREG(found.st_mode):
                        modified = _EPOCH + timedelta(microseconds=found.st_mtime_ns // 1000)
                        yield BlobEntry(f"{ALGORITHM}:{entry.name}", found.st_size, modified)

    def presigned_url(self, digest: str) -> str | None:
        parse_digest(digest)
        return None  # only the server reads these bytes

    def session_write(self, session: str, offset: int, chunks: Iterable[bytes]) -> int:
        fd = self._open_session_at(session, offset)
        try:
            os.ftruncate(fd, offset)
            os.lseek(fd, offset, os.SEEK_SET)
            try:
                for chunk in chunks:
                    _write_all(fd, chunk)
                _sync(fd)
            except BaseException:
                # A failed write is not acknowledged, so the session goes back to what it was.
                os.ftruncate(fd, offset)
                raise
            new_size = os.lseek(fd, 0, os.SEEK_CUR)
        finally:
            os.close(fd)
        if offset == 0:
            _fsync_dir(self._uploads)
        return new_size

    def session_size(self, session: str) -> int:
        try:
            return self._session_path(session).stat().st_size
        except FileNotFoundError:
            return 0

    def session_read(self, session: str) -> Iterator[bytes]:
        path = self._session_path(session)
        try:
            file = path.open("rb")
        except FileNotFoundError:
            return iter(())
        return _FileChunks(file, os.fstat(file.fileno()).st_size, self._chunk_size)

    def session_commit(self, session: str, digest: str) -> BlobStat:
        checked = parse_digest(digest)
        source = self._session_path(session)
        self._lock_path(session).unlink(missing_ok=True)  # a holder keeps its open lock
        held = self._refresh(self._blob_path(checked))
        if held is not None:
            source.unlink(missing_ok=True)
            return BlobStat(checked, held)
        try:
            fd = os.open(source, os.O_RDONLY)
        except FileNotFoundError:
            raise UploadNotFound(f"upload {session} does not exist", session=session) from None
        try:
            # The session may have sat idle for hours; the blob counts as put now.
            os.utime(fd)
            # Fsync again: the bytes must be durable before the rename, whatever wrote them.
            os.fchmod(fd, _READ_ONLY)
            os.fsync(fd)
            size = os.fstat(fd).st_size
        finally:
            os.close(fd)
        return self._commit(source, checked, size)

    def session_delete(self, session: str) -> None:
        self._session_path(session).unlink(missing_ok=True)
        self._lock_path(session).unlink(missing_ok=True)

    @contextmanager
    def session_lock(self, session: str) -> Iterator[None]:
        # flock: exclusive between processes and between threads (each opens its own file).
        fd = os.open(self._lock_path(session), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def purge_stale(self, older_than_seconds: float) -> int:
        """Remove files in ``tmp/`` older than ``older_than_seconds``: a crashed put's leftovers.

        The age keeps a put that is still streaming from losing its file under it.
        """
        cutoff = time.time() - older_than_seconds
        removed = 0
        for entry in self._tmp.iterdir():
            try:
                if entry.stat().st_mtime < cutoff:
                    entry.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed

    def _commit(self, source: Path, digest: str, size: int) -> BlobStat:
        """Rename durable bytes at ``source`` into place as ``digest``, or drop them if present."""
        target = self._blob_path(digest)
        if self._refresh(target) is not None:
            source.unlink(missing_ok=True)
            return BlobStat(digest, size)
        fanout = target.parent
        try:
            fanout.mkdir()
        except FileExistsError:
            pass
        else:
            _fsync_dir(fanout.parent)
        source.replace(target)
        _fsync_dir(fanout)
        return BlobStat(digest, size)

    @staticmethod
    def _refresh(target: Path) -> int | None:
        """Count a put of a blob already held as a put now, so the GC's grace runs from it;
        return its size, or ``None`` if it is not held (or was deleted while this waited), in
        which case the caller stores it anew."""
        try:
            fd = os.open(target, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # not while a delete is deciding on this file
            held = os.fstat(fd)
            if held.st_nlink == 0:
                return None
            os.utime(fd)
            os.fsync(fd)  # the new time must survive a crash, or a GC might act on the old
            return held.st_size
        finally:
            os.close(fd)

    def _blob_path(self, checked_digest: str) -> Path:
        hexdigest = hex_of(checked_digest)
        return self._blobs / hexdigest[:2] / hexdigest

    def _open_session_at(self, session: str, offset: int) -> int:
        """Open the session for writing at ``offset``, which must not lie past its end."""
        path = self._session_path(session)
        # Only offset 0 may start a session, so a stray resume never creates an empty one.
        flags = os.O_RDWR | (os.O_CREAT if offset == 0 else 0)
        try:
            fd = os.open(path, flags, 0o644)
        except FileNotFoundError:
            held = 0
        else:
            held = os.fstat(fd).st_size
            if 0 <= offset <= held:
                return fd
            os.close(fd)
        raise UploadOffsetMismatch(
            f"upload {session} holds {held} bytes, not {offset}", offset=offset, size=held
        )

    def _lock_path(self, session: str) -> Path:
        return self._uploads / f"{check_session_id(session)}.lock"

    def _session_path(self, session: str) -> Path:
        return self._uploads / check_session_id(session)

    def _open_layout(self) -> None:
        marker = self.root / "VERSION"
        try:
            found = marker.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            found = None
        if found is not None and found != str(LAYOUT_VERSION):
            raise ConfigError(
                f"CAIRN_BLOB_URL: {self.root} holds blob layout {found[:20]!r}, "
                f"this Cairn reads layout {LAYOUT_VERSION}",
                setting="CAIRN_BLOB_URL",
            )
        for folder in (self._blobs, self._uploads, self._tmp):
            folder.mkdir(parents=True, exist_ok=True)
        if found is None:
            fd, name = tempfile.mkstemp(dir=self._tmp, prefix="version-")
            try:
                _write_all(fd, f"{LAYOUT_VERSION}\n".encode("ascii"))
                os.fsync(fd)
            finally:
                os.close(fd)
            Path(name).replace(marker)
            _fsync_dir(self.root)


class _FileChunks(Iterator[bytes]):
    """Up to ``remaining`` bytes of an open file, in chunks; closes the file when done.

    A class rather than a generator so that an iterator dropped before its first ``next``
    still closes its file.
    """

    def __init__(self, file: BufferedReader, remaining: int, chunk_size: int) -> None:
        self._file = file
        self._remaining = remaining
        self._chunk_size = chunk_size

    def __next__(self) -> bytes:
        if self._remaining <= 0:
            self.close()
            raise StopIteration
        chunk = self._file.read(min(self._chunk_size, self._remaining))
        if not chunk:
            self.close()
            raise IntegrityError("a blob file shrank while it was being read")
        self._remaining -= len(chunk)
        return chunk

    def close(self) -> None:
        self._remaining = 0
        self._file.close()

    def __del__(self) -> None:
        self._file.close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    with _space_checked():
        while view:
            view = view[os.write(fd, view) :]


def _sync(fd: int) -> None:
    with _space_checked():  # a filesystem may find itself full only when it writes back
        os.fsync(fd)


@contextmanager
def _space_checked() -> Iterator[None]:
    """A full disk (or quota) is ``InsufficientStorage``; the callers remove what they wrote."""
    try:
        yield
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise InsufficientStorage("the blob store's disk is full") from exc
        raise


def _nanoseconds(when: datetime) -> int:
    return (when - _EPOCH) // timedelta(microseconds=1) * 1000


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        found = path.stat()
    except FileNotFoundError:
        return None
    return found.st_dev, found.st_ino


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
