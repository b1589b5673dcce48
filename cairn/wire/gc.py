"""Blob garbage collection: what a run deleted, or what a dry run would delete."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from cairn.wire.base import Record, Request
from cairn.wire.blobs import Blob

MAX_GRACE_HOURS = 24 * 365


class Collection(Request):
    dry_run: bool = Field(
        default=False, description="List what a run would delete; delete nothing."
    )
    grace_hours: float | None = Field(
        default=None,
        ge=0,
        le=MAX_GRACE_HOURS,
        examples=[24],
        description="Keep blobs younger than this; null or absent: the server's "
        "CAIRN_GC_GRACE_HOURS.",
    )


class CollectionReport(Record):
    dry_run: bool
    cutoff: datetime = Field(description="Blobs older than this were (or would be) deleted.")
    deleted: int = Field(description="How many blobs were (or would be) deleted.")
    bytes: int = Field(description="How many bytes they held.")
    unreferenced: list[Blob] = Field(description="Blobs no version names.")
    orphaned: list[Blob] = Field(description="Bytes in the blob store with no record.")
