"""Rows of aliases and the history of every move."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.engine import RowMapping

from cairn.domain.names import alias_key
from cairn.domain.records import AliasEvent
from cairn.storage.sql.rows import upsert
from cairn.storage.sql.tables import alias_history, aliases, versions


class AliasRows:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def current(self, model_id: int, name: str) -> int | None:
        """The number of the version the alias names now, or None (any spelling of it)."""
        query = (
            select(versions.c.number)
            .join(aliases, aliases.c.version_id == versions.c.id)
            .where(aliases.c.model_id == model_id, aliases.c.key == alias_key(name))
        )
        return self.conn.execute(query).scalar_one_or_none()

    def spelled(self, model_id: int, name: str) -> str | None:
        """The spelling the alias ``name`` (any spelling of it) was made with, or None."""
        query = select(aliases.c.name).where(
            aliases.c.model_id == model_id, aliases.c.key == alias_key(name)
        )
        return self.conn.execute(query).scalar_one_or_none()

    def set(self, model_id: int, name: str, version_id: int, actor: str, now: datetime) -> None:
        """Point the alias at ``version_id``; a moved alias keeps the spelling it was made with."""
        upsert(
            self.conn,
            aliases,
            {
                "model_id": model_id,
                "name": name,
                "key": alias_key(name),
                "version_id": version_id,
                "updated_by": actor,
                "updated_at": now,
            },
            ["model_id", "key"],
            keep=("name",),
        )

    def delete(self, model_id: int, name: str) -> None:
        self.conn.execute(
            delete(aliases).where(aliases.c.model_id == model_id, aliases.c.key == alias_key(name))
        )

    def record(
        self,
        model_id: int,
        name: str,
        action: str,
        version: tuple[int, int] | None,
        previous: int | None,
        actor: str,
        now: datetime,
    ) -> None:
        version_id, number = version if version else (None, None)
        self.conn.execute(
            insert(alias_history).values(
                model_id=model_id,
                alias=name,
                key=alias_key(name),
                action=action,
                version_id=version_id,
                number=number,
                previous_number=previous,
                actor=actor,
                at=now,
            )
        )

    def history(
        self, model_id: int, name: str | None, limit: int, until: datetime | None = None
    ) -> list[AliasEvent]:
        """Moves oldest first; with ``until``, only those made at or before that time."""
        query = select(alias_history).where(alias_history.c.model_id == model_id)
        if name is not None:
            query = query.where(alias_history.c.key == alias_key(name))
        if until is not None:
            query = query.where(alias_history.c.at <= until)
        query = query.order_by(alias_history.c.id).limit(limit)
        return [_event(r) for r in self.conn.execute(query).mappings()]

    def at(self, model_id: int, name: str, when: datetime) -> AliasEvent | None:
        """The last move of ``name`` made at or before ``when``."""
        query = (
            select(alias_history)
            .where(
                alias_history.c.model_id == model_id,
                alias_history.c.key == alias_key(name),
                alias_history.c.at <= when,
            )
            .order_by(alias_history.c.id.desc())
            .limit(1)
        )
        row = self.conn.execute(query).mappings().first()
        return _event(row) if row else None


def _event(row: RowMapping) -> AliasEvent:
    return AliasEvent(
        alias=row["alias"],
        action=row["action"],
        number=row["number"],
        previous_number=row["previous_number"],
        actor=row["actor"],
        at=row["at"],
    )
