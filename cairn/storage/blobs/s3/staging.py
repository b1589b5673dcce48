"""Bytes on their way into S3, staged where no reader sees them until they are committed, and
bytes on their way out, read in bounded ranges.

A stream is cut into parts and sent as a multipart upload, which S3 shows to no reader until
it is completed and forgets when it is aborted. One part is buffered at a time, so memory
stays flat in the size of the blob; parts grow (up to 8 times the first) with their number, so the
10,000 parts S3 allows hold about 500 GB at 8 MiB first parts. A stream shorter than one part
is held in memory and sent with one PUT instead: one request rather than three.

Bytes already in the bucket (an upload session's pieces) are assembled into one object by
the service itself (``UploadPartCopy``) wherever S3 allows a part, and pass through this
process only where a part would be too small.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from botocore.exceptions import BotoCoreError

from cairn.errors import CairnError, InvalidInput, StorageUnavailable
from cairn.storage.blobs.s3.bucket import Bucket

__all__ = ["MIN_PART", "Single", "Span", "Staged", "assemble", "read_range", "stage"]

MIN_PART = 5 << 20  # S3's smallest part (every part but the last)
MAX_PARTS = 10_000  # S3's most parts in one upload
COPY_SLICE = 1 << 30  # the most one server-side copy part moves (S3 allows 5 GiB)
READ_ATTEMPTS = 4  # tries at a range whose response breaks off mid-body

log = logging.getLogger("cairn.blobs.s3")


class Staged(Protocol):
    """Bytes under a key that no reader sees until ``commit``; ``discard`` drops them."""

    @property
    def key(self) -> str: ...

    @property
    def size(self) -> int: ...

    def commit(self) -> None: ...

    def discard(self) -> None: ...


@dataclass
class Single:
    """A stream shorter than a part, held in memory until committed with one PUT."""

    bucket: Bucket
    key: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    def commit(self) -> None:
        self.bucket.put(self.key, self.data)

    def discard(self) -> None:
        self.data = b""


class Multipart:
    """A multipart upload under way: parts sent or copied, not yet visible."""

    def __init__(self, bucket: Bucket, key: str) -> None:
        self.bucket, self.key, self.size = bucket, key, 0
        self.upload_id = bucket.start_upload(key)
        self.etags: list[str] = []

    def send(self, data: bytes) -> None:
        number = self._next_number()
        self.etags.append(self.bucket.upload_part(self.key, self.upload_id, number, data))
        self.size += len(data)

    def copy(self, source: str, start: int, stop: int) -> None:
        number = self._next_number()
        etag = self.bucket.copy_part(self.key, self.upload_id, number, source, start, stop)
        self.etags.append(etag)
        self.size += stop - start

    def commit(self) -> None:
        self.bucket.complete_upload(self.key, self.upload_id, self.etags)

    def discard(self) -> None:
        self.bucket.abort_upload(self.key, self.upload_id)

    def _next_number(self) -> int:
        if len(self.etags) >= MAX_PARTS:
            raise InvalidInput(f"a blob this large needs more than {MAX_PARTS} parts")
        return len(self.etags) + 1


def discard_quietly(staged: Staged) -> None:
    """Drop staged bytes while another error is on its way out: that error is the one to
    report; an upload left behind is aborted by ``purge_stale`` later."""
    try:
        staged.discard()
    except CairnError as failure:
        log.warning("could not abort the upload to %s: %s", staged.key, failure)


def stage(bucket: Bucket, key: str, chunks: Iterable[bytes], part_size: int) -> Staged:
    """Stream ``chunks`` towards ``key``, holding at most one part in memory."""
    buffer = bytearray()
    upload: Multipart | None = None
    try:
        for chunk in chunks:
            piece = memoryview(chunk)
            while piece:
                room = _part_limit(part_size, upload) - len(buffer)
                buffer += piece[:room]
                piece = piece[room:]
                if len(buffer) == _part_limit(part_size, upload):
                    if upload is None:
                        upload = Multipart(bucket, key)
                    upload.send(bytes(buffer))
                    buffer.clear()
        if upload is None:
            return Single(bucket, key, bytes(buffer))
        if buffer:
            upload.send(bytes(buffer))
        return upload
    except BaseException:
        if upload is not None:
            discard_quietly(upload)
        raise


def _part_limit(part_size: int, upload: Multipart | None) -> int:
    sent = len(upload.etags) if upload is not None else 0
    return part_size << min(3, sent // 1000)


@dataclass(frozen=True, slots=True)
class Span:
    """Bytes ``[start, start + length)`` of the object ``key``."""

    key: str
    start: int
    length: int


def assemble(
    bucket: Bucket, key: str, spans: list[Span], *, part_size: int, chunk_size: int
) -> Staged:
    """Stage the concatenation of ``spans`` under ``key``, copied server-side where a span
    can make a part of its own (at least ``MIN_PART``, with nothing buffered before it)."""
    if sum(span.length for span in spans) <= part_size:
        data = b"".join(b"".join(_read_span(bucket, span, chunk_size)) for span in spans)
        return Single(bucket, key, data)
    upload = Multipart(bucket, key)
    buffer = bytearray()
    try:
        for span in spans:
            position, end = span.start, span.start + span.length
            while position < end:
                if not buffer and end - position >= MIN_PART:
                    size = _copy_size(end - position)
                    upload.copy(span.key, position, position + size)
                    position += size
                    continue
                take = min(end - position, part_size - len(buffer))
                for data in read_range(bucket, span.key, position, position + take, chunk_size):
                    buffer += data
                position += take
                if len(buffer) == part_size:
                    upload.send(bytes(buffer))
                    buffer.clear()
        if buffer:
            upload.send(bytes(buffer))
        return upload
    except BaseException:
        discard_quietly(upload)
        raise


def _copy_size(left: int) -> int:
    """The next server-side copy part out of ``left`` bytes: at most ``COPY_SLICE``, and never
    leaving a remainder too small to be a part of its own."""
    if left <= COPY_SLICE:
        return left
    return COPY_SLICE if left - COPY_SLICE >= MIN_PART else left - MIN_PART


def _read_span(bucket: Bucket, span: Span, chunk_size: int) -> Iterator[bytes]:
    return read_range(bucket, span.key, span.start, span.start + span.length, chunk_size)


def _vanished(key: str) -> CairnError:
    return StorageUnavailable(f"{key} vanished while it was being read", key=key)


def read_range(
    bucket: Bucket,
    key: str,
    start: int,
    stop: int,
    chunk_size: int,
    *,
    window: int | None = None,
    missing: Callable[[str], CairnError] = _vanished,
) -> Iterator[bytes]:
    """Yield bytes ``[start, stop)`` of ``key`` in chunks of at most ``chunk_size``, one ranged
    GET per ``window`` bytes; a response that breaks off is asked again from where it broke,
    ``READ_ATTEMPTS`` times in a row at most."""
    window = window or max(chunk_size, 64 << 20)
    position, failures = start, 0
    while position < stop:
        upto = min(stop, position + window)
        body = bucket.open(key, position, upto)
        if body is None:
            raise missing(key)
        try:
            while position < upto:
                data = body.read(min(chunk_size, upto - position))
                if not data:
                    raise _CutShort
                position += len(data)
                failures = 0
                yield data
        except (BotoCoreError, OSError, _CutShort) as exc:
            failures += 1
            if failures >= READ_ATTEMPTS:
                raise StorageUnavailable(
                    f"reading {key} broke off {failures} times at byte {position}", key=key
                ) from exc
        finally:
            body.close()


class _CutShort(Exception):
    """The response ended before the bytes it promised."""
