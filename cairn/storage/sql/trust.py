"""Rows of the namespaces' trusted signing keys and of the versions' validations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from cairn.domain.records import NamespaceKey, Validation
from cairn.storage.sql.tables import namespace_keys, namespaces, validations


class KeyRows:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(namespace_keys).values(**values))

    def of_namespace(self, namespace_id: int) -> list[NamespaceKey]:
        query = (
            select(namespace_keys, namespaces.c.name.label("namespace_name"))
            .join(namespaces, namespaces.c.id == namespace_keys.c.namespace_id)
            .where(namespace_keys.c.namespace_id == namespace_id)
            .order_by(namespace_keys.c.name)
        )
        return [
            NamespaceKey(
                name=r["name"],
                namespace=r["namespace_name"],
                public_key=r["public_key"],
                fingerprint=r["fingerprint"],
                added_by=r["added_by"],
                created_at=r["created_at"],
            )
            for r in self.conn.execute(query).mappings()
        ]

    def remove(self, namespace_id: int, name: str) -> bool:
        query = delete(namespace_keys).where(
            namespace_keys.c.namespace_id == namespace_id, namespace_keys.c.name == name
        )
        return bool(self.conn.execute(query).rowcount)


_OF_VERSION = (
    select(validations)
    .where(validations.c.version_id == bindparam("version_id"))
    .order_by(validations.c.id)
)


_ADD = insert(validations)


class ValidationRows:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.conn.execute(_ADD, rows)  # prebuilt: every registration runs it

    def history(self, version_id: int) -> list[Validation]:
        rows = self.conn.execute(_OF_VERSION, {"version_id": version_id}).mappings()
        return [_validation(r) for r in rows]

    def claim_pending(self, name: str, limit: int) -> list[tuple[int, int]]:
        """(validation id, version id) of pending validations of ``name``, locked for this
        transaction; other workers skip them (PostgreSQL ``SKIP LOCKED``; SQLite has one
        writer anyway)."""
        query = (
            select(validations.c.id, validations.c.version_id)
            .where(validations.c.name == name, validations.c.status == "pending")
            .order_by(validations.c.id)
            .limit(limit)
        )
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return [(i, v) for i, v in self.conn.execute(query).all()]

    def release_running(self, name: str, before: datetime) -> int:
        """Give claims older than ``before`` (their worker died) back to the queue."""
        query = update(validations).where(
            validations.c.name == name,
            validations.c.status == "running",
            validations.c.updated_at < before,
        )
        return int(self.conn.execute(query.values(status="pending")).rowcount)

    def finish(
        self, validation_id: int, status: str, details: dict[str, Any], at: datetime
    ) -> None:
        query = update(validations).where(validations.c.id == validation_id)
        self.conn.execute(query.values(status=status, details=details, updated_at=at))


def _validation(r: Any) -> Validation:
    return Validation(
        id=r["id"],
        name=r["name"],
        status=r["status"],
        details=r["details"],
        created_by=r["created_by"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
    )
