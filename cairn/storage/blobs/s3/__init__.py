"""A blob store in an S3 bucket (AWS S3, MinIO, Ceph RGW, any S3-compatible service):
``CAIRN_BLOB_URL=s3://bucket/prefix``.

Bucket layout under the prefix, version 1 (``LAYOUT_VERSION``; the ``VERSION`` object holds
the number)::

    prefix/
    ├── VERSION                          "1": refuse a prefix laid out any other way
    ├── blobs/
    │   └── sha256/
    │       └── ab/                      the digest's first two hex digits
    │           ├── ab12…ef              one committed blob: its bytes, never rewritten
    │           └── ab12…ef.put-<µs>     empty: when the blob was last put (µs since 1970,
    │                                    20 digits); the newest one counts
    ├── sessions/
    │   └── <session id>/
    │       └── <offset>                 bytes one session_write appended from <offset>
    │                                    (20 digits); the session is these, in order
    ├── locks/
    │   ├── blobs/<hex>                  held while one caller puts or deletes that blob
    │   └── sessions/<session id>        held by session_lock
    └── tmp/
        └── put-<random>                 a put without a declared digest, before its copy

**Put.** The bytes are hashed as they stream in and sent as a multipart upload in bounded
parts (``staging``), straight to the blob's key when the digest is declared (the service
always declares it): a multipart upload is invisible until completed, so nothing is copied.
If the bytes do not match, the upload is aborted and nothing was stored. Otherwise, under the
blob's lock, the upload is completed — or aborted if the blob is held already — and a new put
marker is written (then older markers removed). A put without a declared digest goes to
``tmp/`` and is copied under its digest by the service itself.

**Last put and conditional delete.** Where the local store has a file's mtime and ``flock``,
this store has put markers and a lock object per blob (``lease``): a put (or a session commit)
and a delete of the same blob each run under the blob's lock, so ``delete(put_before=…)``
reads the newest marker and removes the blob with no put in between — a put either marked
the blob before the delete looked (it stays) or finds it gone and stores it anew. The markers'
times come from the putting process's clock, to the microsecond, and a listing returns them
with no extra request. A lock is a lease: its holder renews it, and another caller takes it
over once it has gone unrenewed for ``LEASE_SECONDS`` (a crashed holder). So each holder
checks, after its last write, that it confirmed the lock within the last half lease
(``Lease.fresh``): a put that cannot say so answers ``StorageUnavailable`` rather than call the
blob put (the client puts it again), and a delete checks before it removes and otherwise
keeps the blob. A holder whose process still runs keeps renewing, so no one takes over while
its requests are merely slow. What remains: a delete whose process stops renewing right after
that check (frozen, or cut off from S3) and whose DELETE request S3 applies anyway, more than
half a lease (15 s) later, after another caller took the lock over and put the same blob.

**Upload sessions** live in the bucket, so any process can continue any session. Each append
is one piece object named by its offset; a piece ends where the next begins, and the session
ends at its first gap. An append at an offset below the session's end first writes an empty
piece there — which cuts the session at once — then removes the pieces past it, then writes
its own. ``session_commit`` assembles the pieces into the blob with ``UploadPartCopy``,
server-side wherever a piece can be a part of its own (the SDK's pieces are 64 MiB), and
``session_lock`` is a lock object, because the service holds it across an append's check,
write and record.

Every key is built from a digest checked by ``parse_digest`` or a session id checked by a
strict pattern (DESIGN invariant 8). Errors cross into Cairn's tree in ``bucket``.
"""

from __future__ import annotations

from cairn.storage.blobs.s3.bucket import S3Options
from cairn.storage.blobs.s3.lease import LEASE_SECONDS
from cairn.storage.blobs.s3.store import LAYOUT_VERSION, S3BlobStore

__all__ = ["LAYOUT_VERSION", "LEASE_SECONDS", "S3BlobStore", "S3Options"]
