"""The BlobStore protocol: a handful of methods, each with its contract in one sentence."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlparse

from cairn.errors import ConfigError, DigestMismatch, SizeMismatch, UploadNotFound

if TYPE_CHECKING:
    from cairn.config import Settings

SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True, slots=True)
class BlobStat:
    digest: str
    size: int


@dataclass(frozen=True, slots=True)
class BlobEntry:
    """A committed blob as ``iter_blobs`` lists it; ``modified`` is when it was last put."""

    digest: str
    size: int
    modified: datetime


class BlobStore(Protocol):
    """Content-addressed bytes. Digests are ``sha256:<hex>`` and are computed by the store.

    Upload session ids match ``[A-Za-z0-9_-]{1,64}``; every session method raises
    ``UploadNotFound`` for any other id.
    """

    def put(
        self, chunks: Iterable[bytes], *, digest: str | None = None, size: int | None = None
    ) -> BlobStat:
        """Hash ``chunks`` while storing them and make the blob durable under its digest before
        returning; if ``digest`` or ``size`` is given and differs, store nothing and raise
        ``DigestMismatch`` / ``SizeMismatch``; putting an existing blob again stores nothing but
        counts as putting it now (see ``delete``)."""
        ...

    def stat(self, digest: str) -> BlobStat | None:
        """The blob's size, or ``None`` if the store does not hold it."""
        ...

    def read(self, digest: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Yield the bytes ``[start, end)`` (``end`` None: to the end) in bounded chunks; raise
        ``BlobNotFound`` if the blob is absent, or ``InvalidRange`` unless
        ``0 <= start <= end <= size``, when called, before yielding anything."""
        ...

    def delete(self, digest: str, *, put_before: datetime | None = None) -> bool:
        """Remove the blob; ``True`` if this call removed it. With ``put_before``, remove it
        only if it was last put before that time, atomically with any put of the same blob
        (which either refreshes it before the check or stores it anew after the removal).
        Deleting an absent blob is not an error."""
        ...

    def iter_blobs(self) -> Iterator[BlobEntry]:
        """Yield every committed blob (never an upload session's bytes), with its size and when
        it was last put, in no particular order; a blob put or deleted meanwhile may or may not
        appear."""
        ...

    def presigned_url(self, digest: str) -> str | None:
        """A URL from which anyone holding it can GET the blob's bytes (ranges too) for the
        store's configured time, without the server; ``None`` if the store offers none. Says
        nothing of whether the blob is held."""
        ...

    def session_write(self, session: str, offset: int, chunks: Iterable[bytes]) -> int:
        """Append ``chunks`` to upload ``session`` at exactly ``offset`` (the bytes it holds so
        far, a new session holding none), make them durable, and return the new length; bytes
        past ``offset`` from an earlier, unacknowledged write are discarded first; raise
        ``UploadOffsetMismatch`` unless ``0 <= offset <=`` the bytes it holds."""
        ...

    def session_size(self, session: str) -> int:
        """The number of bytes upload ``session`` holds durably (0 for an unknown session)."""
        ...

    def session_read(self, session: str) -> Iterator[bytes]:
        """Yield every byte the session holds, from the start, in bounded chunks (none for an
        unknown session)."""
        ...

    def session_commit(self, session: str, digest: str) -> BlobStat:
        """Turn the session's bytes into the blob ``digest`` (already verified by the caller
        against the bytes) and drop the session; the blob counts as put now. Idempotent if the
        blob already exists, else ``UploadNotFound`` for an unknown session."""
        ...

    def session_delete(self, session: str) -> None:
        """Drop the session's bytes; dropping an unknown session is not an error."""
        ...

    def session_lock(self, session: str) -> AbstractContextManager[None]:
        """Hold the session for one caller at a time, across processes sharing the store:
        another caller waits until the holder leaves."""
        ...

    def purge_stale(self, older_than_seconds: float) -> int:
        """Remove leftovers of interrupted puts older than the given age; return how many."""
        ...


def check_session_id(session: object) -> str:
    """Session ids are chosen by the server; anything else names no session (and no path)."""
    if not isinstance(session, str) or not SESSION_ID.fullmatch(session):
        raise UploadNotFound("no upload has that id", session=repr(session)[:100])
    return session


def check_declared(actual: str, size: int, digest: str | None, declared_size: int | None) -> None:
    """Compare what was received with what the caller declared."""
    # Size first: when both differ, the size is the more telling of the two.
    if declared_size is not None and declared_size != size:
        raise SizeMismatch(
            f"declared {declared_size} bytes, received {size}", expected=declared_size, actual=size
        )
    if digest is not None and digest != actual:
        raise DigestMismatch(
            f"declared {digest}, received bytes hash to {actual}", expected=digest, actual=actual
        )


def open_blob_store(url: str, settings: Settings) -> BlobStore:
    """Build the store that ``CAIRN_BLOB_URL`` names: ``file:///path``, ``s3://bucket/prefix``
    (reached as the ``CAIRN_S3_*`` settings say) or ``memory://``."""
    parsed = urlparse(url)
    if parsed.scheme != "s3" and (settings.s3_sse or settings.s3_sse_kms_key_id):
        # Encryption asked for and not given would be a silent downgrade: refuse it.
        name = "CAIRN_S3_SSE" if settings.s3_sse else "CAIRN_S3_SSE_KMS_KEY_ID"
        raise ConfigError(
            f"{name}: server-side encryption is a setting of S3 blob stores, and "
            f"CAIRN_BLOB_URL is {parsed.scheme}://",
            setting=name,
        )
    if parsed.scheme == "file":
        from cairn.storage.blobs.local import LocalBlobStore

        return LocalBlobStore(Path(parsed.path))
    if parsed.scheme == "s3":
        from cairn.storage.blobs.s3 import S3BlobStore, S3Options

        return S3BlobStore.open(url, S3Options.from_settings(settings))
    if parsed.scheme == "memory":
        from cairn.storage.blobs.memory import MemoryBlobStore

        return MemoryBlobStore()
    raise ConfigError(
        f"CAIRN_BLOB_URL: unsupported scheme {parsed.scheme!r} (use file://, s3:// or memory://)",
        setting="CAIRN_BLOB_URL",
    )
