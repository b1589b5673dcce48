"""What ``cairn server`` and ``cairn db`` run: imported only by those commands, so that the
client commands start without loading the server's stack."""

from __future__ import annotations

import os
import socket
from typing import Any

import click
import uvicorn
from sqlalchemy.engine import make_url
from uvicorn.supervisors import Multiprocess

from cairn.cli.tls import tls_options
from cairn.config import Settings, load_settings
from cairn.errors import ConfigError
from cairn.services.container import Services
from cairn.storage.sql import migrate
from cairn.storage.sql.engine import open_engine


def settings_from(**overrides: object) -> Settings:
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        raise click.ClickException(exc.message) from exc


def run_server(host: str | None, port: int | None, workers: int | None) -> None:
    settings = settings_from(host=host, port=port, workers=workers)
    try:
        tls = tls_options(settings)
        services = Services.open(settings)  # creates and migrates on first start
    except ConfigError as exc:
        raise click.ClickException(exc.message) from exc
    try:
        created = services.identity.bootstrap(settings.admin_token_file)
    finally:
        services.close()
    # Each worker builds its app from the same settings, passed the documented way.
    for name, value in (
        ("HOST", settings.host),
        ("PORT", settings.port),
        ("WORKERS", settings.workers),
        ("DATA_DIR", settings.data_dir),
    ):
        os.environ[f"CAIRN_{name}"] = str(value)
    click.echo(f"Cairn {settings.effective_public_url}")
    click.echo(f"  metadata: {_redact(settings.effective_database_url)}")
    click.echo(f"  blobs:    {settings.effective_blob_url}")
    if created:
        click.echo(f"  first start: the admin token is in {settings.admin_token_file} (0600);")
        click.echo("  the cairn command on this machine uses it when given no other token")
    serve(settings, tls)


def serve(settings: Settings, tls: dict[str, Any]) -> None:
    config = uvicorn.Config(
        "cairn.api.app:app_from_environment",
        factory=True,
        workers=settings.workers,
        log_level=settings.log_level,
        access_log=False,
        server_header=False,
        **tls,
    )
    sock = listening_socket(settings.host, settings.port)
    if settings.workers > 1:
        Multiprocess(config, sockets=[sock]).run()
    else:
        uvicorn.Server(config).run(sockets=[sock])


def listening_socket(host: str, port: int) -> socket.socket:
    """Bind the listening socket ourselves, with its protocol set to TCP. uvicorn's own socket
    for several workers has protocol 0, and asyncio then leaves Nagle's algorithm on for every
    connection, adding ~40 ms to small responses on keep-alive connections."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _redact(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def db_upgrade() -> str | None:
    engine = open_engine(settings_from().effective_database_url)
    migrate.upgrade(engine)
    return migrate.current(engine)


def db_current() -> str | None:
    return migrate.current(open_engine(settings_from().effective_database_url))


def db_check() -> str | None:
    engine = open_engine(settings_from().effective_database_url)
    try:
        migrate.check(engine)
    except ConfigError as exc:
        raise click.ClickException(exc.message) from exc
    return migrate.current(engine)
