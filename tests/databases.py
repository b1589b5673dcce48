"""The test suite's databases: every migration runs once per test process into a template, and
each test gets a copy of it.

Running all of Cairn's Alembic migrations costs about a second on PostgreSQL and half a second on
SQLite (several times that on a busy machine); a copy costs a fraction of it. SQLite: a migrated
file, copied. PostgreSQL: a migrated database, ``CREATE DATABASE … TEMPLATE``. Each test process
(each xdist worker) builds its templates afresh, so they always hold the migrations of the tree
under test. The migration tests take an empty database instead and upgrade it step by step.

Each PostgreSQL test database is dropped behind the tests, by a thread: PostgreSQL forces a
checkpoint for every database it drops, which takes seconds on a busy server.

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

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from cairn.storage.sql import migrate
from cairn.storage.sql.engine import open_engine

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
            self._template = make_url(url).database
        assert self._template is not None
        return self._template

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
            for name in self._databases_by_run(conn).get(self.run, []):
                _drop(conn, name)
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
