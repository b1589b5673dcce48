"""Engines for the two supported databases, configured for durability.

SQLite runs in WAL mode with ``synchronous=FULL`` (a commit is on disk before it returns) and
foreign keys on. Its write transactions start with ``BEGIN IMMEDIATE`` so that two writers
queue for the lock up front instead of failing when a reader tries to upgrade.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from cairn.errors import ConfigError

WRITE = {"cairn_write": True}
# A write that does not wait for SQLite's lock: BEGIN IMMEDIATE fails at once when another
# connection holds it (see ``Database.write`` under ``Database.without_waiting``).
WRITE_NOW = {"cairn_write": True, "cairn_no_wait": True}
# A connection that runs one statement at a time, each its own transaction: no BEGIN is sent
# (SQLite only; see ``Database.single_read``).
SINGLE_STATEMENTS = {"cairn_single_statements": True}
# JSON columns are decoded on every row a listing returns: orjson does it several times faster.
_JSON: dict[str, Any] = {
    "json_serializer": lambda value: orjson.dumps(value).decode(),
    "json_deserializer": orjson.loads,
}
# PostgreSQL's codes for a lock wait past lock_timeout and a statement past statement_timeout.
_LOCK_NOT_AVAILABLE = "55P03"
_QUERY_CANCELED = "57014"


def open_engine(
    url: str,
    *,
    pool_size: int = 8,
    lock_timeout: float = 30.0,
    statement_timeout: float = 0.0,
) -> Engine:
    """An engine for ``url`` (sqlite:/// or postgresql+psycopg://); raise ``ConfigError`` if not.

    No statement waits for a lock longer than ``lock_timeout`` seconds (SQLite: for the
    database's write lock; PostgreSQL: for any row or table lock), and on PostgreSQL none runs
    longer than ``statement_timeout`` (0: no limit). Either ends in an error ``is_lock_wait_over``
    recognises, and the transaction is rolled back."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"CAIRN_DATABASE_URL: not a database URL: {exc}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise ConfigError("CAIRN_DATABASE_URL: SQLite needs a file path, not memory")
        engine = create_engine(
            parsed,
            connect_args={"timeout": lock_timeout, "check_same_thread": False},
            # Enough connections for every worker thread and the event loop's own reads
            # (``Database.inline_reads``): the loop must never wait for one.
            pool_size=pool_size,
            max_overflow=64,
            **_JSON,
        )
        _configure_sqlite(engine, round(lock_timeout * 1000))
        return engine
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = create_engine(
            parsed, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, **_JSON
        )
        _configure_postgresql(engine, round(lock_timeout * 1000), round(statement_timeout * 1000))
        return engine
    raise ConfigError(f"CAIRN_DATABASE_URL: unsupported database {backend!r} (sqlite, postgresql)")


def _configure_postgresql(engine: Engine, lock_timeout_ms: int, statement_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Session settings, committed so that they hold for every later transaction.
        with dbapi_conn.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = {lock_timeout_ms}")
            cursor.execute(f"SET statement_timeout = {statement_timeout_ms}")
        dbapi_conn.commit()


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        if options.get("cairn_single_statements", False):
            return  # each statement is its own transaction; the commit after it is a no-op
        if not options.get("cairn_write", False):
            conn.exec_driver_sql("BEGIN")
        elif not options.get("cairn_no_wait", False):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:  # fail at once if another connection holds the lock (``is_busy`` says so)
            conn.exec_driver_sql("PRAGMA busy_timeout=0")
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            finally:
                conn.exec_driver_sql(f"PRAGMA busy_timeout={busy_timeout_ms}")


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite saying another connection holds the lock."""
    orig = getattr(exc, "orig", None)
    return isinstance(orig, sqlite3.OperationalError) and orig.sqlite_errorcode in (
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
    )


def is_lock_wait_over(exc: BaseException) -> bool:
    """Whether ``exc`` is a statement that gave up waiting for a lock, or ran past its time:
    SQLite's busy timeout, PostgreSQL's ``lock_timeout`` or ``statement_timeout``."""
    if is_busy(exc):
        return True
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return code in (_LOCK_NOT_AVAILABLE, _QUERY_CANCELED)
