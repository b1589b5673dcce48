"""Rows of namespaces, models and model tags."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, delete, func, select, update

from cairn.domain.records import Model, Namespace
from cairn.storage.sql.rows import batches, insert_new, model_record, namespace_record, upsert
from cairn.storage.sql.tables import aliases, model_tags, models, namespaces, versions

_MODEL_COLUMNS = (
    models,
    namespaces.c.name.label("namespace_name"),
    namespaces.c.required_fields.label("namespace_required_fields"),
)
_BY_KEY = (
    select(*_MODEL_COLUMNS)
    .join(namespaces, namespaces.c.id == models.c.namespace_id)
    .where(
        namespaces.c.key == bindparam("ns"),
        models.c.key == bindparam("model"),
        models.c.deleted.is_(False),
    )
)
_BY_KEY_LOCKED = _BY_KEY.with_for_update(of=models)
_BY_KEY_HELD = _BY_KEY.with_for_update(of=models, key_share=True)  # FOR NO KEY UPDATE
_NAMESPACE_BY_KEY = select(namespaces).where(namespaces.c.key == bindparam("key"))


class NamespaceRows:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def insert(self, name: str, key: str, description: str, now: datetime) -> Namespace | None:
        """The new namespace, or None if one with this key exists."""
        values = {"name": name, "key": key, "description": description, "created_at": now}
        row = insert_new(self.conn, namespaces, values, ["key"])
        return namespace_record(row) if row else None

    def get(self, key: str, *, lock: bool = False) -> Namespace | None:
        """The namespace; ``lock`` holds its row until commit (PostgreSQL; SQLite's writers
        are serialised anyway), which is how creations of models in it queue."""
        query = _NAMESPACE_BY_KEY.with_for_update(key_share=True) if lock else _NAMESPACE_BY_KEY
        row = self.conn.execute(query, {"key": key}).mappings().first()
        return namespace_record(row) if row else None

    def list(self) -> list[Namespace]:
        rows = self.conn.execute(select(namespaces).order_by(namespaces.c.name)).mappings()
        return [namespace_record(r) for r in rows]

    def update(self, namespace_id: int, **values: Any) -> None:
        self.conn.execute(
            update(namespaces).where(namespaces.c.id == namespace_id).values(**values)
        )


class ModelRows:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def find_any(self, namespace_id: int, key: str) -> tuple[int, bool] | None:
        """(id, deleted) of the model row with this key, live or a tombstone."""
        row = self.conn.execute(
            select(models.c.id, models.c.deleted).where(
                models.c.namespace_id == namespace_id, models.c.key == key
            )
        ).first()
        return (row[0], row[1]) if row else None

    def insert(self, namespace_id: int, values: dict[str, Any], now: datetime) -> int | None:
        """The new model's id, or None if a model with this key exists (live or deleted)."""
        full = {"namespace_id": namespace_id, "created_at": now, "updated_at": now, **values}
        row = insert_new(self.conn, models, full, ["namespace_id", "key"])
        return row["id"] if row else None

    def revive(self, model_id: int, values: dict[str, Any], now: datetime) -> bool:
        """Bring a deleted model back (False if another transaction just did). A deleted
        model keeps its row, so its version numbers are never handed out again."""
        result = self.conn.execute(
            update(models)
            .where(models.c.id == model_id, models.c.deleted.is_(True))
            .values(deleted=False, created_at=now, updated_at=now, **values)
        )
        return result.rowcount == 1

    def get(self, namespace_key: str, key: str, *, lock: bool = False) -> Model | None:
        query = _BY_KEY_LOCKED if lock else _BY_KEY
        row = self.conn.execute(query, {"ns": namespace_key, "model": key}).mappings().first()
        return self._record(row) if row else None

    def hold(self, namespace_key: str, key: str) -> Model | None:
        """The live model, its row held against other writers until this transaction ends
        (FOR NO KEY UPDATE on PostgreSQL: inserts that reference it, a tag or a version, still
        pass, so two writers that each added one never deadlock on it)."""
        row = self.conn.execute(_BY_KEY_HELD, {"ns": namespace_key, "model": key}).mappings()
        found = row.first()
        return self._record(found) if found else None

    def get_by_id(self, model_id: int) -> Model:
        row = self.conn.execute(self._select(models.c.id == model_id)).mappings().one()
        return self._record(row)

    def page(
        self,
        where: ColumnElement[bool] | None,
        after: int | None,
        limit: int,
        *,
        namespace_id: int | None = None,
    ) -> list[Model]:
        query = self._select(models.c.deleted.is_(False))
        if namespace_id is not None:
            query = query.where(models.c.namespace_id == namespace_id)
        if where is not None:
            query = query.where(where)
        if after is not None:
            query = query.where(models.c.id > after)
        rows = self.conn.execute(query.order_by(models.c.id).limit(limit)).mappings().all()
        return [self._record(r) for r in rows]

    def update(self, model_id: int, values: dict[str, Any], now: datetime) -> None:
        self.conn.execute(
            update(models).where(models.c.id == model_id).values(updated_at=now, **values)
        )

    def rename(self, model_id: int, name: str, key: str, now: datetime) -> None:
        self.update(model_id, {"name": name, "key": key}, now)

    def mark_deleted(self, model_id: int, now: datetime) -> None:
        self.conn.execute(delete(model_tags).where(model_tags.c.model_id == model_id))
        self.update(model_id, {"deleted": True}, now)

    def count_versions(self, model_id: int) -> int:
        query = select(func.count()).select_from(versions).where(versions.c.model_id == model_id)
        return int(self.conn.execute(query).scalar_one())

    def latest_numbers(self, model_ids: list[int]) -> dict[int, int]:
        query = (
            select(versions.c.model_id, func.max(versions.c.number))
            .where(versions.c.model_id.in_(model_ids))
            .group_by(versions.c.model_id)
        )
        return {m: n for m, n in self.conn.execute(query)}

    def tags(self, model_ids: list[int]) -> dict[int, dict[str, str]]:
        out: dict[int, dict[str, str]] = {m: {} for m in model_ids}
        query = select(model_tags).where(model_tags.c.model_id.in_(model_ids))
        for row in self.conn.execute(query).mappings():
            out[row["model_id"]][row["key"]] = row["value"]
        return out

    def aliases(self, model_id: int) -> dict[str, int]:
        return self.aliases_of([model_id]).get(model_id, {})

    def aliases_of(self, model_ids: Sequence[int]) -> dict[int, dict[str, int]]:
        """Each model's aliases (name → version number, by name), keyed by model id; models
        without any are left out."""
        found: dict[int, dict[str, int]] = {}
        for batch in batches(model_ids):
            query = (
                select(aliases.c.model_id, aliases.c.name, versions.c.number)
                .join(versions, versions.c.id == aliases.c.version_id)
                .where(aliases.c.model_id.in_(batch))
                .order_by(aliases.c.model_id, aliases.c.name)
            )
            for model_id, name, number in self.conn.execute(query):
                found.setdefault(model_id, {})[name] = number
        return found

    def set_tag(self, model_id: int, key: str, value: str) -> None:
        upsert(
            self.conn,
            model_tags,
            {"model_id": model_id, "key": key, "value": value},
            ["model_id", "key"],
        )

    def delete_tag(self, model_id: int, key: str) -> bool:
        result = self.conn.execute(
            delete(model_tags).where(model_tags.c.model_id == model_id, model_tags.c.key == key)
        )
        return result.rowcount > 0

    @staticmethod
    def _select(*where: ColumnElement[bool]) -> Any:
        return (
            select(*_MODEL_COLUMNS)
            .join(namespaces, namespaces.c.id == models.c.namespace_id)
            .where(*where)
        )

    @staticmethod
    def _record(row: Any) -> Model:
        return model_record(
            row, row["namespace_name"], required_fields=row["namespace_required_fields"]
        )
