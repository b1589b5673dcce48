"""What the protocols of other ecosystems need kept: OCI manifests as exact bytes (pushed, or the
views Cairn builds of a version) and the blobs they name; MLflow's tracking state (experiments,
runs, logged models and the files logged under them)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Table,
    Text,
    UniqueConstraint,
)

from cairn.storage.sql.tables.base import Json, UTCDateTime, created, metadata

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
    created(),
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
    created(),
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
    # NULL in runs created before run data was kept: none logged.
    Column("params", Json, nullable=True),  # {key: value}, each written once
    Column("metrics", Json, nullable=True),  # {key: {value, timestamp, step}}: the latest
    Column("inputs", Json, nullable=True),  # [{name, digest, source_type, source, …, tags}]
    Index("ix_mlflow_runs_experiment_id", "experiment_id"),
)

# Every value logged for a run's metrics (its history); the latest per key is on the run.
# A NaN is kept as 0 with ``is_nan``, as SQLite cannot hold it.
mlflow_metrics = Table(
    "mlflow_metrics",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", ForeignKey("mlflow_runs.id"), nullable=False),
    Column("key", Text, nullable=False),
    Column("value", Float, nullable=False),
    Column("is_nan", Boolean, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("step", BigInteger, nullable=False),
    Index("ix_mlflow_metrics_run_id_key_step", "run_id", "key", "step"),
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
    created(),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_mlflow_logged_models_experiment_id_name", "experiment_id", "name"),
)

# The versions registered from a run while it ran: when the run ends, they take its final
# metrics and params (``cairn.services.run_data.complete_versions``).
mlflow_run_versions = Table(
    "mlflow_run_versions",
    metadata,
    Column("run_id", ForeignKey("mlflow_runs.id"), primary_key=True),
    Column("version_id", ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_mlflow_run_versions_version_id", "version_id"),
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
    created(),
    Index("ix_mlflow_artifacts_digest", "digest"),
    Index("ix_mlflow_artifacts_experiment_id", "experiment_id"),
)
