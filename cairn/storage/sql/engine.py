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
_BUSY_TIMEOUT_MS = 30_000


def open_engine(url: str, *, pool_size: int = 8) -> Engine:
    """An engine for ``url`` (sqlite:/// or postgresql+psycopg://); raise ``ConfigError`` if not."""
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
            connect_args={"timeout": _BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            # Enough connections for every worker thread and the event loop's own reads
            # (``Database.inline_reads``): the loop must never wait for one.
            pool_size=pool_size,
            max_overflow=64,
            **_JSON,
        )
        _configure_sqlite(engine)
        return engine
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(
            parsed, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, **_JSON
        )
    raise ConfigError(f"CAIRN_DATABASE_URL: unsupported database {backend!r} (sqlite, postgresql)")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
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
                conn.exec_driver_sql(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite saying another connection holds the lock."""
    orig = getattr(exc, "orig", None)
    return isinstance(orig, sqlite3.OperationalError) and orig.sqlite_errorcode in (
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
    )
