"""``S3BlobStore``: the BlobStore over an S3 bucket; the layout and the protocols are drawn in
this package's docstring (``cairn/storage/blobs/s3/__init__.py``)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from cairn.domain.digests import ALGORITHM, hex_of, parse_digest
from cairn.errors import (
    BlobNotFound,
    CairnError,
    ConfigError,
    InvalidRange,
    StorageUnavailable,
    UploadNotFound,
)
from cairn.storage.blobs.base import BlobEntry, BlobStat, check_declared, check_session_id
from cairn.storage.blobs.hashing import StreamHasher
from cairn.storage.blobs.s3.bucket import Bucket, Listed, S3Options
from cairn.storage.blobs.s3.lease import LEASE_SECONDS, Lease
from cairn.storage.blobs.s3.sessions import SessionPieces, contiguous
from cairn.storage.blobs.s3.staging import (
    MIN_PART,
    Single,
    Span,
    Staged,
    assemble,
    discard_quietly,
    read_range,
    stage,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["LAYOUT_VERSION", "S3BlobStore"]

LAYOUT_VERSION = 1
DEFAULT_CHUNK_SIZE = 1 << 20
DEFAULT_PART_SIZE = 8 << 20
_BLOB_KEY = re.compile(r"blobs/sha256/([0-9a-f]{2})/([0-9a-f]{64})(?:\.put-([0-9]{20}))?")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Without a put marker (a crash between a blob's bytes and its marker), the object's own time
# stands in, rounded up: S3 gives it to the second.
_COARSE = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class _Held:
    """A committed blob as one listing of its key shows it."""

    size: int
    last_put: datetime
    markers: list[str]


class S3BlobStore:
    """The ``BlobStore`` in an S3 bucket; any number of processes may share it."""

    def __init__(
        self,
        bucket: Bucket,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        part_size: int = DEFAULT_PART_SIZE,
        lease_seconds: float = LEASE_SECONDS,
        presign_seconds: int = 0,
    ) -> None:
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        if part_size < MIN_PART:
            raise ValueError(f"part_size must be at least {MIN_PART} (S3's smallest part)")
        self.bucket = bucket
        self._sessions = SessionPieces(bucket, part_size)
        self._chunk_size, self._part_size = chunk_size, part_size
        self._lease_seconds, self._presign_seconds = lease_seconds, presign_seconds

    @classmethod
    def open(
        cls,
        url: str,
        options: S3Options,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        part_size: int = DEFAULT_PART_SIZE,
        lease_seconds: float = LEASE_SECONDS,
        client: S3Client | None = None,
    ) -> S3BlobStore:
        """The store that ``s3://bucket/prefix`` names, its layout checked (and written, in an
        empty prefix); ``client``: one already made from ``options``, to share."""
        parsed = urlparse(url)
        if not _BUCKET.fullmatch(parsed.netloc):
            raise ConfigError(
                f"CAIRN_BLOB_URL: {parsed.netloc!r} is not an S3 bucket name "
                "(s3://bucket/optional/prefix)",
                setting="CAIRN_BLOB_URL",
            )
        prefix = parsed.path.strip("/")
        client = client if client is not None else options.client()
        bucket = Bucket(client, parsed.netloc, prefix + "/" if prefix else "", options.encryption())
        store = cls(
            bucket,
            chunk_size=chunk_size,
            part_size=part_size,
            lease_seconds=lease_seconds,
            presign_seconds=options.presign_seconds,
        )
        store._open_layout()
        return store

    # Blobs

    def put(
        self, chunks: Iterable[bytes], *, digest: str | None = None, size: int | None = None
    ) -> BlobStat:
        expected = parse_digest(digest) if digest is not None else None
        hashing = StreamHasher()
        # A declared digest names the final key at once: a multipart upload is invisible until
        # completed, so the bytes go there directly and are never copied.
        key = _blob_key(hex_of(expected)) if expected else f"tmp/put-{uuid.uuid4().hex}"
        staged = stage(self.bucket, key, hashing.feed(chunks), self._part_size)
        temporary: str | None = None
        try:
            actual = f"{ALGORITHM}:{hashing.hexdigest()}"
            check_declared(actual, hashing.size, expected, size)
            target = _blob_key(hex_of(actual))
            if isinstance(staged, Single):
                staged = Single(self.bucket, target, staged.data)
            elif expected is None:
                # Complete under tmp/, then copy server-side under the digest now known.
                staged.commit()
                temporary = key
                spans = [Span(key, 0, staged.size)]
                staged = assemble(
                    self.bucket,
                    target,
                    spans,
                    part_size=self._part_size,
                    chunk_size=self._chunk_size,
                )
            return BlobStat(actual, self._commit(hex_of(actual), staged))
        except BaseException:
            discard_quietly(staged)
            raise
        finally:
            if temporary is not None:
                self.bucket.delete(temporary)

    def stat(self, digest: str) -> BlobStat | None:
        checked = parse_digest(digest)
        found = self.bucket.head(_blob_key(hex_of(checked)))
        return None if found is None else BlobStat(checked, found.size)

    def read(self, digest: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        checked = parse_digest(digest)
        key = _blob_key(hex_of(checked))
        found = self.bucket.head(key)
        if found is None:
            raise BlobNotFound(f"blob {checked} is not stored", digest=checked)
        stop = found.size if end is None else end
        if not 0 <= start <= stop <= found.size:
            msg = f"range [{start}, {end}) is not within the blob's {found.size} bytes"
            raise InvalidRange(msg, start=start, end=end, size=found.size)

        def gone(_key: str) -> CairnError:
            return BlobNotFound(f"blob {checked} was deleted while it was read", digest=checked)

        return read_range(self.bucket, key, start, stop, self._chunk_size, missing=gone)

    def delete(self, digest: str, *, put_before: datetime | None = None) -> bool:
        hexdigest = hex_of(parse_digest(digest))
        with self._blob_lease(hexdigest) as lease:
            held = self._look(hexdigest)
            if held is None:
                return False
            if put_before is not None and (held.last_put >= put_before or not lease.fresh()):
                return False  # put since; or this lease may have lapsed: a later run decides
            for marker in held.markers:  # first, so a crash here leaves no orphan marker
                self.bucket.delete(marker)
            self.bucket.delete(_blob_key(hexdigest))
            return True

    def iter_blobs(self) -> Iterator[BlobEntry]:
        pending: BlobEntry | None = None
        for item in self.bucket.listing("blobs/sha256/"):
            match = _BLOB_KEY.fullmatch(item.key)
            if match is None or match[2][:2] != match[1]:
                continue
            digest = f"{ALGORITHM}:{match[2]}"
            if match[3] is None:
                if pending is not None:
                    yield pending
                pending = BlobEntry(digest, item.size, item.modified + _COARSE)
            elif pending is not None and pending.digest == digest:
                # Markers list right after their blob, oldest first: the last one wins.
                pending = BlobEntry(digest, pending.size, _marker_time(match[3]))
        if pending is not None:
            yield pending

    def presigned_url(self, digest: str) -> str | None:
        if self._presign_seconds <= 0:
            return None
        return self.bucket.presign_get(
            _blob_key(hex_of(parse_digest(digest))), self._presign_seconds
        )

    # Upload sessions

    def session_write(self, session: str, offset: int, chunks: Iterable[bytes]) -> int:
        return self._sessions.write(session, offset, chunks)

    def session_size(self, session: str) -> int:
        return contiguous(self._sessions.pieces(session))[1]

    def session_read(self, session: str) -> Iterator[bytes]:
        spans, _ = contiguous(self._sessions.pieces(session))
        return self._read_spans(spans)

    def session_commit(self, session: str, digest: str) -> BlobStat:
        hexdigest = hex_of(parse_digest(digest))
        pieces = self._sessions.pieces(session)
        stored = self._refresh(hexdigest) if self._look(hexdigest) is not None else None
        if stored is None:
            if not pieces or pieces[0].offset != 0:
                raise UploadNotFound(f"upload {session} does not exist", session=session)
            spans, _ = contiguous(pieces)
            target = _blob_key(hexdigest)
            staged = assemble(
                self.bucket, target, spans, part_size=self._part_size, chunk_size=self._chunk_size
            )
            stored = self._commit(hexdigest, staged)
        # Only now: a crash before this line leaves the pieces behind, but never loses bytes.
        self._sessions.drop(pieces)
        return BlobStat(f"{ALGORITHM}:{hexdigest}", stored)

    def session_delete(self, session: str) -> None:
        self._sessions.drop(self._sessions.pieces(session))

    def session_lock(self, session: str) -> AbstractContextManager[None]:
        key = f"locks/sessions/{check_session_id(session)}"
        return _Holding(Lease(self.bucket, key, seconds=self._lease_seconds))

    def purge_stale(self, older_than_seconds: float) -> int:
        """Abort multipart uploads begun, and remove temporary objects and locks written, longer
        ago than ``older_than_seconds``: the leftovers of crashed puts and holders."""
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than_seconds)
        removed = 0
        for upload in self.bucket.uploads():
            if upload.initiated < cutoff:
                self.bucket.abort_upload(upload.key, upload.upload_id)
                removed += 1
        for prefix in ("tmp/", "locks/"):
            for item in self.bucket.listing(prefix):
                if item.modified < cutoff and self.bucket.delete(item.key, if_match=item.etag):
                    removed += 1
        return removed

    # Helpers

    def _commit(self, hexdigest: str, staged: Staged) -> int:
        """Make ``staged`` the blob, or drop it if the blob is held already; either way the
        blob counts as put now. Runs under the blob's lock, so no delete interleaves."""
        try:
            with self._blob_lease(hexdigest) as lease:
                held = self._look(hexdigest)
                if held is None:
                    staged.commit()
                    size = staged.size
                else:
                    staged.discard()
                    size = held.size
                self._mark_put(hexdigest, held.markers if held else [], lease)
        except BaseException:
            discard_quietly(staged)
            raise
        return size

    def _refresh(self, hexdigest: str) -> int | None:
        """Count a held blob as put now; its size, or ``None`` if it is not held."""
        with self._blob_lease(hexdigest) as lease:
            held = self._look(hexdigest)
            if held is None:
                return None
            self._mark_put(hexdigest, held.markers, lease)
            return held.size

    def _mark_put(self, hexdigest: str, old_markers: list[str], lease: Lease) -> None:
        when = datetime.now(UTC)
        micros = (when - _EPOCH) // timedelta(microseconds=1)
        self.bucket.put(f"{_blob_key(hexdigest)}.put-{micros:020d}", b"")
        for marker in old_markers:  # after the new one: never a moment without a marker
            self.bucket.delete(marker)
        if not lease.fresh():
            # Every write above was answered, but the lock may have lapsed before it landed, and
            # a delete come between: do not call the blob put (the caller puts it again).
            raise StorageUnavailable(
                f"the lock on blob {hexdigest} lapsed while it was put; put it again",
                digest=f"{ALGORITHM}:{hexdigest}",
            )

    def _look(self, hexdigest: str) -> _Held | None:
        key = _blob_key(hexdigest)
        blob: Listed | None = None
        markers: list[Listed] = []
        times: list[datetime] = []
        for item in self.bucket.listing(key):
            match = _BLOB_KEY.fullmatch(item.key)
            if match is None:
                continue
            if match[3] is None:
                blob = item
            else:
                markers.append(item)
                times.append(_marker_time(match[3]))
        if blob is None:
            return None
        last_put = max(times) if times else blob.modified + _COARSE
        return _Held(blob.size, last_put, [m.key for m in markers])

    def _blob_lease(self, hexdigest: str) -> Lease:
        return Lease(self.bucket, f"locks/blobs/{hexdigest}", seconds=self._lease_seconds)

    def _read_spans(self, spans: list[Span]) -> Iterator[bytes]:
        for span in spans:
            yield from read_range(
                self.bucket, span.key, span.start, span.start + span.length, self._chunk_size
            )

    def _open_layout(self) -> None:
        found = self.bucket.read_small("VERSION")
        if found is None:
            self.bucket.put("VERSION", f"{LAYOUT_VERSION}\n".encode(), if_absent=True)
            found = self.bucket.read_small("VERSION")
        if found is None or found.strip() != str(LAYOUT_VERSION).encode():
            shown = found.decode("ascii", "replace").strip()[:20] if found else None
            raise ConfigError(
                f"CAIRN_BLOB_URL: {self.bucket.name}/{self.bucket.prefix} holds blob layout "
                f"{shown!r}, this Cairn reads layout {LAYOUT_VERSION}",
                setting="CAIRN_BLOB_URL",
            )
        # The locks rest on conditional writes: refuse a service that ignores them.
        if self.bucket.put("VERSION", found, if_absent=True) is not None:
            raise ConfigError(
                f"CAIRN_BLOB_URL: the S3 service holding {self.bucket.name} ignores conditional "
                "writes (If-None-Match), which Cairn's locks need",
                setting="CAIRN_BLOB_URL",
            )


class _Holding(AbstractContextManager[None]):
    """A lease as the protocol's ``session_lock`` gives it: entered, it yields nothing."""

    def __init__(self, lease: Lease) -> None:
        self._lease = lease

    def __enter__(self) -> None:
        self._lease.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._lease.__exit__(None, None, None)


def _blob_key(hexdigest: str) -> str:
    return f"blobs/sha256/{hexdigest[:2]}/{hexdigest}"


def _marker_time(micros: str) -> datetime:
    return _EPOCH + timedelta(microseconds=int(micros))
