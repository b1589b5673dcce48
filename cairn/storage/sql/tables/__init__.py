"""Cairn's tables. Changed only through an Alembic migration (``migrations/versions``).

Surrogate integer keys, a foreign key on every reference, ``Text`` columns and timezone-aware
timestamps. Names are unique on their canonical ``key`` (see ``cairn.domain.names``). One
module per part of Cairn; every table is importable from here.
"""

from cairn.storage.sql.tables.base import Json, UTCDateTime, metadata
from cairn.storage.sql.tables.ecosystems import (
    mlflow_artifacts,
    mlflow_experiments,
    mlflow_logged_models,
    mlflow_metrics,
    mlflow_run_versions,
    mlflow_runs,
    oci_blob_refs,
    oci_manifests,
)
from cairn.storage.sql.tables.events import (
    deliveries,
    delivery_attempts,
    events,
    webhooks,
)
from cairn.storage.sql.tables.lifecycle import (
    approval_requests,
    approvals,
    deployments,
    policies,
    retention_plans,
    version_parents,
)
from cairn.storage.sql.tables.registry import (
    alias_history,
    aliases,
    blob_links,
    blobs,
    model_tags,
    models,
    namespaces,
    scheduled_jobs,
    upload_sessions,
    version_files,
    version_tags,
    versions,
)
from cairn.storage.sql.tables.trust import (
    audit_checkpoints,
    audit_log,
    namespace_keys,
    principals,
    role_grants,
    tokens,
    validations,
    web_sessions,
)

__all__ = [
    "Json",
    "UTCDateTime",
    "alias_history",
    "aliases",
    "approval_requests",
    "approvals",
    "audit_checkpoints",
    "audit_log",
    "blob_links",
    "blobs",
    "deliveries",
    "delivery_attempts",
    "deployments",
    "events",
    "metadata",
    "mlflow_artifacts",
    "mlflow_experiments",
    "mlflow_logged_models",
    "mlflow_metrics",
    "mlflow_run_versions",
    "mlflow_runs",
    "model_tags",
    "models",
    "namespace_keys",
    "namespaces",
    "oci_blob_refs",
    "oci_manifests",
    "policies",
    "principals",
    "retention_plans",
    "role_grants",
    "scheduled_jobs",
    "tokens",
    "upload_sessions",
    "validations",
    "version_files",
    "version_parents",
    "version_tags",
    "versions",
    "web_sessions",
    "webhooks",
]
