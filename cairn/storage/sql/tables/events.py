"""The outbox of events and its fan-out to webhook subscriptions: deliveries and every attempt."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
)

from cairn.storage.sql.tables.base import Json, UTCDateTime, created, metadata

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
    created(),
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
    created(),
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
