"""Rows of lineage: the parents each version declares, resolved to versions where they can be."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, insert, select

from cairn.storage.sql.rows import batches
from cairn.storage.sql.tables import version_parents


class LineageRows:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, rows: list[dict[str, Any]]) -> None:
        """``{version_id, parent_id (None: not resolved), ref, relation}`` per declared parent."""
        if rows:
            self.conn.execute(insert(version_parents), rows)

    def with_children(self, version_ids: Iterable[int]) -> set[int]:
        """Those of ``version_ids`` that some other version declares as its parent."""
        found: set[int] = set()
        for chunk in batches(list(version_ids)):
            query = (
                select(version_parents.c.parent_id)
                .where(version_parents.c.parent_id.in_(chunk))
                .distinct()
            )
            found.update(self.conn.execute(query).scalars())
        return found
