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
    Index("ix_audit_log_subject", "subject"),
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
