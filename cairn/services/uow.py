"""The unit of work: one transaction in which a mutation is authorised, applied, audited and
turned into an event, or none of it happens."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from sqlalchemy import Engine

from cairn.services.auth import Actor, Permission, authorize
from cairn.storage.sql.engine import WRITE
from cairn.storage.sql.store import MetadataStore


def utcnow() -> datetime:
    return datetime.now(UTC)


class UnitOfWork:
    def __init__(self, store: MetadataStore, actor: Actor, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.actor = actor
        self._clock = clock

    @cached_property
    def now(self) -> datetime:
        """The time of this change, read when first asked for. Mutations ask only once they
        hold the row locks they queue on (PostgreSQL takes them inside the transaction), so
        changes serialised by one lock carry times in the order they were applied."""
        return self._clock()

    def record(self, action: str, subject: str, *, event: bool = True, **payload: Any) -> None:
        """Append the audit entry and, unless ``event`` is false, the outgoing event."""
        self.store.journal.append(
            event=event,
            at=self.now,
            actor=self.actor.name,
            action=action,
            subject=subject,
            payload=payload,
            request_id=self.actor.request_id,
        )


class Database:
    """Hands out units of work over one engine."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.clock = clock
        # SQLite has one writer at a time. Threads of this process queue on a lock for it
        # rather than in SQLite's busy handler, which polls with sleeps that leave the
        # database idle between writers. (Other processes still meet the busy handler.)
        self._writers: AbstractContextManager[object] = (
            threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()
        )
        # Reads of an SQLite file are lookups in this process's page cache, and in WAL mode a
        # reader never waits for a writer: they cost less than handing the call to a worker
        # thread, so the API runs them where the request arrives (see ``api.deps.reading``).
        # Reads over a network connection (PostgreSQL) wait on I/O and go to a thread.
        self.inline_reads = engine.dialect.name == "sqlite"

    @contextmanager
    def write(
        self, actor: Actor, permission: Permission, namespace: str | None
    ) -> Iterator[UnitOfWork]:
        authorize(actor, permission, namespace)
        with (
            self._writers,
            self.engine.connect().execution_options(**WRITE) as conn,
            conn.begin(),
        ):
            yield UnitOfWork(MetadataStore(conn), actor, self.clock)

    @contextmanager
    def read(
        self, actor: Actor, namespace: str | None, permission: Permission = Permission.READ
    ) -> Iterator[MetadataStore]:
        authorize(actor, permission, namespace)
        with self.engine.connect() as conn, conn.begin():
            yield MetadataStore(conn)

    @contextmanager
    def read_unchecked(self) -> Iterator[MetadataStore]:
        """A read before there is an actor to check: only for authenticating one."""
        with self.engine.connect() as conn, conn.begin():
            yield MetadataStore(conn)
