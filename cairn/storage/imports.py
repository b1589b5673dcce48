"""Reading a model where it already lives, for an import: objects under an S3 prefix, listed
and streamed with the server's own S3 settings (``CAIRN_S3_*``, as the S3 blob store uses).

Which sources may be read is decided before this is called (``cairn.domain.imports``). A
bucket that does not exist or that the credentials may not read is the caller's mistake here,
not the server's configuration: it becomes ``InvalidInput`` naming the source.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError

from cairn.errors import ConfigError, InvalidInput, StorageUnavailable
from cairn.storage.blobs.s3.bucket import Bucket, S3Options

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class SourceObject:
    key: str
    size: int


class S3Source:
    """Objects of any bucket the server's credentials can read (one client, made lazily)."""

    def __init__(self, options: S3Options) -> None:
        self.options = options
        self._client: S3Client | None = None

    def _bucket(self, name: str) -> Bucket:
        if self._client is None:
            self._client = self.options.client()
        return Bucket(self._client, name)

    def objects(self, bucket: str, key: str, limit: int) -> list[SourceObject]:
        """The object ``key`` itself, or else those under ``key/`` (the whole bucket for ""),
        in key order; at most ``limit`` + 1, so that a caller can tell there are too many.
        Folder markers (keys ending in ``/``) are left out."""
        source = self._bucket(bucket)
        found: list[SourceObject] = []
        try:
            if key:
                head = source.head(key)
                if head is not None:
                    return [SourceObject(key, head.size)]
            for item in source.listing(f"{key}/" if key else ""):
                if not item.key.endswith("/"):
                    found.append(SourceObject(item.key, item.size))
                if len(found) > limit:
                    break
        except ConfigError as exc:
            raise InvalidInput(f"s3://{bucket}/{key} cannot be read: {exc.message}") from exc
        return found

    def read(self, bucket: str, item: SourceObject) -> Iterator[bytes]:
        """The object's bytes, in chunks, streamed (never the whole object in memory)."""
        if item.size == 0:
            return
        try:
            body = self._bucket(bucket).open(item.key, 0, item.size)
        except ConfigError as exc:
            raise InvalidInput(f"s3://{bucket}/{item.key} cannot be read: {exc.message}") from exc
        if body is None:
            raise InvalidInput(f"s3://{bucket}/{item.key} went away while it was imported")
        try:
            yield from body.iter_chunks(CHUNK)
        except BotoCoreError as exc:  # the connection broke mid-object: nothing is kept
            raise StorageUnavailable(
                f"reading s3://{bucket}/{item.key} failed ({type(exc).__name__})",
                operation="GetObject",
                key=item.key,
            ) from exc
        finally:
            body.close()
