"""Rows of versions, their files and their tags."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, insert, select, update
from sqlalchemy.engine import RowMapping

from cairn.domain.manifest import FileEntry
from cairn.domain.records import Version
from cairn.storage.sql.rows import upsert
from cairn.storage.sql.tables import (
    aliases,
    models,
    namespaces,
    version_files,
    version_tags,
    versions,
)

_COLUMNS = (
    versions,
    models.c.name.label("model_name"),
    namespaces.c.name.label("namespace_name"),
)
_FROM = versions.join(models, models.c.id == versions.c.model_id).join(
    namespaces, namespaces.c.id == models.c.namespace_id
)


class VersionRows:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def allocate_number(self, model_id: int) -> int:
        """Take the model's next number. The UPDATE holds the model row's lock until commit,
        so concurrent registrations queue here and get distinct, gapless numbers."""
        next_after = self.conn.execute(
            update(models)
            .where(models.c.id == model_id)
            .values(next_number=models.c.next_number + 1)
            .returning(models.c.next_number)
        ).scalar_one()
        return int(next_after) - 1

    def insert(
        self, values: dict[str, Any], files: Sequence[FileEntry], tags: dict[str, str]
    ) -> int:
        version_id = int(
            self.conn.execute(
                insert(versions).values(**values).returning(versions.c.id)
            ).scalar_one()
        )
        self.conn.execute(
            insert(version_files),
            [
                {"version_id": version_id, "path": f.path, "size": f.size, "digest": f.digest}
                for f in files
            ],
        )
        if tags:
            self.conn.execute(
                insert(version_tags),
                [{"version_id": version_id, "key": k, "value": v} for k, v in tags.items()],
            )
        return version_id

    def find(self, *where: ColumnElement[bool]) -> Version | None:
        row = (
            self.conn.execute(select(*_COLUMNS).select_from(_FROM).where(*where)).mappings().first()
        )
        return self._records([row])[0] if row else None

    def find_by_id(self, version_id: int) -> Version:
        found = self.find(versions.c.id == version_id)
        if found is None:
            raise LookupError(version_id)
        return found

    def by_number(self, model_id: int, number: int) -> Version | None:
        return self.find(versions.c.model_id == model_id, versions.c.number == number)

    def latest(self, model_id: int) -> Version | None:
        query = (
            select(*_COLUMNS)
            .select_from(_FROM)
            .where(versions.c.model_id == model_id)
            .order_by(versions.c.number.desc())
            .limit(1)
        )
        row = self.conn.execute(query).mappings().first()
        return self._records([row])[0] if row else None

    def by_alias(self, model_id: int, alias: str) -> Version | None:
        query = (
            select(*_COLUMNS)
            .select_from(_FROM.join(aliases, aliases.c.version_id == versions.c.id))
            .where(aliases.c.model_id == model_id, aliases.c.name == alias)
        )
        row = self.conn.execute(query).mappings().first()
        return self._records([row])[0] if row else None

    def by_idempotency_key(self, model_id: int, key: str) -> Version | None:
        return self.find(versions.c.model_id == model_id, versions.c.idempotency_key == key)

    def page_of_model(self, model_id: int, before: int | None, limit: int) -> list[Version]:
        """Versions of one model, newest number first."""
        query = select(*_COLUMNS).select_from(_FROM).where(versions.c.model_id == model_id)
        if before is not None:
            query = query.where(versions.c.number < before)
        query = query.order_by(versions.c.number.desc()).limit(limit)
        return self._records(self.conn.execute(query).mappings().all())

    def search(
        self, where: ColumnElement[bool] | None, before: int | None, limit: int
    ) -> list[Version]:
        """Versions of every live model matching ``where``, newest first (by id)."""
        query = select(*_COLUMNS).select_from(_FROM).where(models.c.deleted.is_(False))
        if where is not None:
            query = query.where(where)
        if before is not None:
            query = query.where(versions.c.id < before)
        query = query.order_by(versions.c.id.desc()).limit(limit)
        return self._records(self.conn.execute(query).mappings().all())

    def files(self, version_id: int) -> tuple[FileEntry, ...]:
        query = (
            select(version_files.c.path, version_files.c.size, version_files.c.digest)
            .where(version_files.c.version_id == version_id)
            .order_by(version_files.c.path)
        )
        return tuple(FileEntry(p, s, d) for p, s, d in self.conn.execute(query))

    def update(self, version_id: int, values: dict[str, Any]) -> None:
        self.conn.execute(update(versions).where(versions.c.id == version_id).values(**values))

    def delete(self, version_id: int) -> None:
        self.conn.execute(delete(versions).where(versions.c.id == version_id))

    def set_tag(self, version_id: int, key: str, value: str) -> None:
        upsert(
            self.conn,
            version_tags,
            {"version_id": version_id, "key": key, "value": value},
            ["version_id", "key"],
        )

    def delete_tag(self, version_id: int, key: str) -> bool:
        result = self.conn.execute(
            delete(version_tags).where(
                version_tags.c.version_id == version_id, version_tags.c.key == key
            )
        )
        return result.rowcount > 0

    def is_aliased(self, version_id: int) -> list[str]:
        query = select(aliases.c.name).where(aliases.c.version_id == version_id)
        return list(self.conn.execute(query).scalars())

    def _records(self, rows: Sequence[RowMapping]) -> list[Version]:
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        tags: dict[int, dict[str, str]] = {i: {} for i in ids}
        names: dict[int, list[str]] = {i: [] for i in ids}
        for chunk in _chunks(ids, 500):
            for vid, key, value in self.conn.execute(
                select(version_tags.c.version_id, version_tags.c.key, version_tags.c.value).where(
                    version_tags.c.version_id.in_(chunk)
                )
            ):
                tags[vid][key] = value
            for vid, name in self.conn.execute(
                select(aliases.c.version_id, aliases.c.name)
                .where(aliases.c.version_id.in_(chunk))
                .order_by(aliases.c.name)
            ):
                names[vid].append(name)
        return [_version(r, tags[r["id"]], names[r["id"]]) for r in rows]


def _chunks(items: list[int], size: int) -> list[list[int]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _version(row: RowMapping, tags: dict[str, str], alias_names: list[str]) -> Version:
    return Version(
        id=row["id"],
        namespace=row["namespace_name"],
        model=row["model_name"],
        number=row["number"],
        manifest_digest=row["manifest_digest"],
        size=row["size"],
        file_count=row["file_count"],
        state=row["state"],
        description=row["description"],
        author=row["author"],
        provenance=row["provenance"],
        schema=row["io_schema"],
        metrics=row["metrics"],
        params=row["params"],
        completeness=row["completeness"],
        missing_fields=row["missing_fields"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        tags=tags,
        aliases=alias_names,
    )
