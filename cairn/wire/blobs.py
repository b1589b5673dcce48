"""Blobs (content-addressed bytes) and the upload sessions that send large ones in parts.

The bytes themselves travel as raw ``application/octet-stream`` bodies, not JSON: only the
answers about them are modelled here."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Protocol

from pydantic import Field

from cairn.domain import records
from cairn.domain.digests import DIGEST_PATTERN, MISSING_MAX
from cairn.errors import InvalidDigest
from cairn.wire.base import Record, Refused, Request

Digest = Annotated[
    str,
    Refused(InvalidDigest),
    Field(pattern=f"^{DIGEST_PATTERN}$", examples=["sha256:" + "ab" * 32]),
]


class Sized(Protocol):
    """What the blob store says of a blob it holds (``storage.blobs.BlobStat``)."""

    @property
    def digest(self) -> str: ...

    @property
    def size(self) -> int: ...


class Blob(Record):
    digest: str = Field(examples=["sha256:" + "ab" * 32])
    size: int = Field(description="In bytes.")

    @classmethod
    def of(cls, b: Sized) -> Blob:
        return cls(digest=b.digest, size=b.size)


class DigestList(Request):
    """The digests a client means to send, to learn which the namespace lacks."""

    digests: list[Digest] = Field(max_length=MISSING_MAX)


class MissingBlobs(Record):
    missing: list[str] = Field(
        description="The digests asked about that the namespace does not hold, in the order "
        "asked, each once: upload these."
    )


class UploadSession(Record):
    id: str = Field(description="Names the session in ``…/uploads/{session_id}``.")
    offset: int = Field(
        description="The bytes held so far: the next part is sent at this ``Upload-Offset``."
    )
    expires_at: datetime = Field(description="After this, the session and its bytes are gone.")

    @classmethod
    def of(cls, s: records.UploadSession) -> UploadSession:
        return cls(id=s.id, offset=s.offset, expires_at=s.expires_at)
