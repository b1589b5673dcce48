"""Rows of the pages' browser sessions (``web_sessions``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from cairn.storage.sql.tables import web_sessions


class SessionRows:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, secret_hash: str, token_id: str, now: datetime, expires_at: datetime) -> None:
        self.conn.execute(
            insert(web_sessions).values(
                secret_hash=secret_hash, token_id=token_id, created_at=now, expires_at=expires_at
            )
        )

    def find(self, secret_hash: str) -> tuple[str, datetime] | None:
        """``(token_id, expires_at)`` of the session whose secret hashes to ``secret_hash``."""
        row = self.conn.execute(
            select(web_sessions.c.token_id, web_sessions.c.expires_at).where(
                web_sessions.c.secret_hash == secret_hash
            )
        ).first()
        return None if row is None else (row.token_id, row.expires_at)

    def remove(self, secret_hash: str) -> bool:
        gone = self.conn.execute(
            delete(web_sessions).where(web_sessions.c.secret_hash == secret_hash)
        )
        return gone.rowcount == 1

    def purge_expired(self, now: datetime) -> int:
        gone = self.conn.execute(delete(web_sessions).where(web_sessions.c.expires_at <= now))
        return int(gone.rowcount)
