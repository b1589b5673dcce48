"""Rows of versions, their files and their tags."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Connection,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.sql.elements import BindParameter

from cairn.domain.manifest import FileEntry
from cairn.domain.names import alias_key
from cairn.domain.records import Version
from cairn.storage.sql.rows import batches, upsert
from cairn.storage.sql.tables import (
    aliases,
    models,
    namespaces,
    version_files,
    version_tags,
    versions,
)

# In the order of ``Version``'s fields, so that a row becomes a record positionally.
_COLUMNS = (
    versions.c.id,
    namespaces.c.name,
    models.c.name,
    versions.c.number,
    versions.c.manifest_digest,
    versions.c.size,
    versions.c.file_count,
    versions.c.state,
    versions.c.description,
    versions.c.author,
    versions.c.provenance,
    versions.c.io_schema,
    versions.c.metrics,
    versions.c.params,
    versions.c.completeness,
    versions.c.missing_fields,
    versions.c.created_at,
    versions.c.updated_at,
)
_FROM = versions.join(models, models.c.id == versions.c.model_id).join(
    namespaces, namespaces.c.id == models.c.namespace_id
)
# The hot reads are built once: constructing a statement costs more than running it on SQLite.
_OF_MODEL = (
    select(*_COLUMNS)
    .select_from(_FROM)
    .where(
        namespaces.c.key == bindparam("ns"),
        models.c.key == bindparam("model"),
        models.c.deleted.is_(False),
    )
)
_BY_NUMBER = _OF_MODEL.where(versions.c.number == bindparam("number"))
# NO KEY UPDATE: other writers of the version wait, inserts that reference it (a validation,
# a tag) do not, so two transactions that each added one never deadlock on it.
_BY_NUMBER_HELD = _BY_NUMBER.with_for_update(of=versions, key_share=True)
_LATEST = _OF_MODEL.order_by(versions.c.number.desc()).limit(1)
_BY_ALIAS = (
    select(*_COLUMNS)
    .select_from(_FROM.join(aliases, aliases.c.version_id == versions.c.id))
    .where(
        namespaces.c.key == bindparam("ns"),
        models.c.key == bindparam("model"),
        models.c.deleted.is_(False),
        # Naming the alias's model lets the planner look the alias up by (model, key)
        # rather than walk every version of the model.
        aliases.c.model_id == models.c.id,
        aliases.c.key == bindparam("alias"),
    )
)
_PAGE_OF_MODEL = (
    select(*_COLUMNS)
    .select_from(_FROM)
    .where(versions.c.model_id == bindparam("model_id"))
    .order_by(versions.c.number.desc())
    .limit(bindparam("limit"))
)
_PAGE_OF_MODEL_BEFORE = _PAGE_OF_MODEL.where(versions.c.number < bindparam("before"))


def _extras(matches: Callable[[Any], Any]) -> CompoundSelect[Any]:
    """What a version's row does not hold, for the versions ``matches`` picks by id, in one
    query: ("t", key, value) per tag and ("a", name, "") per alias. (Its validations are read
    by ``cairn.services.validations.counted``, the one rule of which results count.)"""
    return union_all(
        select(
            version_tags.c.version_id,
            literal("t"),
            version_tags.c.key,
            version_tags.c.value,
        ).where(matches(version_tags.c.version_id)),
        select(aliases.c.version_id, literal("a"), aliases.c.name, literal("")).where(
            matches(aliases.c.version_id)
        ),
    )


_IDS: BindParameter[int] = bindparam("ids", expanding=True)
# Keyed by "one version": one version binds its id as it is; an expanding list is rendered
# into the statement anew on every execution.
_EXTRAS = {
    one: _extras((lambda c: c == bindparam("ids")) if one else (lambda c: c.in_(_IDS)))
    for one in (False, True)
}
_ALLOCATE = (
    update(models)
    .where(models.c.id == bindparam("the_model"))
    .values(next_number=models.c.next_number + 1)
    .returning(models.c.next_number)
)
_INSERT = insert(versions).returning(versions.c.id)
_INSERT_FILES = insert(version_files)
_INSERT_TAGS = insert(version_tags)
_BY_IDEMPOTENCY_KEY = (
    select(*_COLUMNS)
    .select_from(_FROM)
    .where(
        versions.c.model_id == bindparam("model_id"), versions.c.idempotency_key == bindparam("key")
    )
)
_FILES = (
    select(version_files.c.path, version_files.c.size, version_files.c.digest)
    .where(version_files.c.version_id == bindparam("id"))
    .order_by(version_files.c.path)
)
# Keyset pages of a version's files, by path: the primary key (version_id, path) serves
# both, so a page of a version with 100,000 files costs what a page of a small one does.
_FILES_PAGE = _FILES.limit(bindparam("limit"))
_FILES_PAGE_AFTER = _FILES_PAGE.where(version_files.c.path > bindparam("after"))


class VersionRows:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def allocate_number(self, model_id: int) -> int:
        """Take the model's next number. The UPDATE holds the model row's lock until commit,
        so concurrent registrations queue here and get distinct, gapless numbers."""
        next_after = self.conn.execute(_ALLOCATE, {"the_model": model_id}).scalar_one()
        return int(next_after) - 1

    def insert(
        self, values: dict[str, Any], files: Sequence[FileEntry], tags: dict[str, str]
    ) -> int:
        version_id = int(self.conn.execute(_INSERT, values).scalar_one())
        self.conn.execute(
            _INSERT_FILES,
            [
                {"version_id": version_id, "path": f.path, "size": f.size, "digest": f.digest}
                for f in files
            ],
        )
        if tags:
            self.conn.execute(
                _INSERT_TAGS,
                [{"version_id": version_id, "key": k, "value": v} for k, v in tags.items()],
            )
        return version_id

    def numbers(self, model_id: int, *, state: str | None = None) -> list[int]:
        """Every version number of the model (only those in ``state``, when given), ascending."""
        query = select(versions.c.number).where(versions.c.model_id == model_id)
        if state is not None:
            query = query.where(versions.c.state == state)
        return list(self.conn.execute(query.order_by(versions.c.number)).scalars())

    def newest_per_state(self, model_id: int) -> list[Version]:
        """The newest version of the model in each lifecycle state, oldest first."""
        return self.newest_per_state_of([model_id]).get(model_id, [])

    def newest_per_state_of(self, model_ids: Sequence[int]) -> dict[int, list[Version]]:
        """``newest_per_state`` for many models at once, keyed by model id."""
        found: dict[int, list[Version]] = {}
        for chunk in batches(model_ids):
            newest = (
                select(
                    versions.c.model_id,
                    versions.c.state,
                    func.max(versions.c.number).label("number"),
                )
                .where(versions.c.model_id.in_(chunk))
                .group_by(versions.c.model_id, versions.c.state)
                .subquery()
            )
            query = (
                select(*_COLUMNS, versions.c.model_id)
                .select_from(
                    _FROM.join(
                        newest,
                        (versions.c.model_id == newest.c.model_id)
                        & (versions.c.state == newest.c.state)
                        & (versions.c.number == newest.c.number),
                    )
                )
                .order_by(versions.c.model_id, versions.c.number)
            )
            rows = self.conn.execute(query).all()
            records = self._records([row[:-1] for row in rows])
            for row, version in zip(rows, records, strict=True):
                found.setdefault(row[-1], []).append(version)
        return found

    def find(self, *where: ColumnElement[bool]) -> Version | None:
        row = self.conn.execute(select(*_COLUMNS).select_from(_FROM).where(*where)).first()
        return self._records([row])[0] if row else None

    def resolve(
        self,
        namespace_key: str,
        model_key: str,
        number: int | None,
        alias: str | None,
        *,
        hold: bool = False,
    ) -> Version | None:
        """The version a reference names (by number, alias, or the latest), in one query, and
        its tags and aliases in another.
        ``hold`` (by number only) keeps other writers of the version's row waiting until this
        transaction ends (PostgreSQL; SQLite has one writer), so the tags read next include
        every change committed before."""
        if number is not None and not 0 < number < 2**31:
            # The column is 32-bit: no row has such a number, and PostgreSQL refuses the bind.
            return None
        params: dict[str, Any] = {"ns": namespace_key, "model": model_key}
        if number is not None:
            query, params["number"] = (_BY_NUMBER_HELD if hold else _BY_NUMBER), number
        elif alias is not None:
            query, params["alias"] = _BY_ALIAS, alias_key(alias)
        else:
            query = _LATEST
        row = self.conn.execute(query, params).first()
        return self._records([row])[0] if row else None

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
        row = self.conn.execute(query).first()
        return self._records([row])[0] if row else None

    def by_alias(self, model_id: int, alias: str) -> Version | None:
        query = (
            select(*_COLUMNS)
            .select_from(_FROM.join(aliases, aliases.c.version_id == versions.c.id))
            .where(aliases.c.model_id == model_id, aliases.c.key == alias_key(alias))
        )
        row = self.conn.execute(query).first()
        return self._records([row])[0] if row else None

    def by_idempotency_key(self, model_id: int, key: str) -> Version | None:
        params = {"model_id": model_id, "key": key}
        found = self.conn.execute(_BY_IDEMPOTENCY_KEY, params).first()
        return self._records([found])[0] if found else None

    def request_digest(self, version_id: int) -> str | None:
        """The digest of the request that registered the version under an idempotency key
        (``None`` for one registered without a key, or before digests were kept)."""
        query = select(versions.c.request_digest).where(versions.c.id == version_id)
        found: str | None = self.conn.execute(query).scalar_one_or_none()
        return found

    def page_of_model(self, model_id: int, before: int | None, limit: int) -> list[Version]:
        """Versions of one model, newest number first."""
        params = {"model_id": model_id, "before": before, "limit": limit}
        query = _PAGE_OF_MODEL if before is None else _PAGE_OF_MODEL_BEFORE
        return self._records(self.conn.execute(query, params).all())

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
        return self._records(self.conn.execute(query).all())

    def ref_of(self, version_id: int) -> str:
        """``namespace/model:number`` of a version, by id."""
        query = (
            select(namespaces.c.name, models.c.name, versions.c.number)
            .select_from(_FROM)
            .where(versions.c.id == version_id)
        )
        ns, model, number = self.conn.execute(query).one()
        return f"{ns}/{model}:{number}"

    def files(self, version_id: int) -> tuple[FileEntry, ...]:
        rows = self.conn.execute(_FILES, {"id": version_id})
        return tuple(FileEntry(p, s, d) for p, s, d in rows)

    def files_page(self, version_id: int, after: str | None, limit: int) -> list[FileEntry]:
        """Up to ``limit`` of the version's files in path order, after the path ``after``."""
        params = {"id": version_id, "after": after, "limit": limit}
        query = _FILES_PAGE if after is None else _FILES_PAGE_AFTER
        return [FileEntry(p, s, d) for p, s, d in self.conn.execute(query, params)]

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

    def _records(self, rows: Sequence[Sequence[Any]]) -> list[Version]:
        if not rows:
            return []
        ids = [r[0] for r in rows]
        tags: dict[int, dict[str, str]] = {i: {} for i in ids}
        names: dict[int, list[str]] = {i: [] for i in ids}
        for chunk in batches(ids):
            query = _EXTRAS[len(chunk) == 1]
            bound = chunk[0] if len(chunk) == 1 else chunk
            for vid, kind, key, value in self.conn.execute(query, {"ids": bound}).all():
                if kind == "t":
                    tags[vid][key] = value
                else:
                    names[vid].append(key)
        for found in names.values():
            found.sort()
        return [_version(r, tags[r[0]], names[r[0]]) for r in rows]


def _version(row: Sequence[Any], tags: dict[str, str], alias_names: list[str]) -> Version:
    # row: ``_COLUMNS``, in field order; then tags, aliases; files and validations are read apart
    fields: tuple[Any, ...] = (*row, tags, alias_names, None, None)
    return Version(*fields)
