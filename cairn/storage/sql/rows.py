"""Helpers shared by the row classes: dialect-aware upserts, IN-list batches, row → record
conversion."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import Connection, Select, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping

from cairn.domain.records import Model, Namespace

T = TypeVar("T")
IN_LIST_MAX = 500  # values per IN list: well under every database's bound-parameter limit


def batches(items: Iterable[T], size: int = IN_LIST_MAX) -> list[list[T]]:
    """``items`` without repeats, in order, cut into lists of at most ``size``."""
    unique = list(dict.fromkeys(items))
    return [unique[i : i + size] for i in range(0, len(unique), size)]


def upsert(
    conn: Connection,
    table: Table,
    values: dict[str, Any],
    keys: list[str],
    keep: tuple[str, ...] = (),
) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE (all but ``keep``), in the dialect's own spelling."""
    module: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = module.insert(table).values(**values)
    updates = {k: stmt.excluded[k] for k in values if k not in keys and k not in keep}
    conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=updates))


def insert_ignore(
    conn: Connection, table: Table, rows: list[dict[str, Any]], keys: list[str]
) -> None:
    """INSERT … ON CONFLICT DO NOTHING for many rows."""
    if not rows:
        return
    module: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(module.insert(table).on_conflict_do_nothing(index_elements=keys), rows)


def insert_ignore_from(
    conn: Connection, table: Table, columns: list[str], rows: Select[Any], keys: list[str]
) -> None:
    """INSERT … SELECT … ON CONFLICT DO NOTHING: the rows a query yields, those not there yet."""
    module: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = module.insert(table).from_select(columns, rows)
    conn.execute(stmt.on_conflict_do_nothing(index_elements=keys))


def insert_new(
    conn: Connection, table: Table, values: dict[str, Any], keys: list[str]
) -> RowMapping | None:
    """INSERT … ON CONFLICT (keys) DO NOTHING RETURNING *: the new row, or None when a row with
    those keys exists (PostgreSQL first waits for a concurrent inserter to commit or abort)."""
    module: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = module.insert(table).values(**values).on_conflict_do_nothing(index_elements=keys)
    return conn.execute(stmt.returning(*table.c)).mappings().first()


def namespace_record(row: RowMapping) -> Namespace:
    return Namespace(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        required_fields=row["required_fields"],
        created_at=row["created_at"],
        require_signature=row["require_signature"],
    )


def model_record(row: RowMapping, namespace: str, **extra: Any) -> Model:
    return Model(
        id=row["id"],
        namespace=namespace,
        name=row["name"],
        description=row["description"],
        card=row["card"],
        owner=row["owner"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        **extra,
    )
