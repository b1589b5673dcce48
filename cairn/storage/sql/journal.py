"""The audit log and the event outbox, both appended in the mutation's own transaction; the
sequencer's placing of entries in the Merkle tree, and the signed checkpoints."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, func, insert, null, select, text, update

from cairn.domain.audit import entry_document, entry_leaf_hash
from cairn.domain.records import AuditEntry, Checkpoint
from cairn.storage.sql.tables import audit_checkpoints, audit_log, events

_AUDIT = insert(audit_log)
_EVENT = insert(events)
_PLACE = (
    update(audit_log)
    .where(audit_log.c.id == bindparam("entry_id"))
    .values(leaf_index=bindparam("index"))
)
# Any constant shared by every process: the key of PostgreSQL's advisory lock for sequencing.
_SEQUENCER_LOCK = 0x6361_6972_6E41


class JournalRows:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def append(
        self,
        *,
        at: datetime,
        actor: str,
        action: str,
        subject: str,
        payload: dict[str, Any],
        request_id: str | None,
        records: dict[str, Any] | None = None,
        event: bool = True,
        namespace: str | None = None,
    ) -> None:
        """``records``: the digests of the records the mutation left behind (see
        ``domain.record_state``), part of what the leaf hash covers. ``namespace``: the key of
        the namespace whose readers may read the entry (``domain.audit.entry_namespace``)."""
        # Hash exactly what a reader will get back: JSON types only (tuples become lists).
        payload = orjson.loads(orjson.dumps(payload))
        document = entry_document(
            at=at,
            actor=actor,
            action=action,
            subject=subject,
            payload=payload,
            request_id=request_id,
            records=records,
        )
        self.conn.execute(
            _AUDIT,
            {
                "at": at,
                "actor": actor,
                "action": action,
                "subject": subject,
                "payload": payload,
                "request_id": request_id,
                "records": null() if records is None else records,  # SQL NULL, not JSON null
                "leaf_hash": entry_leaf_hash(document),
                "namespace": namespace,
            },
        )
        if not event:
            return
        event_payload = {"actor": actor, **payload}
        self.conn.execute(
            _EVENT, {"at": at, "type": action, "subject": subject, "payload": event_payload}
        )

    def add_event(
        self,
        *,
        at: datetime,
        type: str,
        subject: str,
        payload: dict[str, Any],
        dispatched: bool = False,
    ) -> int:
        """An outbox event on its own; ``dispatched``: it is already routed (a test ping)."""
        values = {"at": at, "type": type, "subject": subject, "payload": payload}
        if dispatched:
            values["delivered_at"] = at
        query = insert(events).values(**values).returning(events.c.id)
        return int(self.conn.execute(query).scalar_one())

    # ------------------------------------------------------------------ reading entries
    def entries(
        self,
        *,
        subject_prefix: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        after_index: int | None = None,
        limit: int = 100,
        namespace: str | None = None,
    ) -> list[AuditEntry]:
        """Placed entries in tree order, after ``after_index``, optionally filtered; with
        ``namespace`` (a key), only the entries that belong to it."""
        query = select(audit_log).where(audit_log.c.leaf_index.is_not(None))
        if namespace is not None:
            query = query.where(audit_log.c.namespace == namespace)
        if subject_prefix:
            query = query.where(audit_log.c.subject.startswith(subject_prefix, autoescape=True))
        if actor:
            query = query.where(audit_log.c.actor == actor)
        if action:
            query = query.where(audit_log.c.action == action)
        if after_index is not None:
            query = query.where(audit_log.c.leaf_index > after_index)
        query = query.order_by(audit_log.c.leaf_index).limit(limit)
        return [_entry(r) for r in self.conn.execute(query).mappings()]

    def newest_about(
        self, namespace: str, subject: str, actions: Sequence[str] | None, limit: int
    ) -> list[AuditEntry]:
        """The newest placed entries whose subject is exactly ``subject`` (``actions``: of
        those actions only) in ``namespace`` (a key), newest first."""
        query = select(audit_log).where(
            audit_log.c.leaf_index.is_not(None),
            audit_log.c.namespace == namespace,
            audit_log.c.subject == subject,
        )
        if actions is not None:
            query = query.where(audit_log.c.action.in_(list(actions)))
        query = query.order_by(audit_log.c.leaf_index.desc()).limit(limit)
        return [_entry(r) for r in self.conn.execute(query).mappings()]

    def newest(self, namespaces: Sequence[str] | None, limit: int) -> list[AuditEntry]:
        """The newest placed entries, newest first: of every namespace and none (``None``),
        or of these namespaces (keys) only."""
        query = select(audit_log).where(audit_log.c.leaf_index.is_not(None))
        if namespaces is not None:
            query = query.where(audit_log.c.namespace.in_(list(namespaces)))
        query = query.order_by(audit_log.c.leaf_index.desc()).limit(limit)
        return [_entry(r) for r in self.conn.execute(query).mappings()]

    def entry_at(self, index: int) -> AuditEntry | None:
        query = select(audit_log).where(audit_log.c.leaf_index == index)
        row = self.conn.execute(query).mappings().first()
        return _entry(row) if row else None

    def namespace_at(self, index: int) -> str | None:
        """The key of the namespace the entry at ``index`` belongs to (None: above them)."""
        query = select(audit_log.c.namespace).where(audit_log.c.leaf_index == index)
        found = self.conn.execute(query).scalar()
        return None if found is None else str(found)

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        """The stored leaf hashes of indexes [start, end), in order."""
        query = (
            select(audit_log.c.leaf_index, audit_log.c.leaf_hash)
            .where(audit_log.c.leaf_index >= start, audit_log.c.leaf_index < end)
            .order_by(audit_log.c.leaf_index)
        )
        rows = self.conn.execute(query).all()
        return [bytes.fromhex(h) for _, h in rows]

    # ------------------------------------------------------------------ sequencing
    def lock_sequencer(self) -> None:
        """Make this transaction the only sequencer until it ends (SQLite's write lock already
        does; PostgreSQL takes an advisory lock)."""
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SEQUENCER_LOCK})

    def size(self) -> int:
        found = self.conn.execute(select(func.max(audit_log.c.leaf_index))).scalar()
        return 0 if found is None else int(found) + 1

    def unplaced(self, limit: int) -> list[int]:
        query = (
            select(audit_log.c.id)
            .where(audit_log.c.leaf_index.is_(None))
            .order_by(audit_log.c.id)
            .limit(limit)
        )
        return list(self.conn.execute(query).scalars())

    def place(self, entry_ids: Sequence[int], first_index: int) -> None:
        params = [{"entry_id": e, "index": first_index + i} for i, e in enumerate(entry_ids)]
        if params:
            self.conn.execute(_PLACE, params)

    # ------------------------------------------------------------------ checkpoints
    def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        self.conn.execute(
            insert(audit_checkpoints),
            {
                "size": checkpoint.size,
                "root": checkpoint.root,
                "key_id": checkpoint.key_id,
                "signature": checkpoint.signature,
                "at": checkpoint.at,
            },
        )

    def latest_checkpoint(self) -> Checkpoint | None:
        query = select(audit_checkpoints).order_by(audit_checkpoints.c.size.desc()).limit(1)
        row = self.conn.execute(query).mappings().first()
        return _checkpoint(row) if row else None

    def checkpoints(self, after_size: int, limit: int) -> list[Checkpoint]:
        """Checkpoints of sizes above ``after_size``, smallest first."""
        query = (
            select(audit_checkpoints)
            .where(audit_checkpoints.c.size > after_size)
            .order_by(audit_checkpoints.c.size)
            .limit(limit)
        )
        return [_checkpoint(r) for r in self.conn.execute(query).mappings()]

    def checkpoint(self, size: int) -> Checkpoint | None:
        query = select(audit_checkpoints).where(audit_checkpoints.c.size == size)
        row = self.conn.execute(query).mappings().first()
        return _checkpoint(row) if row else None


def _entry(r: Any) -> AuditEntry:
    return AuditEntry(
        id=r["id"],
        at=r["at"],
        actor=r["actor"],
        action=r["action"],
        subject=r["subject"],
        payload=r["payload"],
        request_id=r["request_id"],
        leaf_hash=r["leaf_hash"],
        leaf_index=r["leaf_index"],
        records=r["records"],
    )


def _checkpoint(r: Any) -> Checkpoint:
    return Checkpoint(
        size=r["size"], root=r["root"], key_id=r["key_id"], signature=r["signature"], at=r["at"]
    )
