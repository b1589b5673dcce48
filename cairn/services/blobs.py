"""Blobs: which are missing, single-request uploads, resumable upload sessions, verified reads.

Bytes are always made durable in the blob store *before* the ``blobs`` row that vouches for
them is committed (DESIGN invariant 2). Upload sessions live in the database and the blob
store, so any server process can continue any session; the running hash kept here in memory
is only a shortcut, and a session continued elsewhere is hashed again from its bytes.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cairn.domain.digests import MISSING_MAX, parse_digest
from cairn.domain.records import UploadSession
from cairn.errors import (
    BlobCorrupt,
    BlobNotFound,
    DigestMismatch,
    InvalidInput,
    InvalidRange,
    SizeMismatch,
    UploadNotFound,
    UploadOffsetMismatch,
)
from cairn.faults import crash_point
from cairn.services.auth import EVERYWHERE, Actor, Permission, authorize
from cairn.services.resolve import get_namespace, namespace_key
from cairn.services.uow import Database
from cairn.storage.blobs import BlobStat, BlobStore
from cairn.storage.blobs.base import check_session_id
from cairn.storage.blobs.hashing import StreamHasher

log = logging.getLogger("cairn.blobs")
VERIFY_UP_FRONT = 8 << 20


@dataclass(frozen=True, slots=True)
class BlobRead:
    """An open read: the chunks to send and what to say about them."""

    digest: str
    size: int
    start: int
    end: int  # exclusive
    chunks: Iterator[bytes]


class BlobService:
    """Blobs as each namespace sees them: stored once, readable through a namespace only when
    one of its versions or uploads holds them (``blob_links``). Nothing here answers whether
    another namespace holds a digest: a blob held only elsewhere is missing, as one stored
    nowhere, and an upload of bytes the store already has is received whole, hashed, and then
    linked (the client proves it has the bytes by sending them)."""

    def __init__(self, db: Database, store: BlobStore, upload_ttl: timedelta) -> None:
        self.db = db
        self.store = store
        self.upload_ttl = upload_ttl
        self._hashers: dict[str, tuple[int, Any]] = {}
        self._lock = threading.Lock()

    def missing(self, actor: Actor, namespace: str, digests: object) -> list[str]:
        """Which of ``digests`` namespace ``namespace`` does not hold, in the order given."""
        if not isinstance(digests, list) or len(digests) > MISSING_MAX:
            raise InvalidInput(f"digests is a list of at most {MISSING_MAX} digests")
        checked = [parse_digest(d) for d in digests]
        with self.db.read(actor, namespace, Permission.WRITE) as store:
            ns = get_namespace(store, namespace)
            known = store.blobs.held(namespace_key(ns.name), checked)
        return list(dict.fromkeys(d for d in checked if d not in known))

    def put(
        self, actor: Actor, namespace: str, chunks: Iterable[bytes], digest: str, size: int
    ) -> BlobStat:
        """Store one blob sent whole into ``namespace``; the bytes must hash to ``digest`` and
        count ``size``. Bytes the store holds already are hashed as they arrive and stored
        nothing more (``BlobStore.put``)."""
        digest = parse_digest(digest)
        authorize(actor, Permission.WRITE, namespace)
        with self.db.read(actor, namespace, Permission.WRITE) as store:
            get_namespace(store, namespace)  # before reading any byte
            known = store.blobs.held(namespace_key(namespace), [digest])
        if digest in known:
            for _ in chunks:  # drain the body so the connection stays usable
                pass
            return BlobStat(digest, known[digest])
        stat = self.store.put(_received(chunks), digest=digest, size=size)
        self._register(actor, namespace, stat)
        return stat

    def store_stream(
        self, actor: Actor, namespace: str, chunks: Iterable[bytes], size: int
    ) -> BlobStat:
        """Store bytes the server fetched itself (an import) into ``namespace``: hashed while
        stored, under the digest they have; ``size`` is what the source said they count."""
        authorize(actor, Permission.WRITE, namespace)
        stat = self.store.put(chunks, size=size)
        self._register(actor, namespace, stat)
        return stat

    def direct_url(self, actor: Actor, namespace: str, digest: str) -> str | None:
        """A presigned URL to fetch the blob from the store itself, when the store is configured
        to give one (S3 with ``CAIRN_S3_PRESIGN_SECONDS``); None to stream it through here."""
        self.stat(
            actor, namespace, digest
        )  # authorises; BlobNotFound unless ``namespace`` holds it
        return self.store.presigned_url(parse_digest(digest))

    def stat(self, actor: Actor, namespace: str, digest: str) -> BlobStat:
        """The blob, if ``namespace`` holds it; else ``BlobNotFound``, whoever else holds it."""
        digest = parse_digest(digest)
        with self.db.read(actor, namespace) as store:
            size = store.blobs.held(namespace_key(namespace), [digest]).get(digest)
        if size is None:
            raise BlobNotFound(f"no blob {digest} in namespace {namespace!r}", digest=digest)
        return BlobStat(digest, size)

    def read(
        self, actor: Actor, namespace: str, digest: str, start: int = 0, end: int | None = None
    ) -> BlobRead:
        """Open ``[start, end)`` of a blob ``namespace`` holds (``end`` past the blob's size
        means its end, as in HTTP ranges); see ``read_named``."""
        return self._open(self.stat(actor, namespace, digest), start, end)

    def read_named(self, digest: str, size: int) -> BlobRead:
        """Open the whole of a blob that a record the caller was allowed to read names (a
        version's file, a logged artifact): that record, not a link, is what gives access."""
        return self._open(BlobStat(parse_digest(digest), size), 0, None)

    def _open(self, stat: BlobStat, start: int, end: int | None) -> BlobRead:
        # A read of the whole blob is verified as it streams: if the stored bytes do not hash
        # to the digest, the stream fails before its last chunk, so a corrupt blob is never
        # delivered as a complete, successful response.
        stop = stat.size if end is None else min(end, stat.size)
        if start < 0 or start > stop or (start == stop and start > 0):
            raise InvalidRange(f"range from {start} is outside 0-{stat.size}", size=stat.size)
        chunks = self.store.read(stat.digest, start, stop)
        if start == 0 and stop == stat.size:
            if stat.size <= VERIFY_UP_FRONT:
                # Small enough to check before the response starts: a clean error, not a cut.
                whole = b"".join(chunks)
                _check(hashlib.sha256(whole), stat.digest)
                chunks = iter([whole])
            else:
                chunks = _verified(chunks, stat.digest)
        return BlobRead(stat.digest, stat.size, start, stop, chunks)

    # Upload sessions: each belongs to the namespace it was opened in, and is unknown elsewhere.

    def start_upload(self, actor: Actor, namespace: str) -> UploadSession:
        session_id = uuid.uuid4().hex
        with self.db.write(actor, Permission.WRITE, namespace) as uow:
            ns = get_namespace(uow.store, namespace)
            return uow.store.uploads.create(
                session_id, ns.id, actor.name, uow.now, uow.now + self.upload_ttl
            )

    def upload_status(self, actor: Actor, namespace: str, session_id: str) -> UploadSession:
        # Checked before the look-up: PostgreSQL refuses some strings (NUL) as a parameter.
        check_session_id(session_id)
        with self.db.read(actor, namespace, Permission.WRITE) as store:
            return _session(store.uploads.get(session_id, namespace_key(namespace)), session_id)

    def append(
        self,
        actor: Actor,
        namespace: str,
        session_id: str,
        offset: int,
        chunks: Iterable[bytes],
        length: int | None = None,
    ) -> UploadSession:
        """Append bytes at exactly ``offset`` (the session's current length)."""
        # An unknown session (or another namespace's) gets no lock file either.
        self.upload_status(actor, namespace, session_id)
        # One append at a time per session, in every process: the offset is checked, the
        # bytes written and the new offset recorded before the next caller may look.
        with self.store.session_lock(session_id):
            return self._append(actor, namespace, session_id, offset, chunks, length)

    def _append(
        self,
        actor: Actor,
        namespace: str,
        session_id: str,
        offset: int,
        chunks: Iterable[bytes],
        length: int | None,
    ) -> UploadSession:
        session = self.upload_status(actor, namespace, session_id)
        if offset != session.offset:
            raise UploadOffsetMismatch(
                f"this session holds {session.offset} bytes; append at that offset, not {offset}",
                offset=session.offset,
            )
        running = self._hasher_for(session_id, offset)
        counted = StreamHasher(running) if running is not None else None
        new_offset = self.store.session_write(
            session_id, offset, counted.feed(chunks) if counted else chunks
        )
        received = new_offset - offset
        if length is not None and received != length:
            self.store.session_write(session_id, offset, [])  # a refused append keeps nothing
            raise SizeMismatch(f"declared {length} bytes, received {received}")
        key = namespace_key(namespace)
        with self.db.write(actor, Permission.WRITE, namespace) as uow:
            current = _session(uow.store.uploads.get(session_id, key, lock=True), session_id)
            if current.offset != offset:
                raise UploadOffsetMismatch(
                    "another request appended to this session first", offset=current.offset
                )
            expires = uow.now + self.upload_ttl
            uow.store.uploads.advance(session_id, new_offset, uow.now, expires)
        if counted is not None:
            counted.hexdigest()  # waits for the helper thread; the hasher stays usable
            with self._lock:
                self._hashers[session_id] = (new_offset, counted.hasher)
        return UploadSession(
            session_id, new_offset, session.created_by, session.created_at, expires
        )

    def finish(
        self,
        actor: Actor,
        namespace: str,
        session_id: str,
        digest: str,
        tail: Iterable[bytes] | None = None,
        length: int | None = None,
    ) -> BlobStat:
        """Check the session's bytes — with ``tail`` appended first, when given (OCI's last
        chunk) — hash to ``digest``, turn them into that blob and link it into the session's
        namespace. A refusal leaves the session as it was before this call, ``tail`` taken off
        again: the client may finish again with the right digest, or go on appending."""
        digest = parse_digest(digest)
        self.upload_status(actor, namespace, session_id)  # no lock file for an unknown one
        with self.store.session_lock(session_id):
            if tail is None:
                return self._finish(actor, namespace, session_id, digest)
            before = self.upload_status(actor, namespace, session_id).offset
            self._append(actor, namespace, session_id, before, tail, length)
            try:
                return self._finish(actor, namespace, session_id, digest)
            except DigestMismatch:
                self._take_back(actor, namespace, session_id, before)
                raise

    def _take_back(self, actor: Actor, namespace: str, session_id: str, offset: int) -> None:
        """Cut the session back to ``offset`` bytes, in the store and in its row."""
        self.store.session_write(session_id, offset, [])
        with self._lock:
            self._hashers.pop(session_id, None)
        key = namespace_key(namespace)
        with self.db.write(actor, Permission.WRITE, namespace) as uow:
            _session(uow.store.uploads.get(session_id, key, lock=True), session_id)
            uow.store.uploads.advance(session_id, offset, uow.now, uow.now + self.upload_ttl)

    def _finish(self, actor: Actor, namespace: str, session_id: str, digest: str) -> BlobStat:
        session = self.upload_status(actor, namespace, session_id)
        with self._lock:
            cached = self._hashers.pop(session_id, None)
        if cached is not None and cached[0] == session.offset:
            actual = "sha256:" + cached[1].hexdigest()
        else:
            hasher = hashlib.sha256()
            for chunk in self.store.session_read(session_id):
                hasher.update(chunk)
            actual = "sha256:" + hasher.hexdigest()
        if actual != digest:
            # Refused: the session stays as it was, its running hash too.
            if cached is not None and cached[0] == session.offset:
                with self._lock:
                    self._hashers.setdefault(session_id, cached)
            raise DigestMismatch(
                f"the uploaded bytes hash to {actual}, not {digest}; the session is kept: "
                "finish it with the right digest, or append the rest first",
                expected=digest,
                actual=actual,
            )
        stat = self.store.session_commit(session_id, digest)
        self._register(actor, namespace, stat, session_id=session_id)
        return stat

    def cancel(self, actor: Actor, namespace: str, session_id: str) -> None:
        check_session_id(session_id)
        with self.db.write(actor, Permission.WRITE, namespace) as uow:
            _session(uow.store.uploads.get(session_id, namespace_key(namespace)), session_id)
            uow.store.uploads.delete(session_id)
        self.store.session_delete(session_id)
        with self._lock:
            self._hashers.pop(session_id, None)

    def purge_expired(self, actor: Actor) -> int:
        """Drop upload sessions untouched for longer than their time to live."""
        with self.db.write(actor, Permission.ADMIN, EVERYWHERE) as uow:
            expired = uow.store.uploads.expired(uow.now)
            for session_id in expired:
                uow.store.uploads.delete(session_id)
            if expired:
                uow.record("upload.purge", "uploads", sessions=len(expired), event=False)
        for session_id in expired:
            self.store.session_delete(session_id)
        return len(expired)

    def _register(
        self, actor: Actor, namespace: str, stat: BlobStat, session_id: str | None = None
    ) -> None:
        with self.db.write(actor, Permission.WRITE, namespace) as uow:
            uow.store.blobs.add(stat.digest, stat.size, uow.now)
            uow.store.blobs.link(namespace_key(namespace), [stat.digest], uow.now)
            if session_id is not None:
                uow.store.uploads.delete(session_id)

    def _hasher_for(self, session_id: str, offset: int) -> Any:
        with self._lock:
            cached = self._hashers.pop(session_id, None)
        if cached is not None and cached[0] == offset:
            return cached[1]
        return hashlib.sha256() if offset == 0 else None


def _verified(chunks: Iterator[bytes], digest: str) -> Iterator[bytes]:
    # Each chunk is hashed in a helper thread while the one before it goes out; the last is
    # held back until the whole blob is known to match.
    hashing = StreamHasher()
    held: bytes | None = None
    for chunk in hashing.feed(chunks):
        if held is not None:
            yield held
        held = chunk
    _check(hashing.hasher, digest)
    if held is not None:
        yield held


def _check(hasher: Any, digest: str) -> None:
    if "sha256:" + hasher.hexdigest() != digest:
        log.error("integrity failure: the stored bytes of %s do not match it", digest)
        raise BlobCorrupt(f"the stored bytes of {digest} are corrupt", digest=digest)


def _session(found: UploadSession | None, session_id: str) -> UploadSession:
    if found is None:
        raise UploadNotFound(f"no upload session {session_id[:80]!r}", session=session_id[:80])
    return found


def _received(chunks: Iterable[bytes]) -> Iterator[bytes]:
    for index, chunk in enumerate(chunks):
        if index == 1:
            crash_point("blob-receiving")
        yield chunk
