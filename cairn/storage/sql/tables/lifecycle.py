"""Governance: policies, approval requests and approvals, deployments."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
    UniqueConstraint,
)

from cairn.storage.sql.tables.base import Json, UTCDateTime, created, metadata

# Policies as code, versioned: every change is a new row (the newest of a scope is in force).
# A row with a model is that model's override of its namespace's policy.
policies = Table(
    "policies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("namespace_id", ForeignKey("namespaces.id"), nullable=False),
    Column("model_id", ForeignKey("models.id"), nullable=True),
    Column("revision", Integer, nullable=False),
    Column("document", Json, nullable=False),
    Column("created_by", Text, nullable=False),
    created(),
    Index("ix_policies_namespace_id_model_id", "namespace_id", "model_id"),
)

# A promotion waiting for approvals, bound to the version's manifest and the target state.
approval_requests = Table(
    "approval_requests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version_id", ForeignKey("versions.id", ondelete="CASCADE"), nullable=False),
    Column("target", Text, nullable=False),
    Column("manifest_digest", Text, nullable=False),
    Column("requested_by", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", Text, nullable=False),  # open | completed | rejected | expired
    created(),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("closed_at", UTCDateTime(), nullable=True),
    Index("ix_approval_requests_version_id", "version_id"),
    Index("ix_approval_requests_status", "status"),
)

approvals = Table(
    "approvals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("request_id", ForeignKey("approval_requests.id", ondelete="CASCADE"), nullable=False),
    Column("approver", Text, nullable=False),
    Column("decision", Text, nullable=False),  # approve | reject
    Column("comment", Text, nullable=False),
    Column("manifest_digest", Text, nullable=False),
    Column("target", Text, nullable=False),
    created(),
    UniqueConstraint("request_id", "approver"),
)

# What runs where: recorded by the orchestrator that rolled a version out.
deployments = Table(
    "deployments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version_id", ForeignKey("versions.id"), nullable=False),
    Column("target", Text, nullable=False),
    Column("strategy", Text, nullable=False),  # full | canary | ab | shadow
    Column("weight", Float, nullable=False),
    Column("outcome", Text, nullable=False),  # started | succeeded | failed | rolled_back
    Column("load_time_ms", Float, nullable=True),
    Column("alias", Text, nullable=True),
    Column("rollback_of", ForeignKey("deployments.id"), nullable=True),
    Column("time_to_rollback_ms", Float, nullable=True),
    Column("details", Json, nullable=False),
    Column("recorded_by", Text, nullable=False),
    created(),
    Index("ix_deployments_target", "target"),
    Index("ix_deployments_version_id", "version_id"),
)

# Lineage: each parent a version declares in its provenance (``parents[].ref``), resolved to a
# version at registration when it names one. Retention never deletes a parent that has a child
# (one indexed lookup); deleting a parent by other means leaves the child's row, unresolved.
version_parents = Table(
    "version_parents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version_id", ForeignKey("versions.id", ondelete="CASCADE"), nullable=False),
    Column("parent_id", ForeignKey("versions.id", ondelete="SET NULL"), nullable=True),
    Column("ref", Text, nullable=False),
    Column("relation", Text, nullable=False),
    Index("ix_version_parents_version_id", "version_id"),
    Index("ix_version_parents_parent_id", "parent_id"),
)

# Deletions retention has planned (its dry run): a later round deletes a version only if it was
# planned at least the grace period before and is still eligible; a version that stopped being
# eligible loses its plan.
retention_plans = Table(
    "retention_plans",
    metadata,
    Column("version_id", ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("planned_at", UTCDateTime(), nullable=False),
)
