"""The audit log and the event outbox, both appended in the mutation's own transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from cairn.domain.records import AuditEntry
from cairn.storage.sql.tables import audit_log, events

_AUDIT = insert(audit_log)
_EVENT = insert(events)


class JournalRows:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def append(
        self,
        *,
        at: datetime,
        actor: str,
        action: str,
        subject: str,
        payload: dict[str, Any],
        request_id: str | None,
        event: bool = True,
    ) -> None:
        self.conn.execute(
            _AUDIT,
            {
                "at": at,
                "actor": actor,
                "action": action,
                "subject": subject,
                "payload": payload,
                "request_id": request_id,
            },
        )
        if not event:
            return
        event_payload = {"actor": actor, **payload}
        self.conn.execute(
            _EVENT, {"at": at, "type": action, "subject": subject, "payload": event_payload}
        )

    def entries(
        self, subject_prefix: str | None, after: int | None, limit: int
    ) -> list[AuditEntry]:
        query = select(audit_log)
        if subject_prefix:
            query = query.where(audit_log.c.subject.startswith(subject_prefix, autoescape=True))
        if after is not None:
            query = query.where(audit_log.c.id > after)
        rows = self.conn.execute(query.order_by(audit_log.c.id).limit(limit)).mappings()
        return [
            AuditEntry(
                id=r["id"],
                at=r["at"],
                actor=r["actor"],
                action=r["action"],
                subject=r["subject"],
                payload=r["payload"],
                request_id=r["request_id"],
            )
            for r in rows
        ]
