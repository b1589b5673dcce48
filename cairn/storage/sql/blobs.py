"""Rows of blobs known to be durable in the blob store, and of upload sessions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from cairn.domain.records import UploadSession
from cairn.storage.sql.rows import insert_ignore
from cairn.storage.sql.tables import blobs, upload_sessions

_SIZES = select(blobs.c.digest, blobs.c.size).where(
    blobs.c.digest.in_(bindparam("digests", expanding=True))
)


class BlobRows:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def sizes(self, digests: Iterable[str]) -> dict[str, int]:
        """Size of each of ``digests`` that the registry holds."""
        wanted = list(dict.fromkeys(digests))
        found: dict[str, int] = {}
        for i in range(0, len(wanted), 500):
            rows = self.conn.execute(_SIZES, {"digests": wanted[i : i + 500]})
            found.update({d: s for d, s in rows})
        return found

    def add(self, digest: str, size: int, now: datetime) -> None:
        """Record a blob; only after its bytes are durable in the blob store."""
        insert_ignore(
            self.conn, blobs, [{"digest": digest, "size": size, "created_at": now}], ["digest"]
        )


class UploadRows:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def create(
        self, session_id: str, actor: str, now: datetime, expires: datetime
    ) -> UploadSession:
        self.conn.execute(
            insert(upload_sessions).values(
                id=session_id,
                offset=0,
                created_by=actor,
                created_at=now,
                updated_at=now,
                expires_at=expires,
            )
        )
        return UploadSession(session_id, 0, actor, now, expires)

    def get(self, session_id: str, *, lock: bool = False) -> UploadSession | None:
        query = select(upload_sessions).where(upload_sessions.c.id == session_id)
        if lock:
            query = query.with_for_update()
        row = self.conn.execute(query).mappings().first()
        if row is None:
            return None
        return UploadSession(
            row["id"], row["offset"], row["created_by"], row["created_at"], row["expires_at"]
        )

    def advance(self, session_id: str, offset: int, now: datetime, expires: datetime) -> None:
        self.conn.execute(
            update(upload_sessions)
            .where(upload_sessions.c.id == session_id)
            .values(offset=offset, updated_at=now, expires_at=expires)
        )

    def delete(self, session_id: str) -> None:
        self.conn.execute(delete(upload_sessions).where(upload_sessions.c.id == session_id))

    def expired(self, now: datetime, limit: int = 1000) -> list[str]:
        query = select(upload_sessions.c.id).where(upload_sessions.c.expires_at < now).limit(limit)
        return list(self.conn.execute(query).scalars())
