"""Policies: the rules of a namespace (or one model's override) for promotion gates,
approvals, protected aliases, validators, deployments and retention.

A policy document is free-form JSON here: the policy service checks it (``cairn.domain.
lifecycle.parse_policy``) and says what is wrong with it, as it always has."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, RootModel

from cairn.domain import records
from cairn.domain.lifecycle import DEFAULT_POLICY
from cairn.errors import InvalidReference
from cairn.wire.base import Record, Refused, Request
from cairn.wire.promotions import Target

EXAMPLE_POLICY: dict[str, Any] = {
    "states": {
        "production": {
            "rules": [{"name": "accurate enough", "expr": "metrics.auc >= 0.9"}],
            "approvals": 1,
            "required_validations": ["bias"],
        }
    },
    "protected_aliases": {"prod": "production"},
}


class StoredPolicy(Record):
    """A revision of a policy someone stored."""

    namespace: str
    model: str | None = Field(description="The model it overrides; null: the namespace's.")
    revision: int = Field(description="1 for the first stored, then one more each time.")
    default: Literal[False]
    document: dict[str, Any]
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, p: records.PolicyRevision) -> StoredPolicy:
        return cls(
            namespace=p.namespace,
            model=p.model,
            revision=p.revision,
            default=False,
            document=p.document,
            created_by=p.created_by,
            created_at=p.created_at,
        )


class DefaultPolicy(Record):
    """The policy in force where none was stored."""

    revision: Literal[0]
    default: Literal[True]
    document: dict[str, Any]


def policy_in_force(found: records.PolicyRevision | None) -> StoredPolicy | DefaultPolicy:
    """The policy a scope answers: its stored revision, or the default."""
    if found is None:
        return DefaultPolicy(revision=0, default=True, document=DEFAULT_POLICY)
    return StoredPolicy.of(found)


class PolicyDocument(RootModel[dict[str, Any]]):
    """A policy: ``states`` (each target's gate: ``rules``, ``approvals``,
    ``separation_of_duties``, ``require_signature``, ``require_clean_scan``,
    ``accept_scan_warnings``, ``required_validations``), ``protected_aliases``, ``validators``,
    ``deployments`` and ``retention``; see the README. The policy service checks it."""

    model_config = ConfigDict(frozen=True, json_schema_extra={"examples": [EXAMPLE_POLICY]})


class PolicyTest(Request):
    """A policy not yet stored, and the version and target to try it on."""

    document: PolicyDocument
    ref: Annotated[str, Refused(InvalidReference)] = Field(
        examples=["risk/fraud:3"], description="A version of this namespace."
    )
    target: Target = Field(examples=["production"])
