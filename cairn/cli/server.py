"""``cairn server`` and ``cairn db``: the commands that run next to the data, not over HTTP.

Their machinery lives in ``cairn.cli.serving`` and is imported when one of them runs, so the
client commands start without loading uvicorn, SQLAlchemy and Alembic.
"""

from __future__ import annotations

import click


@click.command()
@click.option("--host", default=None, help="Address to listen on (CAIRN_HOST, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (CAIRN_PORT, 8080).")
@click.option("--workers", type=int, default=None, help="Server processes (CAIRN_WORKERS, 1).")
def server(host: str | None, port: int | None, workers: int | None) -> None:
    """Run the registry server (embedded default: SQLite + a local folder)."""
    from cairn.cli import serving

    serving.run_server(host, port, workers)


@click.group()
def db() -> None:
    """Manage the metadata database's schema."""


@db.command()
def upgrade() -> None:
    """Migrate the database to the newest schema."""
    from cairn.cli import serving

    click.echo(f"at {serving.db_upgrade()}")


@db.command()
def current() -> None:
    """Print the schema revision the database is at."""
    from cairn.cli import serving

    click.echo(serving.db_current() or "empty")


@db.command()
def check() -> None:
    """Fail unless the database is at the newest revision and matches Cairn's tables."""
    from cairn.cli import serving

    click.echo(f"ok: at {serving.db_check()}, no drift")
