"""The registry's own nouns: namespaces, models, versions and their files, tags and aliases, the
blobs they name, upload sessions in flight, and the housekeeping rounds servers share."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
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
    created(),
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
    created(),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("namespace_id", "key"),
    Index("ix_models_name", "name"),
)

blobs = Table(
    "blobs",
    metadata,
    Column("digest", Text, primary_key=True),
    Column("size", BigInteger, nullable=False),
    created(),
)

# Which namespaces hold which blobs: the bytes are stored once, but a blob is readable through
# a namespace only when one of its versions or uploads brought it there (as an OCI registry
# links blobs into repositories). A link is not a reference for garbage collection: it goes
# when its blob is collected (the foreign key cascades).
blob_links = Table(
    "blob_links",
    metadata,
    Column("namespace_id", ForeignKey("namespaces.id", ondelete="CASCADE"), primary_key=True),
    Column("digest", ForeignKey("blobs.digest", ondelete="CASCADE"), primary_key=True),
    created(),
    Index("ix_blob_links_digest", "digest"),
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
    # sha256 of the registration as parsed (domain.metadata.request_digest), kept with the key:
    # the key replayed with another body is a conflict, not a retry.
    Column("request_digest", Text, nullable=True),
    created(),
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
    # By key only: a value (up to 100,000 characters, as MLflow's) is compared on the row.
    Index("ix_model_tags_key_model_id", "key", "model_id"),
)

version_tags = Table(
    "version_tags",
    metadata,
    Column("version_id", ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True),
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
    Index("ix_version_tags_key_version_id", "key", "version_id"),
)

aliases = Table(
    "aliases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", ForeignKey("models.id"), nullable=False),
    # The spelling the alias was last set with, and the key it is unique under
    # (cairn.domain.names.alias_key): @Champion and @champion are one alias.
    Column("name", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("version_id", ForeignKey("versions.id"), nullable=False),
    Column("updated_by", Text, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("model_id", "key"),
    Index("ix_aliases_version_id", "version_id"),
)

# Where each alias pointed and when. The version number is kept as a plain value too, so
# the history still reads correctly after a version it once named has been deleted.
alias_history = Table(
    "alias_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", ForeignKey("models.id"), nullable=False),
    Column("alias", Text, nullable=False),  # as spelled in that move
    Column("key", Text, nullable=False),  # alias_key(alias)
    Column("action", Text, nullable=False),
    Column("version_id", ForeignKey("versions.id", ondelete="SET NULL"), nullable=True),
    Column("number", Integer, nullable=True),
    Column("previous_number", Integer, nullable=True),
    Column("actor", Text, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Index("ix_alias_history_model_id_key_at", "model_id", "key", "at"),
)

upload_sessions = Table(
    "upload_sessions",
    metadata,
    Column("id", Text, primary_key=True),
    Column("offset", BigInteger, nullable=False),
    Column("created_by", Text, nullable=False),
    # The namespace the finished blob is linked into; sessions opened before namespaces had
    # blobs have none, and no namespace can continue them.
    Column("namespace_id", ForeignKey("namespaces.id", ondelete="CASCADE"), nullable=True),
    created(),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Index("ix_upload_sessions_expires_at", "expires_at"),
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
