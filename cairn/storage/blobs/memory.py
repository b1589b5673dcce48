"""A blob store in process memory, for tests: the local store's behaviour without the disk.

Nothing survives the process, so "durable" here means "visible to every later call".
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from cairn.domain.digests import ALGORITHM, parse_digest
from cairn.errors import (
    BlobNotFound,
    InvalidRange,
    UploadNotFound,
    UploadOffsetMismatch,
)
from cairn.storage.blobs.base import BlobEntry, BlobStat, check_declared, check_session_id

__all__ = ["MemoryBlobStore"]

DEFAULT_CHUNK_SIZE = 1024 * 1024


class MemoryBlobStore:
    """The ``BlobStore`` held in two dicts; safe to share between threads."""

    def __init__(self, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> None:
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        self._chunk_size = chunk_size
        self._lock = threading.Lock()
        self._blobs: dict[str, bytes] = {}
        self._put_at: dict[str, datetime] = {}  # when each blob was last put
        self._sessions: dict[str, bytes] = {}
        self._holds: dict[str, threading.Lock] = {}

    def put(
        self, chunks: Iterable[bytes], *, digest: str | None = None, size: int | None = None
    ) -> BlobStat:
        expected = parse_digest(digest) if digest is not None else None
        # The chunks are gathered outside the lock: they may come from a slow client.
        data = b"".join(chunks)
        actual = f"{ALGORITHM}:{hashlib.sha256(data).hexdigest()}"
        check_declared(actual, len(data), expected, size)
        with self._lock:
            self._blobs.setdefault(actual, data)
            self._put_at[actual] = datetime.now(UTC)
        return BlobStat(actual, len(data))

    def stat(self, digest: str) -> BlobStat | None:
        checked = parse_digest(digest)
        with self._lock:
            data = self._blobs.get(checked)
        return None if data is None else BlobStat(checked, len(data))

    def read(self, digest: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        checked = parse_digest(digest)
        with self._lock:
            data = self._blobs.get(checked)
        if data is None:
            raise BlobNotFound(f"blob {checked} is not stored", digest=checked)
        size = len(data)
        stop = size if end is None else end
        if not 0 <= start <= stop <= size:
            msg = f"range [{start}, {end}) is not within the blob's {size} bytes"
            raise InvalidRange(msg, start=start, end=end, size=size)
        return self._chunks(data, start, stop)

    def delete(self, digest: str, *, put_before: datetime | None = None) -> bool:
        checked = parse_digest(digest)
        with self._lock:
            put_at = self._put_at.get(checked)
            if put_at is None or (put_before is not None and put_at >= put_before):
                return False
            del self._blobs[checked], self._put_at[checked]
            return True

    def iter_blobs(self) -> Iterator[BlobEntry]:
        with self._lock:
            found = [BlobEntry(d, len(data), self._put_at[d]) for d, data in self._blobs.items()]
        return iter(found)

    def presigned_url(self, digest: str) -> str | None:
        parse_digest(digest)
        return None  # only the server reads these bytes

    def session_write(self, session: str, offset: int, chunks: Iterable[bytes]) -> int:
        check_session_id(session)
        with self._lock:
            _check_offset(session, offset, len(self._sessions.get(session, b"")))
        data = b"".join(chunks)
        with self._lock:
            # Checked again: another writer may have shortened the session meanwhile.
            held = self._sessions.get(session, b"")
            _check_offset(session, offset, len(held))
            self._sessions[session] = held[:offset] + data
        return offset + len(data)

    def session_size(self, session: str) -> int:
        check_session_id(session)
        with self._lock:
            return len(self._sessions.get(session, b""))

    def session_read(self, session: str) -> Iterator[bytes]:
        check_session_id(session)
        with self._lock:
            data = self._sessions.get(session, b"")
        return self._chunks(data, 0, len(data))

    def session_commit(self, session: str, digest: str) -> BlobStat:
        checked = parse_digest(digest)
        check_session_id(session)
        with self._lock:
            data = self._sessions.pop(session, None)
            self._holds.pop(session, None)
            stored = self._blobs.get(checked, data)
            if stored is None:
                raise UploadNotFound(f"upload {session} does not exist", session=session)
            self._blobs[checked] = stored
            self._put_at[checked] = datetime.now(UTC)
            return BlobStat(checked, len(stored))

    def session_delete(self, session: str) -> None:
        check_session_id(session)
        with self._lock:
            self._sessions.pop(session, None)
            self._holds.pop(session, None)

    @contextmanager
    def session_lock(self, session: str) -> Iterator[None]:
        check_session_id(session)
        with self._lock:
            hold = self._holds.setdefault(session, threading.Lock())
        with hold:
            yield

    def purge_stale(self, older_than_seconds: float) -> int:
        return 0  # a put in memory leaves nothing behind when it fails

    def _chunks(self, data: bytes, start: int, stop: int) -> Iterator[bytes]:
        view = memoryview(data)
        for at in range(start, stop, self._chunk_size):
            yield bytes(view[at : min(at + self._chunk_size, stop)])


def _check_offset(session: str, offset: int, held: int) -> None:
    # Only offset 0 may start a session, as in the local store.
    if not 0 <= offset <= held:
        raise UploadOffsetMismatch(
            f"upload {session} holds {held} bytes, not {offset}", offset=offset, size=held
        )
