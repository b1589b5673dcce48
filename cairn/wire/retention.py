"""A retention round: what the namespace's retention rules archived, planned and deleted."""

from __future__ import annotations

from pydantic import Field

from cairn.wire.base import Record, Request


class RetentionRun(Request):
    dry_run: bool = Field(default=False, description="List what a round would do; change nothing.")


class RetentionStep(Record):
    action: str = Field(description="archive, plan (a deletion), delete or unplan.")
    ref: str = Field(description="The version acted on.")
    reason: str


class RetentionReport(Record):
    dry_run: bool
    actions: list[RetentionStep]
