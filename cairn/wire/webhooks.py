"""Webhook subscriptions and the deliveries of their events."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from cairn.domain import records
from cairn.wire.base import Record, Request


class Webhook(Record):
    id: int
    namespace: str = Field(description="Whose events it receives; `*`: every namespace's.")
    url: str
    event_types: list[str] = Field(description="Empty: every event.")
    enabled: bool
    disabled_reason: str | None = Field(
        description="Why the server stopped delivering to it; null while enabled."
    )
    consecutive_failures: int
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, h: records.Webhook) -> Webhook:
        return cls(
            id=h.id,
            namespace=h.namespace,
            url=h.url,
            event_types=h.event_types,
            enabled=h.enabled,
            disabled_reason=h.disabled_reason,
            consecutive_failures=h.consecutive_failures,
            created_by=h.created_by,
            created_at=h.created_at,
        )


class NewWebhook(Request):
    url: str = Field(examples=["https://ci.example.com/cairn-events"])
    event_types: list[str] = Field(
        default_factory=list,
        description="The events to receive (`version.*`: a family); empty: all of them.",
        examples=[["version.register", "alias.*"]],
    )


class CreatedWebhook(Record):
    """A new subscription and the secret that signs its deliveries, shown this once."""

    webhook: Webhook
    secret: str = Field(description="The key of each delivery's `webhook-signature` header.")

    @classmethod
    def of(cls, h: records.Webhook, secret: str) -> CreatedWebhook:
        return cls(webhook=Webhook.of(h), secret=secret)


class DeliveryAttempt(Record):
    at: datetime
    status: int | None = Field(description="The HTTP status answered; null: no answer.")
    error: str | None
    duration_ms: float


class Delivery(Record):
    """One event sent (or to be sent) to one webhook, with each attempt."""

    id: int
    webhook: int = Field(description="The webhook's id.")
    event: int = Field(description="The event's id.")
    event_type: str
    subject: str
    status: str = Field(examples=["pending", "succeeded", "failed"])
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    log: list[DeliveryAttempt]

    @classmethod
    def of(cls, d: records.Delivery) -> Delivery:
        return cls(
            id=d.id,
            webhook=d.webhook_id,
            event=d.event_id,
            event_type=d.event_type,
            subject=d.subject,
            status=d.status,
            attempts=d.attempts,
            next_attempt_at=d.next_attempt_at,
            last_status=d.last_status,
            last_error=d.last_error,
            created_at=d.created_at,
            updated_at=d.updated_at,
            log=[
                DeliveryAttempt(at=a.at, status=a.status, error=a.error, duration_ms=a.duration_ms)
                for a in d.log
            ],
        )
