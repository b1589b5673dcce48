"""Rows of webhook subscriptions, deliveries, their attempts, and the outbox's fan-out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from cairn.domain.records import Delivery, DeliveryAttempt, Webhook
from cairn.storage.sql.tables import deliveries, delivery_attempts, events, webhooks


class WebhookRows:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, values: dict[str, Any]) -> int:
        query = insert(webhooks).values(**values).returning(webhooks.c.id)
        return int(self.conn.execute(query).scalar_one())

    def get(self, webhook_id: int) -> tuple[Webhook, str] | None:
        """The subscription and its (encrypted) secret."""
        row = self.conn.execute(select(webhooks).where(webhooks.c.id == webhook_id)).mappings()
        found = row.first()
        return (_webhook(found), found["secret"]) if found else None

    def find(self, namespace: str | None = None, *, enabled_only: bool = False) -> list[Webhook]:
        query = select(webhooks).order_by(webhooks.c.id)
        if namespace is not None:
            query = query.where(webhooks.c.namespace == namespace)
        if enabled_only:
            query = query.where(webhooks.c.enabled.is_(True))
        return [_webhook(r) for r in self.conn.execute(query).mappings()]

    def remove(self, webhook_id: int) -> bool:
        return bool(self.conn.execute(delete(webhooks).where(webhooks.c.id == webhook_id)).rowcount)

    def update(self, webhook_id: int, **values: Any) -> None:
        self.conn.execute(update(webhooks).where(webhooks.c.id == webhook_id).values(**values))

    # ------------------------------------------------------------------ the outbox
    def any_undispatched(self) -> bool:
        query = select(events.c.id).where(events.c.delivered_at.is_(None)).limit(1)
        return self.conn.execute(query).first() is not None

    def any_due(self, now: datetime) -> bool:
        query = (
            select(deliveries.c.id)
            .where(
                deliveries.c.status.in_(("pending", "sending")),
                deliveries.c.next_attempt_at <= now,
            )
            .limit(1)
        )
        return self.conn.execute(query).first() is not None

    def undispatched(self, limit: int) -> list[dict[str, Any]]:
        """Events not yet fanned out to subscriptions, oldest first, locked (PostgreSQL
        ``SKIP LOCKED``: dispatchers in other processes take the next ones)."""
        query = (
            select(events.c.id, events.c.type, events.c.subject)
            .where(events.c.delivered_at.is_(None))
            .order_by(events.c.id)
            .limit(limit)
        )
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return [dict(r) for r in self.conn.execute(query).mappings()]

    def mark_dispatched(self, event_ids: list[int], at: datetime) -> None:
        if event_ids:
            query = update(events).where(events.c.id.in_(event_ids))
            self.conn.execute(query.values(delivered_at=at))

    def event(self, event_id: int) -> dict[str, Any]:
        row = self.conn.execute(select(events).where(events.c.id == event_id)).mappings().one()
        return dict(row)

    # ------------------------------------------------------------------ deliveries
    def add_deliveries(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.conn.execute(insert(deliveries), rows)

    def due(self, now: datetime, limit: int) -> list[int]:
        """Deliveries to attempt now (pending and due, or a send whose lease ran out)."""
        query = (
            select(deliveries.c.id)
            .where(
                deliveries.c.status.in_(("pending", "sending")),
                deliveries.c.next_attempt_at <= now,
            )
            .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
            .limit(limit)
        )
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return list(self.conn.execute(query).scalars())

    def delivery(self, delivery_id: int) -> Delivery | None:
        found = self.deliveries(delivery_id=delivery_id, with_log=True)
        return found[0] if found else None

    def deliveries(
        self,
        *,
        delivery_id: int | None = None,
        webhook_id: int | None = None,
        limit: int = 100,
        with_log: bool = False,
    ) -> list[Delivery]:
        query = (
            select(deliveries, events.c.type.label("event_type"), events.c.subject)
            .join(events, events.c.id == deliveries.c.event_id)
            .order_by(deliveries.c.id.desc())
            .limit(limit)
        )
        if delivery_id is not None:
            query = query.where(deliveries.c.id == delivery_id)
        if webhook_id is not None:
            query = query.where(deliveries.c.webhook_id == webhook_id)
        rows = self.conn.execute(query).mappings().all()
        logs = self._logs([r["id"] for r in rows]) if with_log else {}
        return [_delivery(r, logs.get(r["id"], ())) for r in rows]

    def _logs(self, ids: list[int]) -> dict[int, tuple[DeliveryAttempt, ...]]:
        if not ids:
            return {}
        query = (
            select(delivery_attempts)
            .where(delivery_attempts.c.delivery_id.in_(ids))
            .order_by(delivery_attempts.c.id)
        )
        found: dict[int, list[DeliveryAttempt]] = {}
        for r in self.conn.execute(query).mappings():
            found.setdefault(r["delivery_id"], []).append(
                DeliveryAttempt(r["at"], r["status"], r["error"], r["duration_ms"])
            )
        return {k: tuple(v) for k, v in found.items()}

    def set_delivery(self, delivery_id: int, **values: Any) -> None:
        query = update(deliveries).where(deliveries.c.id == delivery_id)
        self.conn.execute(query.values(**values))

    def add_attempt(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(delivery_attempts).values(**values))


def _webhook(r: Any) -> Webhook:
    return Webhook(
        id=r["id"],
        namespace=r["namespace"],
        url=r["url"],
        event_types=r["event_types"],
        enabled=r["enabled"],
        disabled_reason=r["disabled_reason"],
        consecutive_failures=r["consecutive_failures"],
        created_by=r["created_by"],
        created_at=r["created_at"],
    )


def _delivery(r: Any, log: tuple[DeliveryAttempt, ...]) -> Delivery:
    return Delivery(
        id=r["id"],
        webhook_id=r["webhook_id"],
        event_id=r["event_id"],
        event_type=r["event_type"],
        subject=r["subject"],
        status=r["status"],
        attempts=r["attempts"],
        next_attempt_at=r["next_attempt_at"],
        last_status=r["last_status"],
        last_error=r["last_error"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        log=log,
    )
