"""Rows of scheduled housekeeping jobs: claiming a round that is due, and marking it done."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from cairn.storage.sql.tables import scheduled_jobs


class JobRows:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def claim(self, name: str, now: datetime, next_due: datetime) -> bool:
        """Take the round of ``name`` if it is due at ``now`` (a job never seen is due), moving
        its next round to ``next_due``. Of several processes claiming at once, one wins: the
        UPDATE re-checks ``due_at`` under the row's lock."""
        dialect_insert = pg_insert if self.conn.dialect.name == "postgresql" else sqlite_insert
        self.conn.execute(
            dialect_insert(scheduled_jobs)
            .values(name=name, due_at=now)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        claimed = self.conn.execute(
            update(scheduled_jobs)
            .where(scheduled_jobs.c.name == name, scheduled_jobs.c.due_at <= now)
            .values(due_at=next_due, started_at=now)
        )
        return claimed.rowcount == 1

    def finished(self, name: str, now: datetime) -> None:
        self.conn.execute(
            update(scheduled_jobs).where(scheduled_jobs.c.name == name).values(finished_at=now)
        )

    def times(self, name: str) -> tuple[datetime, datetime | None, datetime | None] | None:
        """``(due_at, started_at, finished_at)`` of ``name``, if it was ever claimed."""
        row = self.conn.execute(
            select(
                scheduled_jobs.c.due_at, scheduled_jobs.c.started_at, scheduled_jobs.c.finished_at
            ).where(scheduled_jobs.c.name == name)
        ).first()
        return (row[0], row[1], row[2]) if row else None
