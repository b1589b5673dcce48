"""The one place Cairn talks to S3: a bucket and a key prefix, with every call's failure turned
into a Cairn error here, at the boundary.

botocore retries transient failures itself (standard mode: 5xx, throttling, connection errors
and timeouts, with exponential back-off and jitter, ``MAX_ATTEMPTS`` tries in all); whatever
still fails becomes ``StorageUnavailable``. A refusal that a setting explains (no such bucket,
credentials refused, wrong region) becomes ``ConfigError`` naming that setting. A 404 or a
failed precondition is an answer, not an error: those methods return it as a value.

Keys given to and returned by ``Bucket`` are relative to its prefix.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    PartialCredentialsError,
)

from cairn.errors import CairnError, ConfigError, StorageUnavailable

if TYPE_CHECKING:
    from botocore.response import StreamingBody
    from mypy_boto3_s3 import S3Client

    from cairn.config import Settings

__all__ = ["Bucket", "Head", "Listed", "S3Options", "Upload"]

MAX_ATTEMPTS = 4
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
# Parallel requests on one client: request threads of the server plus lease renewals.
POOL = 64

_CREDENTIALS_REFUSED = {
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
}
_WRONG_REGION = {"PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraint"}


@dataclass(frozen=True, slots=True)
class S3Options:
    """How to reach the S3 service: the ``CAIRN_S3_*`` settings."""

    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    addressing_style: Literal["auto", "path", "virtual"] = "auto"
    presign_seconds: int = 0
    timeout_seconds: float = READ_TIMEOUT
    sse: Literal["AES256", "aws:kms"] | None = None
    sse_kms_key_id: str | None = None

    def __post_init__(self) -> None:
        if self.sse_kms_key_id is not None and self.sse != "aws:kms":
            raise ConfigError(
                "CAIRN_S3_SSE_KMS_KEY_ID: a KMS key is used only with CAIRN_S3_SSE=aws:kms "
                f"(CAIRN_S3_SSE is {self.sse or 'unset'})",
                setting="CAIRN_S3_SSE_KMS_KEY_ID",
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Options:
        secret = settings.s3_secret_access_key
        if (settings.s3_access_key_id is None) != (secret is None):
            missing = "SECRET_ACCESS_KEY" if secret is None else "ACCESS_KEY_ID"
            raise ConfigError(
                f"CAIRN_S3_{missing}: set both CAIRN_S3_ACCESS_KEY_ID and "
                "CAIRN_S3_SECRET_ACCESS_KEY, or neither (the AWS credential chain)",
                setting=f"CAIRN_S3_{missing}",
            )
        return cls(
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret is not None else None,
            addressing_style=settings.s3_addressing_style,
            presign_seconds=settings.s3_presign_seconds,
            timeout_seconds=settings.s3_timeout_seconds,
            sse=settings.s3_sse,
            sse_kms_key_id=settings.s3_sse_kms_key_id,
        )

    def encryption(self) -> dict[str, str]:
        """The parameters of every request that makes an object (PutObject,
        CreateMultipartUpload): its parts and copies are encrypted as the upload says."""
        found: dict[str, str] = {"ServerSideEncryption": self.sse} if self.sse else {}
        if self.sse_kms_key_id is not None:
            found["SSEKMSKeyId"] = self.sse_kms_key_id
        return found

    def client(self) -> S3Client:
        config = Config(
            retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
            connect_timeout=min(CONNECT_TIMEOUT, self.timeout_seconds),
            read_timeout=self.timeout_seconds,
            max_pool_connections=POOL,
            s3={"addressing_style": self.addressing_style},
            signature_version="s3v4",
            # Only the checksums S3 requires: the newer default (a CRC trailer on every upload)
            # is refused by some S3-compatible services, and sha256 is Cairn's own check.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        # A session of its own: boto3's default session is a module global.
        session = boto3.session.Session()
        return session.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            config=config,
        )


@dataclass(frozen=True, slots=True)
class Head:
    size: int
    etag: str
    metadata: dict[str, str]
    age: float | None  # seconds since it was written, by the store's own clock


@dataclass(frozen=True, slots=True)
class Listed:
    key: str
    size: int
    modified: datetime  # the store's clock, to the second on AWS
    etag: str


@dataclass(frozen=True, slots=True)
class Upload:
    """A multipart upload begun and neither completed nor aborted."""

    key: str
    upload_id: str
    initiated: datetime


class _Answered(Exception):
    """A status the caller expects as an answer (404, 412), not a failure."""


class Bucket:
    def __init__(
        self,
        client: S3Client,
        name: str,
        prefix: str = "",
        encryption: Mapping[str, str] | None = None,
    ) -> None:
        self.client = client
        self.name = name
        self.prefix = prefix
        # Server-side encryption (S3Options.encryption): sent with every write that makes an
        # object, so no object of Cairn's (blob, marker, piece, lock, VERSION) goes without it.
        self.encryption = dict(encryption or {})

    def __repr__(self) -> str:
        return f"Bucket({self.name!r}, prefix={self.prefix!r})"

    def head(self, key: str) -> Head | None:
        try:
            with self._calling("HeadObject", key, answers=(404,)):
                found = self.client.head_object(Bucket=self.name, Key=self.prefix + key)
        except _Answered:
            return None
        now = _server_time(found["ResponseMetadata"].get("HTTPHeaders", {}).get("date", ""))
        age = (now - found["LastModified"]).total_seconds() if now else None
        return Head(found["ContentLength"], found["ETag"], found.get("Metadata", {}), age)

    def open(self, key: str, start: int, stop: int) -> StreamingBody | None:
        """The bytes ``[start, stop)`` (``start < stop``) as a response body to read and close;
        ``None`` if there is no such object."""
        try:
            with self._calling("GetObject", key, answers=(404,)):
                found = self.client.get_object(
                    Bucket=self.name, Key=self.prefix + key, Range=f"bytes={start}-{stop - 1}"
                )
        except _Answered:
            return None
        return found["Body"]

    def read_small(self, key: str) -> bytes | None:
        try:
            with self._calling("GetObject", key, answers=(404,)):
                found = self.client.get_object(Bucket=self.name, Key=self.prefix + key)
                return found["Body"].read()
        except _Answered:
            return None

    def put(
        self,
        key: str,
        data: bytes,
        *,
        metadata: dict[str, str] | None = None,
        if_absent: bool = False,
        if_match: str | None = None,
    ) -> str | None:
        """Write an object; its ETag, or ``None`` if a condition did not hold (``if_absent``:
        the key exists; ``if_match``: it is gone or has another ETag)."""
        conditions: dict[str, str] = {}
        if if_absent:
            conditions["IfNoneMatch"] = "*"
        if if_match is not None:
            conditions["IfMatch"] = if_match
        # 409: AWS's answer when another conditional write to the key is in flight.
        answers = (404, 409, 412) if conditions else ()
        try:
            with self._calling("PutObject", key, answers=answers):
                done = self.client.put_object(
                    Bucket=self.name,
                    Key=self.prefix + key,
                    Body=data,
                    Metadata=metadata or {},
                    **self.encryption,  # type: ignore[arg-type]
                    **conditions,  # type: ignore[arg-type]
                )
        except _Answered:
            return None
        return done["ETag"]

    def delete(self, key: str, *, if_match: str | None = None) -> bool:
        """Remove an object (absent is fine); ``False`` if ``if_match`` did not hold. A service
        that ignores conditional deletes removes it anyway."""
        condition = {"IfMatch": if_match} if if_match is not None else {}
        try:
            with self._calling("DeleteObject", key, answers=(404, 409, 412)):
                self.client.delete_object(
                    Bucket=self.name,
                    Key=self.prefix + key,
                    **condition,  # type: ignore[arg-type]
                )
        except _Answered:
            return False
        return True

    def listing(self, prefix: str) -> Iterator[Listed]:
        """Every object whose key starts with ``prefix``, in key order, page by page."""
        pages = self.client.get_paginator("list_objects_v2")
        with self._calling("ListObjectsV2", prefix):
            for page in pages.paginate(Bucket=self.name, Prefix=self.prefix + prefix):
                for item in page.get("Contents", []):
                    key = item["Key"].removeprefix(self.prefix)
                    yield Listed(key, item["Size"], item["LastModified"], item["ETag"])

    def uploads(self) -> Iterator[Upload]:
        pages = self.client.get_paginator("list_multipart_uploads")
        with self._calling("ListMultipartUploads"):
            for page in pages.paginate(Bucket=self.name, Prefix=self.prefix):
                for item in page.get("Uploads", []):
                    key = item["Key"].removeprefix(self.prefix)
                    yield Upload(key, item["UploadId"], item["Initiated"])

    def start_upload(self, key: str) -> str:
        with self._calling("CreateMultipartUpload", key):
            found = self.client.create_multipart_upload(
                Bucket=self.name,
                Key=self.prefix + key,
                **self.encryption,  # type: ignore[arg-type]
            )
        return found["UploadId"]

    def upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> str:
        with self._calling("UploadPart", key):
            done = self.client.upload_part(
                Bucket=self.name,
                Key=self.prefix + key,
                UploadId=upload_id,
                PartNumber=number,
                Body=data,
            )
        return done["ETag"]

    def copy_part(
        self, key: str, upload_id: str, number: int, source: str, start: int, stop: int
    ) -> str:
        """Make part ``number`` of the upload from bytes ``[start, stop)`` of object ``source``,
        copied by the service without passing through this process."""
        with self._calling("UploadPartCopy", key):
            done = self.client.upload_part_copy(
                Bucket=self.name,
                Key=self.prefix + key,
                UploadId=upload_id,
                PartNumber=number,
                CopySource={"Bucket": self.name, "Key": self.prefix + source},
                CopySourceRange=f"bytes={start}-{stop - 1}",
            )
        return done["CopyPartResult"]["ETag"]

    def complete_upload(self, key: str, upload_id: str, etags: list[str]) -> None:
        parts = [{"PartNumber": n, "ETag": etag} for n, etag in enumerate(etags, start=1)]
        with self._calling("CompleteMultipartUpload", key):
            self.client.complete_multipart_upload(
                Bucket=self.name,
                Key=self.prefix + key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},  # type: ignore[typeddict-item]
            )

    def abort_upload(self, key: str, upload_id: str) -> None:
        try:
            with self._calling("AbortMultipartUpload", key, answers=(404,)):
                self.client.abort_multipart_upload(
                    Bucket=self.name, Key=self.prefix + key, UploadId=upload_id
                )
        except _Answered:
            pass  # aborted already

    def presign_get(self, key: str, seconds: int) -> str:
        with self._calling("presign GetObject", key):
            return self.client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.name, "Key": self.prefix + key},
                ExpiresIn=seconds,
            )

    @contextmanager
    def _calling(
        self, operation: str, key: str = "", answers: tuple[int, ...] = ()
    ) -> Iterator[None]:
        try:
            yield
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if status in answers and error.get("Code") != "NoSuchBucket":
                raise _Answered from None
            raise self._failure(operation, key, str(error.get("Code", "")), status) from exc
        except (NoCredentialsError, PartialCredentialsError) as exc:
            raise ConfigError(
                "CAIRN_S3_ACCESS_KEY_ID: no S3 credentials found: set it and "
                "CAIRN_S3_SECRET_ACCESS_KEY, or configure the AWS credential chain",
                setting="CAIRN_S3_ACCESS_KEY_ID",
            ) from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(
                f"the blob store did not answer {operation} ({type(exc).__name__}), "
                f"after {MAX_ATTEMPTS} attempts",
                operation=operation,
                key=key,
            ) from exc

    def _failure(self, operation: str, key: str, code: str, status: int) -> CairnError:
        where = f"s3://{self.name}/{self.prefix}"
        if code == "NoSuchBucket":
            return ConfigError(
                f"CAIRN_BLOB_URL: the bucket of {where} does not exist", setting="CAIRN_BLOB_URL"
            )
        if code in _CREDENTIALS_REFUSED or status == 403:
            return ConfigError(
                f"CAIRN_S3_ACCESS_KEY_ID: the S3 service refused {operation} on {where} "
                f"({code or status}): check the credentials and what they may do",
                setting="CAIRN_S3_ACCESS_KEY_ID",
            )
        if code in _WRONG_REGION or status == 301:
            return ConfigError(
                f"CAIRN_S3_REGION: {where} is in another region ({code or status})",
                setting="CAIRN_S3_REGION",
            )
        return StorageUnavailable(
            f"the blob store failed {operation} ({code or 'HTTP'} {status})",
            operation=operation,
            key=key,
            status=status,
            s3_code=code,
        )


def _server_time(header: str) -> datetime | None:
    """The service's clock from its ``Date`` header (None if it cannot be read); a date
    without a zone (``-0000``) is UTC, as HTTP dates always are."""
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
