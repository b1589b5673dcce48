"""Promotion through the policy's gates: the policy's decision, the approval requests a
promotion opens, and the reviews that close them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, cast

from pydantic import Field

from cairn.domain import lifecycle, records
from cairn.wire.base import Record, Request
from cairn.wire.versions import Version

Target = Literal["staging", "production", "archived"]
Outcome = Literal["allowed", "needs_approval", "denied"]


class Check(Record):
    check: str = Field(description="What was checked: a gate's rule, or ``approvals``.")
    passed: bool
    reason: str

    @classmethod
    def of(cls, c: lifecycle.Check) -> Check:
        return cls(check=c.check, passed=c.passed, reason=c.reason)


class Decision(Record):
    """The policy's answer for one version and target, with every check it made."""

    target: str
    outcome: Outcome = Field(
        description="``needs_approval``: every check passes but the approvals."
    )
    checks: list[Check]
    approvals_required: int
    approvals_counted: int

    @classmethod
    def of(cls, d: lifecycle.Decision) -> Decision:
        return cls(
            target=d.target,
            outcome=cast(Outcome, d.outcome),
            checks=[Check.of(c) for c in d.checks],
            approvals_required=d.approvals_required,
            approvals_counted=d.approvals_counted,
        )


class Approval(Record):
    """One reviewer's vote on a request, bound to the content and target it saw."""

    approver: str
    decision: str = Field(description="approve or reject.")
    comment: str
    manifest_digest: str
    target: str
    at: datetime

    @classmethod
    def of(cls, a: records.Approval) -> Approval:
        return cls(
            approver=a.approver,
            decision=a.decision,
            comment=a.comment,
            manifest_digest=a.manifest_digest,
            target=a.target,
            at=a.created_at,
        )


class ApprovalRequest(Record):
    """A promotion waiting for the approvals its policy requires."""

    id: int
    ref: str
    target: str
    manifest_digest: str
    requested_by: str
    reason: str
    status: str = Field(description="open, completed, rejected or expired.")
    created_at: datetime
    expires_at: datetime
    closed_at: datetime | None
    approvals: list[Approval]

    @classmethod
    def of(cls, r: records.ApprovalRequest) -> ApprovalRequest:
        return cls(
            id=r.id,
            ref=r.ref,
            target=r.target,
            manifest_digest=r.manifest_digest,
            requested_by=r.requested_by,
            reason=r.reason,
            status=r.status,
            created_at=r.created_at,
            expires_at=r.expires_at,
            closed_at=r.closed_at,
            approvals=[Approval.of(a) for a in r.approvals],
        )


class Promotion(Record):
    """What a promotion did (or, checked, would do)."""

    decision: Decision
    applied: bool = Field(description="Whether the version moved.")
    version: Version
    request: ApprovalRequest | None = Field(
        description="The approval request the promotion opened (or joined), if it needs one."
    )

    @classmethod
    def of(
        cls,
        decision: lifecycle.Decision,
        version: records.Version,
        request: records.ApprovalRequest | None,
        applied: bool,
    ) -> Promotion:
        return cls(
            decision=Decision.of(decision),
            applied=applied,
            version=Version.of(version),
            request=ApprovalRequest.of(request) if request else None,
        )


class Reviewed(Record):
    """A review's result: the request, and the promotion an approval completed."""

    request: ApprovalRequest
    promotion: Promotion | None


class NewPromotion(Request):
    target: Target = Field(examples=["production"])
    reason: str = Field(default="", max_length=2000, examples=["beats v2 on every slice"])
    check: bool = Field(default=False, description="Answer what would happen; change nothing.")


class Review(Request):
    comment: str = Field(default="", examples=["checked the bias report"])
