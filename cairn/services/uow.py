"""The unit of work: one transaction in which a mutation is authorised, applied, audited and
turned into an event, or none of it happens."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from cairn.domain.audit import entry_namespace
from cairn.domain.record_state import records_touched
from cairn.errors import DatabaseBusy
from cairn.services.auth import EVERYWHERE, Actor, Permission, authorize, grant_key
from cairn.services.record_state import resulting_states
from cairn.storage.sql.engine import SINGLE_STATEMENTS, WRITE, WRITE_NOW, is_busy
from cairn.storage.sql.store import MetadataStore


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class _Recorded:
    action: str
    subject: str
    payload: dict[str, Any]
    event: bool
    at: datetime


class UnitOfWork:
    def __init__(
        self,
        store: MetadataStore,
        actor: Actor,
        clock: Callable[[], datetime],
        namespace: str | None = None,
    ) -> None:
        self.store = store
        self.actor = actor
        self._clock = clock
        self.namespace = namespace  # the key of the namespace the work is authorised in
        self._recorded: list[_Recorded] = []

    @cached_property
    def now(self) -> datetime:
        """The time of this change, read when first asked for. Mutations ask only once they
        hold the row locks they queue on (PostgreSQL takes them inside the transaction), so
        changes serialised by one lock carry times in the order they were applied."""
        return self._clock()

    def record(self, action: str, subject: str, *, event: bool = True, **payload: Any) -> None:
        """Record the audit entry and, unless ``event`` is false, the outgoing event. Both are
        written when the work is done (``finish``), so that the entry commits to the state of
        the records it is about as the whole transaction leaves them, wherever it is called."""
        self._recorded.append(_Recorded(action, subject, payload, event, self.now))

    def finish(self) -> None:
        """Append the recorded entries (and events), each with the digests of the records it
        is about (``domain.record_state``), read once each in this transaction: last thing
        before the commit."""
        recorded, self._recorded = self._recorded, []
        touched = [records_touched(r.action, r.subject, r.payload) for r in recorded]
        states = resulting_states(self.store, (key for keys in touched for key in keys))
        for entry, keys in zip(recorded, touched, strict=True):
            self.store.journal.append(
                event=entry.event,
                at=entry.at,
                actor=self.actor.name,
                action=entry.action,
                subject=entry.subject,
                payload=entry.payload,
                request_id=self.actor.request_id,
                records={key: states[key] for key in keys} if keys else None,
                namespace=entry_namespace(entry.action, entry.subject, self.namespace),
            )


class WriterBusy(Exception):
    """A write asked not to wait (``Database.without_waiting``) found another writer holding
    the lock; nothing was done, and the caller may run it again where waiting is fine."""


# How long a write that must not wait still waits for another thread of this process: their
# usual transactions end within it, and stepping aside to a thread costs more than waiting.
SHORT_WAIT_SECONDS = 0.005
_WITHOUT_WAITING: ContextVar[bool] = ContextVar("cairn_without_waiting", default=False)


class Database:
    """Hands out units of work over one engine."""

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime] = utcnow,
        *,
        lock_timeout: float = 30.0,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.lock_timeout = lock_timeout
        # SQLite has one writer at a time. Threads of this process queue on a lock for it
        # rather than in SQLite's busy handler, which polls with sleeps that leave the
        # database idle between writers. (Other processes still meet the busy handler.)
        self._writer_lock = threading.Lock() if engine.dialect.name == "sqlite" else None
        # Reads of an SQLite file are lookups in this process's page cache, and in WAL mode a
        # reader never waits for a writer: they cost less than handing the call to a worker
        # thread, so the API runs them where the request arrives (see ``api.running``).
        # Reads over a network connection (PostgreSQL) wait on I/O and go to a thread.
        self.inline_reads = engine.dialect.name == "sqlite"
        self._held = threading.local()  # this thread's connection for ``single_read``

    @contextmanager
    def write(
        self, actor: Actor, permission: Permission, namespace: str | None
    ) -> Iterator[UnitOfWork]:
        """A unit of work in a write transaction. Under ``without_waiting`` it raises
        ``WriterBusy``, before anything is done, where it would otherwise wait for another
        writer: of this process for more than ``SHORT_WAIT_SECONDS``, of another at all."""
        authorize(actor, permission, namespace)
        if not _WITHOUT_WAITING.get():
            with (
                self._writer_turn(),
                self.engine.connect().execution_options(**WRITE) as conn,
                conn.begin(),
            ):
                uow = UnitOfWork(MetadataStore(conn), actor, self.clock, _key(namespace))
                yield uow
                uow.finish()
            return
        with self._writer_now(), self.engine.connect().execution_options(**WRITE_NOW) as conn:
            try:
                transaction = conn.begin()
            except OperationalError as exc:
                if is_busy(exc):
                    raise WriterBusy("another process holds the database's write lock") from exc
                raise
            with transaction:
                uow = UnitOfWork(MetadataStore(conn), actor, self.clock, _key(namespace))
                yield uow
                uow.finish()

    @contextmanager
    def without_waiting(self) -> Iterator[None]:
        """Within this block, ``write`` does not wait for a lock (beyond ``SHORT_WAIT_SECONDS``
        for a thread of this process, and not at all for another process): it raises
        ``WriterBusy``."""
        token = _WITHOUT_WAITING.set(True)
        try:
            yield
        finally:
            _WITHOUT_WAITING.reset(token)

    @contextmanager
    def _writer_turn(self) -> Iterator[None]:
        """This process's turn to write to SQLite, waited for no longer than the database's
        own lock wait (``lock_timeout``): past it, ``DatabaseBusy``, as SQLite would say."""
        lock = self._writer_lock
        if lock is None:  # PostgreSQL: writers queue on row locks, bounded by lock_timeout
            yield
            return
        if not lock.acquire(timeout=self.lock_timeout):
            raise DatabaseBusy(
                f"another write held the database for more than {self.lock_timeout:g} s; "
                "nothing was written, try again",
                waited_seconds=self.lock_timeout,
            )
        try:
            yield
        finally:
            lock.release()

    @contextmanager
    def _writer_now(self) -> Iterator[None]:
        lock = self._writer_lock
        if lock is None:  # PostgreSQL: writers queue on row locks, not here
            yield
            return
        if not lock.acquire(timeout=SHORT_WAIT_SECONDS):
            raise WriterBusy("another thread of this process is writing")
        try:
            yield
        finally:
            lock.release()

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

    @contextmanager
    def single_read(self) -> Iterator[MetadataStore]:
        """A store for one read statement before there is an actor to check: the token check
        that precedes every request. One statement is its own snapshot and sees every commit
        made before it ran, on every process. On SQLite (reads in place, see
        ``inline_reads``) it runs on a connection the thread keeps, without BEGIN and COMMIT,
        which cost more than the indexed lookup itself. The statement's rows must be read to
        the end inside the block: an unfinished result would keep its snapshot open."""
        if not self.inline_reads:
            with self.read_unchecked() as store:
                yield store
            return
        conn = getattr(self._held, "conn", None)
        if conn is None or conn.closed or conn.invalidated:
            conn = self.engine.connect().execution_options(**SINGLE_STATEMENTS)
            self._held.conn = conn
        try:
            yield MetadataStore(conn)
        except BaseException:
            self._held.conn = None
            conn.close()
            raise
        conn.commit()  # SQLAlchemy's bookkeeping: SQLite has no transaction open

    def close(self) -> None:
        """Close the calling thread's kept connection and every idle one of the pool."""
        conn = getattr(self._held, "conn", None)
        if conn is not None:
            self._held.conn = None
            conn.close()
        self.engine.dispose()


def _key(namespace: str | None) -> str | None:
    """The key a unit of work's namespace is held under (None for none or every one)."""
    return None if namespace in (None, EVERYWHERE) else grant_key(namespace)
