"""The test suite's databases: every migration runs once per test process into a template, and
each test gets a copy of it.

Running all of Cairn's Alembic migrations costs about a second on PostgreSQL and half a second on
SQLite (several times that on a busy machine). SQLite: each test gets a copy of a migrated file.
PostgreSQL: each test gets a database cloned from a migrated template (``CREATE DATABASE …
TEMPLATE``), and gives it back emptied for the next test rather than dropped, because PostgreSQL
forces a checkpoint for every database it drops: seconds each on a busy server, for everyone on
it. A test that changed the schema (its fingerprint differs from the template's) gets its
database dropped instead. Each test process (each xdist worker) builds its templates afresh, so
they always hold the migrations of the tree under test. The migration tests take an empty
database and upgrade it step by step.

PostgreSQL databases are named ``cairn_test_r<run>_<n>``. ``<run>`` is an advisory lock the test
process holds on the admin database for as long as it lives: a run that was killed loses its lock
with its connection, and the next run to start drops the databases of every run whose lock is
free. A live run's lock is held, so its databases are never dropped, whichever machine it runs on.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import secrets
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import Connection, Table, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from cairn.storage.sql import migrate
from cairn.storage.sql.engine import open_engine
from cairn.storage.sql.tables import metadata

PG_ADMIN_URL = os.environ.get("CAIRN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

PREFIX = "cairn_test_r"
_NAME = re.compile(PREFIX + r"([0-9a-f]{8})_[a-z0-9]+")
# The advisory-lock class of test runs ('CAIR'): pg_advisory_lock(_RUNS, run) is held by a run.
_RUNS = 0x43414952
_LOCK_ARGUMENTS = "CAST(:c AS integer), CAST(:r AS integer)"


def migrate_to_head(url: str) -> None:
    engine = open_engine(url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()


def build_sqlite_template(folder: Path) -> Path:
    """A SQLite file migrated to head, to be copied with ``copy_sqlite``."""
    path = folder / "cairn.db"
    migrate_to_head(f"sqlite:///{path}")
    # Closing the last connection folded the write-ahead log into the file: it stands alone.
    assert not path.with_name(path.name + "-wal").exists()
    return path


def copy_sqlite(template: Path, folder: Path) -> str:
    """A copy of ``template`` in ``folder``; its URL."""
    path = folder / "cairn.db"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


class PgRun:
    """This test process's databases on the PostgreSQL server at ``admin_url``."""

    def __init__(self, admin_url: str) -> None:
        self._url = make_url(admin_url)
        self._admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self._lock = self._admin.connect()  # holds the run's lock until close()
        self.run = self._claim()
        self._numbers = itertools.count()
        self._template: str | None = None
        self._fingerprint = ""  # the template's schema
        self._clean: list[str] = []  # databases given back, emptied
        self._dropper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="drop-databases")
        self.swept = self.sweep()

    def _claim(self) -> str:
        while True:
            run = secrets.randbits(31)
            if _try_lock(self._lock, run):
                return f"{run:08x}"

    def sweep(self) -> list[str]:
        """Drop the databases of the runs that are gone; the names dropped."""
        dropped: list[str] = []
        with self._admin.connect() as conn:
            for run, names in self._databases_by_run(conn).items():
                if run == self.run:
                    continue
                if not _try_lock(conn, int(run, 16)):
                    continue  # that run is alive
                try:
                    dropped += [name for name in names if _drop(conn, name)]
                finally:
                    _unlock(conn, int(run, 16))
        return dropped

    def _databases_by_run(self, conn: Connection) -> dict[str, list[str]]:
        found = conn.execute(
            text("SELECT datname FROM pg_database WHERE starts_with(datname, :p)"), {"p": PREFIX}
        ).scalars()
        runs: dict[str, list[str]] = {}
        for name in found:
            if match := _NAME.fullmatch(name):
                runs.setdefault(match[1], []).append(name)
        return runs

    def create(self, *, migrated: bool = True) -> str:
        """A new database of this run's, at head (a copy of the template) or empty; its URL."""
        template = f' TEMPLATE "{self._migrated_template()}"' if migrated else ""
        name = f"{PREFIX}{self.run}_{next(self._numbers)}"
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{template}'))
        return self._url.set(database=name).render_as_string(hide_password=False)

    def _migrated_template(self) -> str:
        if self._template is None:
            url = self.create(migrated=False)
            migrate_to_head(url)  # and no connection to it stays open: a template must have none
            engine = create_engine(url, poolclass=NullPool)
            try:
                with engine.connect() as conn:
                    seeded = [t.name for t in metadata.sorted_tables if _has_rows(conn, t)]
                    # give_back() empties every table: it could not put seeded rows back.
                    assert not seeded, f"a migration writes rows to {seeded}: see give_back()"
                    self._fingerprint = str(conn.execute(text(_SCHEMA_FINGERPRINT)).scalar())
            finally:
                engine.dispose()
            self._template = make_url(url).database
        assert self._template is not None
        return self._template

    def take(self) -> str:
        """A database of this run's at head with no rows (one given back, or a new copy of the
        template); its URL. Give it back with ``give_back`` after the test."""
        return self._clean.pop() if self._clean else self.create()

    def give_back(self, url: str) -> None:
        """Empty the database for the next test, as the template is: no rows, sequences at
        their start; or drop it if its schema is no longer the template's."""
        name = make_url(url).database
        with self._admin.connect() as conn:  # a server the test left behind lets go of it
            conn.execute(text(_DISCONNECT), {"n": name})
        engine = create_engine(url, poolclass=NullPool)
        try:
            with engine.begin() as conn:
                same = conn.execute(text(_SCHEMA_FINGERPRINT)).scalar() == self._fingerprint
                if same:
                    for table in reversed(metadata.sorted_tables):
                        conn.execute(table.delete())
                    conn.execute(text(_RESTART_SEQUENCES))
        except DBAPIError:
            same = False
        finally:
            engine.dispose()
        if same:
            self._clean.append(url)
        else:
            self.drop(url)

    def drop(self, url: str) -> None:
        """Drop a database of this run's, soon (the next test need not wait for the checkpoint)."""
        name = make_url(url).database
        assert name is not None and name.startswith(f"{PREFIX}{self.run}_")
        self._dropper.submit(self._drop, name)

    def _drop(self, name: str) -> None:
        with self._admin.connect() as conn:
            _drop(conn, name)

    def close(self) -> None:
        """Drop every database of this run's, then let go of its lock."""
        self._dropper.shutdown()
        with self._admin.connect() as conn:
            names = self._databases_by_run(conn).get(self.run, [])
        # Dropped together, they wait for one or two checkpoints rather than one each.
        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="drop-databases") as dropping:
            list(dropping.map(self._drop, names))
        self._lock.close()
        self._admin.dispose()


