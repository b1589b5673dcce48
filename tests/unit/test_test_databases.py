"""The test suite's own PostgreSQL databases (tests/databases.py): a run that was killed leaves
its databases behind and the next run to start drops them; a live run's are never touched, and
a run that ends drops its own. A database a test gives back is what the template is for the
next test, unless the test changed its schema."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

from cairn.storage.sql import migrate
from cairn.storage.sql.tables import namespaces
from tests.databases import PG_ADMIN_URL, PgRun

REPO = Path(__file__).parents[2]
# Another test run: it starts, makes a database, says its name and waits for its stdin.
ANOTHER_RUN = """
import sys
from sqlalchemy.engine import make_url
from tests.databases import PG_ADMIN_URL, PgRun
run = PgRun(PG_ADMIN_URL)
print(make_url(run.create(migrated=False)).database, flush=True)
sys.stdin.read()
run.close()
"""


def _another_run() -> tuple[subprocess.Popen[bytes], str]:
    process = subprocess.Popen(
        [sys.executable, "-c", ANOTHER_RUN],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    return process, process.stdout.readline().decode().strip()


def _databases() -> set[str]:
    admin = create_engine(PG_ADMIN_URL)
    try:
        with admin.connect() as conn:
            return set(conn.execute(text("SELECT datname FROM pg_database")).scalars())
    finally:
        admin.dispose()


def test_a_killed_runs_databases_are_dropped_by_the_next_run_and_a_live_runs_are_kept() -> None:
    live, live_database = _another_run()
    killed, killed_database = _another_run()
    assert {live_database, killed_database} <= _databases()
    killed.kill()  # no clean-up: its databases stay behind, its lock goes with its connection
    killed.communicate(timeout=60)
    assert killed_database in _databases()

    run = PgRun(PG_ADMIN_URL)
    try:
        swept = run.swept
        deadline = time.monotonic() + 30  # until the server has seen the connection close
        while killed_database not in swept and time.monotonic() < deadline:
            time.sleep(0.2)
            swept = run.sweep()
        assert killed_database in swept
        assert live_database not in swept
        left = _databases()
        assert killed_database not in left
        assert live_database in left

        mine = make_url(run.create(migrated=False)).database
        assert mine is not None and mine.startswith(f"cairn_test_r{run.run}_")
    finally:
        run.close()
    assert mine not in _databases()

    assert live.communicate(b"", timeout=60)[1] is None and live.returncode == 0
    assert live_database not in _databases()  # the run that ended dropped its own


def _add_namespace(url: str, name: str) -> int:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            row = {"name": name, "key": name, "created_at": datetime.now(UTC)}
            return int(conn.execute(insert(namespaces).values(row)).inserted_primary_key[0])
    finally:
        engine.dispose()


def test_a_database_given_back_is_emptied_for_the_next_test_unless_its_schema_changed() -> None:
    run = PgRun(PG_ADMIN_URL)
    try:
        url = run.take()
        assert _add_namespace(url, "first") == 1
        assert _add_namespace(url, "second") == 2
        # A connection the test left open, as a server it forgot would hold it: closed for it.
        left_open = psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string())
        left_open.execute("BEGIN")
        left_open.execute("SELECT 1")
        run.give_back(url)
        with pytest.raises(psycopg.OperationalError, match="terminating connection"):
            left_open.execute("SELECT 1")
        left_open.close()

        assert run.take() == url  # the same database, with no rows and its sequences restarted
        engine = create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(select(namespaces)).all() == []
            assert migrate.current(engine) == migrate.head()
        engine.dispose()
        assert _add_namespace(url, "again") == 1

        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("CREATE INDEX ix_sneaky ON versions (description)"))
        engine.dispose()
        run.give_back(url)
        other = run.take()
        assert other != url  # a changed schema is not handed on: a new copy of the template
        engine = create_engine(other)
        with engine.connect() as conn:
            assert conn.execute(select(namespaces)).all() == []
        engine.dispose()
        deadline = time.monotonic() + 60
        while make_url(url).database in _databases() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert make_url(url).database not in _databases()  # dropped behind the tests
    finally:
        run.close()
