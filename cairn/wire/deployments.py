"""Deployments recorded by orchestrators, and the rollback of an alias."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from cairn.domain import records
from cairn.domain.numbers import ID_MAX
from cairn.errors import InvalidName
from cairn.wire.base import Record, Refused, Request
from cairn.wire.versions import Version

Strategy = Literal["full", "canary", "ab", "shadow"]
Outcome = Literal["started", "succeeded", "failed"]


class Deployment(Record):
    """One step of a rollout: a version on a target, with its strategy, weight and outcome."""

    id: int
    ref: str
    target: str
    strategy: str = Field(description="full, canary, ab or shadow.")
    weight: float = Field(description="The share of traffic, in percent.")
    outcome: str = Field(description="started, succeeded, failed, or rolled_back.")
    load_time_ms: float | None
    alias: str | None = Field(description="The alias the rollout serves, if it names one.")
    rollback_of: int | None = Field(description="The failed deployment a rollback answers.")
    time_to_rollback_ms: float | None = Field(
        description="For a rollback: the time since the failed deployment it answers."
    )
    details: dict[str, Any]
    recorded_by: str
    at: datetime

    @classmethod
    def of(cls, d: records.Deployment) -> Deployment:
        return cls(
            id=d.id,
            ref=d.ref,
            target=d.target,
            strategy=d.strategy,
            weight=d.weight,
            outcome=d.outcome,
            load_time_ms=d.load_time_ms,
            alias=d.alias,
            rollback_of=d.rollback_of,
            time_to_rollback_ms=d.time_to_rollback_ms,
            details=d.details,
            recorded_by=d.recorded_by,
            at=d.created_at,
        )


class NewDeployment(Request):
    """A step of a rollout. A rollout (``started``, ``succeeded``) of a blocked version, or of
    one not in production on a production target, is refused unless ``override`` gives an
    admin's reason; a ``failed`` outcome is always recorded."""

    target: str = Field(min_length=1, max_length=200, examples=["prod-eu"])
    strategy: Strategy = Field(default="full", examples=["canary"])
    weight: float = Field(default=100, ge=0, le=100, examples=[10])
    outcome: Outcome = Field(default="started", examples=["started"])
    load_time_ms: float | None = Field(default=None, ge=0, examples=[850])
    alias: Annotated[str | None, Refused(InvalidName)] = Field(default=None, examples=["prod"])
    details: dict[str, Any] = Field(default_factory=dict)
    override: str | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        description="An admin's reason to record a rollout a gate would refuse, audited.",
    )


class Rollback(Request):
    to: int | None = Field(
        default=None,
        ge=1,
        le=ID_MAX,
        description="The version number to go back to; null or absent: the previous "
        "eligible version the alias named.",
    )


class RolledBack(Record):
    """Where the alias went, and the deployment that records it."""

    version: Version
    deployment: Deployment