@functools.cache
def pg_run() -> PgRun:
    """This process's run, started on first use (tests on SQLite alone never touch PostgreSQL);
    ``end_pg_run`` closes it at the end of the session."""
    return PgRun(PG_ADMIN_URL)


def end_pg_run() -> None:
    if pg_run.cache_info().currsize:
        pg_run().close()
        pg_run.cache_clear()


def _has_rows(conn: Connection, table: Table) -> bool:
    return conn.execute(select(table).limit(1)).first() is not None


# Relations with their columns, constraints and indexes outside PostgreSQL's own schemas, and
# the revision Alembic recorded: what a test could change besides rows.
_SCHEMA_FINGERPRINT = """
SELECT md5(string_agg(d, E'\n' ORDER BY d)) FROM (
    SELECT format('%s.%s %s %s %s %s', n.nspname, c.relname, c.relkind, a.attname,
                  format_type(a.atttypid, a.atttypmod), a.attnotnull) AS d
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
    UNION ALL
    SELECT format('%s %s', conname, pg_get_constraintdef(oid)) FROM pg_constraint
    WHERE connamespace = 'public'::regnamespace
    UNION ALL
    SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'
    UNION ALL
    SELECT version_num FROM alembic_version
) AS schema
"""
_RESTART_SEQUENCES = """
SELECT setval(c.oid, s.seqstart, false) FROM pg_class c JOIN pg_sequence s ON s.seqrelid = c.oid
WHERE c.relnamespace = 'public'::regnamespace
"""
_DISCONNECT = """
SELECT pg_terminate_backend(pid) FROM pg_stat_activity
WHERE datname = :n AND pid <> pg_backend_pid()
"""


def _key(run: int) -> dict[str, int]:
    return {"c": _RUNS, "r": run}


def _try_lock(conn: Connection, run: int) -> bool:
    locked = conn.execute(text(f"SELECT pg_try_advisory_lock({_LOCK_ARGUMENTS})"), _key(run))
    return bool(locked.scalar())


def _unlock(conn: Connection, run: int) -> None:
    conn.execute(text(f"SELECT pg_advisory_unlock({_LOCK_ARGUMENTS})"), _key(run))


def _drop(conn: Connection, name: str) -> bool:
    """Drop ``name``, closing the connections a killed run's servers may have left; False if
    this user may not (another user's run)."""
    try:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    except DBAPIError:
        return False
    return True
