"""Validations posted by CI and validators. The record a validation answers is
``cairn.wire.versions.Validation``, beside the version it is about."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from cairn.wire.base import Request

ValidationStatus = Literal["passed", "failed", "error", "pending", "running", "skipped"]


class NewValidation(Request):
    """A result from CI or a validator. The version's policy decides who may post which
    name; Cairn's built-in validations are refused (re-run them instead)."""

    name: str = Field(examples=["bias"], description="1-100 characters, a name's characters.")
    status: ValidationStatus = Field(examples=["passed"])
    metrics: dict[str, int | float] = Field(default_factory=dict, examples=[{"dp_gap": 0.02}])
    link: str | None = Field(
        default=None, max_length=2000, examples=["https://ci.example.com/runs/7"]
    )
    details: dict[str, Any] = Field(
        default_factory=dict, description="Anything else the run reports, kept as sent."
    )


class NewWaiver(Request):
    """An approver's waiver of one finding of the version's scan (not its author's)."""

    finding: str = Field(
        min_length=1,
        max_length=64,
        examples=["1a2b3c4d5e6f7a8b"],
        description="The id the scan's findings list it under.",
    )
    reason: str = Field(min_length=1, max_length=2000, examples=["reviewed: our own loader"])
