"""Cairn's tables. Changed only through an Alembic migration (``migrations/versions``).

Surrogate integer keys, a foreign key on every reference, ``Text`` columns and timezone-aware
timestamps. Names are unique on their canonical ``key`` (see ``cairn.domain.names``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Json: Any = JSON().with_variant(JSONB(), "postgresql")


def _created() -> Column[datetime]:
    return Column("created_at", UTCDateTime(), nullable=False)


namespaces = Table(
    "namespaces",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False),
    Column("key", Text, nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
    Column("required_fields", Json, nullable=True),
    # Versions must carry a signature that verifies with one of the namespace's keys.
    Column("require_signature", Boolean, nullable=False, default=False),
    _created(),
)

models = Table(
    "models",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("namespace_id", ForeignKey("namespaces.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("card", Text, nullable=False, default=""),
    Column("owner", Text, nullable=False, default=""),
    # The next version number: kept on the model row so that numbers stay gapless and are
    # never reused, even after a version (or the model itself) is deleted.
    Column("next_number", Integer, nullable=False, default=1),
    Column("deleted", Boolean, nullable=False, default=False),
    _created(),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("namespace_id", "key"),
    Index("ix_models_name", "name"),
)

blobs = Table(
    "blobs",
    metadata,
    Column("digest", Text, primary_key=True),
    Column("size", BigInteger, nullable=False),
    _created(),
)

versions = Table(
    "versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", ForeignKey("models.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("manifest_digest", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("file_count", Integer, nullable=False),
    Column("state", Text, nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("author", Text, nullable=False),
    Column("provenance", Json, nullable=False),
    Column("io_schema", Json, nullable=False),
    Column("metrics", Json, nullable=False),
    Column("params", Json, nullable=False),
    Column("completeness", Float, nullable=False),
    Column("missing_fields", Json, nullable=False),
    Column("idempotency_key", Text, nullable=True),
    _created(),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("model_id", "number"),
    UniqueConstraint("model_id", "idempotency_key"),
    Index("ix_versions_manifest_digest", "manifest_digest"),
    # Searches that pick a model list its versions newest first: the index yields them in
    # that order, so a page stops after its rows instead of sorting every version.
    Index("ix_versions_model_id_id", "model_id", "id"),
    Index("ix_versions_created_at", "created_at"),
)

version_files = Table(
    "version_files",
    metadata,
    Column("version_id", ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True),
    Column("path", Text, primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("digest", ForeignKey("blobs.digest"), nullable=False),
    Index("ix_version_files_digest", "digest"),
)

model_tags = Table(
    "model_tags",
    metadata,
    Column("model_id", ForeignKey("models.id", ondelete="CASCADE"), primary_key=True),
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
    Index("ix_model_tags_key_value", "key", "value"),
)

version_tags = Table(
    "version_tags",
    metadata,
    Column("version_id", ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True),
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
    Index("ix_version_tags_key_value_version_id", "key", "value", "version_id"),
)

aliases = Table(
    "aliases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", ForeignKey("models.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("version_id", ForeignKey("versions.id"), nullable=False),
    Column("updated_by", Text, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("model_id", "name"),
    Index("ix_aliases_version_id", "version_id"),
)

# Where each alias pointed and when. The version number is kept as a plain value too, so
# the history still reads correctly after a version it once named has been deleted.
alias_history = Table(
    "alias_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", ForeignKey("models.id"), nullable=False),
    Column("alias", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("version_id", ForeignKey("versions.id", ondelete="SET NULL"), nullable=True),
    Column("number", Integer, nullable=True),
    Column("previous_number", Integer, nullable=True),
    Column("actor", Text, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Index("ix_alias_history_model_id_alias_at", "model_id", "alias", "at"),
)

upload_sessions = Table(
    "upload_sessions",
    metadata,
    Column("id", Text, primary_key=True),
    Column("offset", BigInteger, nullable=False),
    Column("created_by", Text, nullable=False),
    _created(),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Index("ix_upload_sessions_expires_at", "expires_at"),
)

# Entries are appended in the mutation's transaction with the hash of their canonical form;
# the sequencer later gives them their place in the Merkle tree (``leaf_index``, gapless, in the
# order it finds them committed), so concurrent writers never wait on one another for it.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("payload", Json, nullable=False),
    Column("request_id", Text, nullable=True),
    Column("leaf_hash", Text, nullable=False),
    Column("leaf_index", BigInteger, nullable=True, unique=True),
    Index("ix_audit_log_subject", "subject"),
)

# Signed tree heads: the size of the log and its Merkle root, signed with the server's
# Ed25519 key (kept outside the database, so whoever can rewrite rows cannot re-sign).
audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("size", BigInteger, nullable=False, unique=True),
    Column("root", Text, nullable=False),
    Column("key_id", Text, nullable=False),
    Column("signature", Text, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
)

# Users and service accounts. Nobody has a password: callers present tokens.
principals = Table(
    "principals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False),
    Column("key", Text, nullable=False, unique=True),
    Column("kind", Text, nullable=False),  # user | service
    Column("description", Text, nullable=False, default=""),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_by", Text, nullable=False),
    _created(),
)

# A principal's role in a namespace, or everywhere (namespace "*").
role_grants = Table(
    "role_grants",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("principal_id", ForeignKey("principals.id"), nullable=False),
    Column("namespace", Text, nullable=False),
    Column("role", Text, nullable=False),
    UniqueConstraint("principal_id", "namespace"),
)

# API tokens: ``cairn_<token_id>_<secret>``; only the SHA-256 of the secret is kept. A token's
# scopes (namespace -> role) narrow what its principal may do; they never widen it.
tokens = Table(
    "tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_id", Text, nullable=False, unique=True),
    Column("principal_id", ForeignKey("principals.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("secret_hash", Text, nullable=False),
    Column("scopes", Json, nullable=False),
    Column("created_by", Text, nullable=False),
    _created(),
    Column("expires_at", UTCDateTime(), nullable=True),
    Column("last_used_at", UTCDateTime(), nullable=True),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Index("ix_tokens_principal_id", "principal_id"),
)

# The outbox: events written in the mutation's transaction and delivered after commit.
events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("type", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("payload", Json, nullable=False),
    Column("delivered_at", UTCDateTime(), nullable=True),
    Index("ix_events_delivered_at", "delivered_at"),
)

# Public keys a namespace trusts to sign its models (ECDSA, PEM), by name.
namespace_keys = Table(
    "namespace_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("namespace_id", ForeignKey("namespaces.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("public_key", Text, nullable=False),
    Column("fingerprint", Text, nullable=False),
    Column("added_by", Text, nullable=False),
    _created(),
    UniqueConstraint("namespace_id", "name"),
    UniqueConstraint("namespace_id", "fingerprint"),
)

# Results about a version: Cairn's own checks (signature, scan) and, later, CI's. Every run is
# a new row, so the history is kept; the newest row of a name is the current result. A row
# with status "pending" is work waiting for a background worker (a scan of a large version).
validations = Table(
    "validations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version_id", ForeignKey("versions.id", ondelete="CASCADE"), nullable=False),
    Column("name", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("details", Json, nullable=False),
    Column("created_by", Text, nullable=False),
    _created(),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_validations_version_id_name", "version_id", "name"),
    Index("ix_validations_status", "status"),
)

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
    _created(),
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
    _created(),
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
    _created(),
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
    _created(),
    Index("ix_deployments_target", "target"),
    Index("ix_deployments_version_id", "version_id"),
)

# Webhook subscriptions: a namespace's (or, "*", every namespace's) events, filtered by type,
# sent to a URL and signed with the subscription's secret (kept encrypted: see
# cairn.services.webhooks). A subscription that keeps failing is disabled, with the reason.
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("namespace", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("event_types", Json, nullable=False),
    Column("secret", Text, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("disabled_reason", Text, nullable=True),
    Column("consecutive_failures", Integer, nullable=False),
    Column("created_by", Text, nullable=False),
    _created(),
    Index("ix_webhooks_namespace", "namespace"),
)

# One event to one subscription: retried with back-off until it succeeds or gives up.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("webhook_id", ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("event_id", ForeignKey("events.id"), nullable=False),
    Column("status", Text, nullable=False),  # pending | sending | succeeded | failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("last_status", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    _created(),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    Index("ix_deliveries_webhook_id", "webhook_id"),
)

# Every attempt of every delivery: the delivery log.
delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("delivery_id", ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("status", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("duration_ms", Float, nullable=False),
    Index("ix_delivery_attempts_delivery_id", "delivery_id"),
)

# Housekeeping that one process of many runs now and then (garbage collection): the next time
# each job is due. A process claims a round by moving ``due_at`` on, in one UPDATE that only
# the first of several processes can win.
scheduled_jobs = Table(
    "scheduled_jobs",
    metadata,
    Column("name", Text, primary_key=True),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("started_at", UTCDateTime(), nullable=True),
    Column("finished_at", UTCDateTime(), nullable=True),
)

# OCI manifests, kept as the exact bytes served (their digest is of those bytes): manifests
# pushed by OCI clients, and the views Cairn builds of a version once, on first request.
# ``role`` says which manifest of ``version_id`` a row is ("own", "kserve", "modelpack");
# rows without a role (signatures, attestations, index children) belong to the model only.
oci_manifests = Table(
    "oci_manifests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", ForeignKey("models.id"), nullable=False),
    Column("digest", Text, nullable=False),
    Column("media_type", Text, nullable=False),
    Column("artifact_type", Text, nullable=True),
    Column("subject", Text, nullable=True),
    Column("annotations", Json, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("version_id", ForeignKey("versions.id", ondelete="CASCADE"), nullable=True),
    Column("role", Text, nullable=True),
    _created(),
    UniqueConstraint("model_id", "digest"),
    UniqueConstraint("version_id", "role"),
    Index("ix_oci_manifests_model_id_subject", "model_id", "subject"),
)

# The blobs an OCI manifest names (config and layers): the garbage collector keeps them.
oci_blob_refs = Table(
    "oci_blob_refs",
    metadata,
    Column("manifest_id", ForeignKey("oci_manifests.id", ondelete="CASCADE"), primary_key=True),
    Column("digest", ForeignKey("blobs.digest"), primary_key=True),
    Index("ix_oci_blob_refs_digest", "digest"),
)

# MLflow's tracking state, kept so that the unchanged MLflow client can log a model and then
# register it (see ``cairn.services.tracking``). Client-given times stay as MLflow's integer
# milliseconds; the ones Cairn sets are timestamps like everywhere else.
mlflow_experiments = Table(
    "mlflow_experiments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("lifecycle_stage", Text, nullable=False),
    Column("tags", Json, nullable=False),
    _created(),
    Column("updated_at", UTCDateTime(), nullable=False),
)

mlflow_runs = Table(
    "mlflow_runs",
    metadata,
    Column("id", Text, primary_key=True),
    Column("experiment_id", ForeignKey("mlflow_experiments.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger, nullable=True),
    Column("lifecycle_stage", Text, nullable=False),
    Column("tags", Json, nullable=False),
    Column("outputs", Json, nullable=False),  # [{"model_id", "step"}]
    Index("ix_mlflow_runs_experiment_id", "experiment_id"),
)

mlflow_logged_models = Table(
    "mlflow_logged_models",
    metadata,
    Column("id", Text, primary_key=True),
    Column("experiment_id", ForeignKey("mlflow_experiments.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("source_run_id", ForeignKey("mlflow_runs.id"), nullable=True),
    Column("status", Text, nullable=False),
    Column("model_type", Text, nullable=False),
    Column("tags", Json, nullable=False),
    Column("params", Json, nullable=False),
    _created(),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_mlflow_logged_models_experiment_id_name", "experiment_id", "name"),
)

# The files the client uploaded, by their path under the artifact root
# (``<experiment>/models/<model id>/artifacts/MLmodel``); the bytes are a blob like any other.
mlflow_artifacts = Table(
    "mlflow_artifacts",
    metadata,
    Column("path", Text, primary_key=True),
    Column("experiment_id", ForeignKey("mlflow_experiments.id"), nullable=False),
    Column("digest", ForeignKey("blobs.digest"), nullable=False),
    Column("size", BigInteger, nullable=False),
    _created(),
    Index("ix_mlflow_artifacts_digest", "digest"),
)
