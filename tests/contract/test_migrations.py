"""Schema changes go only through Alembic: an empty database upgraded to head matches the
tables exactly, on SQLite and on PostgreSQL, and SQLite is opened for durability."""

import pytest
from sqlalchemy import inspect, text

from cairn.errors import ConfigError
from cairn.storage.sql import migrate
from cairn.storage.sql.engine import open_engine
from cairn.storage.sql.tables import metadata


def test_an_empty_database_upgrades_to_head_with_no_drift(database_url: str) -> None:
    engine = open_engine(database_url)
    try:
        assert migrate.current(engine) is None
        migrate.upgrade(engine)
        assert migrate.current(engine) == migrate.head()
        migrate.check(engine)  # raises on any difference between migrations and tables
        assert set(inspect(engine).get_table_names()) >= {t.name for t in metadata.sorted_tables}
        migrate.upgrade(engine)  # a second upgrade is a no-op
        assert migrate.current(engine) == migrate.head()
    finally:
        engine.dispose()


def test_check_refuses_a_database_that_is_not_at_head(database_url: str) -> None:
    engine = open_engine(database_url)
    try:
        with pytest.raises(ConfigError, match="not at head"):
            migrate.check(engine)
    finally:
        engine.dispose()


def test_check_notices_a_schema_changed_behind_alembics_back(database_url: str) -> None:
    engine = open_engine(database_url)
    try:
        migrate.upgrade(engine)
        with engine.begin() as conn:
            conn.execute(text("CREATE INDEX ix_sneaky ON versions (description)"))
        with pytest.raises(ConfigError, match="differs"):
            migrate.check(engine)
    finally:
        engine.dispose()


def test_sqlite_is_opened_in_wal_mode_with_full_sync_and_foreign_keys(tmp_path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'c.db'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///:memory:", "mysql://root@localhost/x", "not a url"]
)
def test_unsupported_database_urls_are_refused_naming_the_setting(url: str) -> None:
    with pytest.raises(ConfigError, match="CAIRN_DATABASE_URL"):
        open_engine(url)
