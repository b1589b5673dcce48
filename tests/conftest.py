"""Fixtures shared by every test: databases (SQLite and a real PostgreSQL), registries, apps
and a real server process.

Databases are copies of a template migrated once per test process, and each test has its own
(tests/databases.py). PostgreSQL: on ``CAIRN_TEST_PG`` (default: the local server, trust auth).
"""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from cairn.config import Settings, load_settings
from cairn.services.container import Services
from tests.databases import build_sqlite_template, copy_sqlite, end_pg_run, pg_run

if TYPE_CHECKING:
    from tests.contract.s3_server import S3Server


@pytest.fixture(scope="session", autouse=True)
def _pg_run() -> Iterator[None]:
    """The run's PostgreSQL databases (tests/databases.py) are dropped at its end."""
    yield
    end_pg_run()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A real S3 endpoint over HTTP (moto's server): one per test process, each test on a
    prefix of its own."""
    from tests.contract.s3_server import start_s3_server  # it imports from this module

    server = start_s3_server(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sqlite_template(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL database of this test's own, at head with no rows; emptied after it."""
    url = pg_run().take()
    yield url
    pg_run().give_back(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each metadata test runs on SQLite and on PostgreSQL, in a database migrated to head."""
    if request.param == "sqlite":
        return copy_sqlite(request.getfixturevalue("sqlite_template"), tmp_path)
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (no tables) on SQLite and on PostgreSQL, for the migration tests."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cairn.db'}"
        return
    url = pg_run().create(migrated=False)
    yield url
    pg_run().drop(url)


@pytest.fixture(autouse=True)
def _this_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test is its own machine: the data folder the CLI and SDK look in for a local
    server's admin token is the test's (where its servers and registries keep their data),
    and no token, URL or profile leaks in from the environment of whoever runs the tests;
    the user's config folder (the CLI's profiles) is the test's too, never the real home's."""
    monkeypatch.setenv("CAIRN_DATA_DIR", str(tmp_path / DATA_DIR))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("CAIRN_TOKEN", "CAIRN_URL", "CAIRN_PROFILE"):
        monkeypatch.delenv(name, raising=False)


DATA_DIR = "server-data"


def make_settings(tmp_path: Path, database_url: str | None = None, **extra: object) -> Settings:
    extra.setdefault("allowed_hosts", "testserver,cairn.test")  # the in-process test clients
    return load_settings(
        data_dir=tmp_path / DATA_DIR,
        database_url=database_url,
        blob_url=(tmp_path / "blobs").as_uri(),
        **extra,
    )


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    svc = Services.open(settings)
    svc.identity.bootstrap(settings.admin_token_file)
    yield svc
    svc.close()


@pytest.fixture
def admin_token(services: Services) -> str:
    """The token the registry's first start gave its admin."""
    return services.settings.admin_token_file.read_text().strip()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    """A real Cairn server on a loopback port: ``cairn server`` in a process of its own
    (``process``), or the same server (settings from the same ``CAIRN_*`` variables, the same
    first start, app, uvicorn options and socket) on a thread of the test process, which
    starts in a tenth of the time. Only a process can be killed."""

    url: str
    env: dict[str, str]
    data_dir: Path
    process: subprocess.Popen[bytes] | None = None
    ca_bundle: Path | None = None  # an https:// server's certificate authority
    in_process: bool = False
    _server: Any = None  # uvicorn.Server, when in_process
    _thread: threading.Thread | None = None

    def start(self) -> None:
        port = self.url.rsplit(":", 1)[1]
        if self.in_process:
            self._start_thread(int(port))
        else:
            with (self.data_dir.parent / "server.log").open("ab") as log:
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "cairn", "server", "--port", port],
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
        verify = ssl.create_default_context(cafile=self.ca_bundle) if self.ca_bundle else True
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/readyz", timeout=1, verify=verify).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            if self._thread is not None and not self._thread.is_alive():
                raise RuntimeError("the server's thread ended")
            time.sleep(0.05)
        raise RuntimeError("server did not become ready in 30 s")

    def _start_thread(self, port: int) -> None:
        """What ``cairn server`` does (``cli.serving.run_server``), on a thread."""
        import uvicorn

        from cairn.api.app import serving_app
        from cairn.cli.serving import listening_socket
        from cairn.cli.tls import tls_options

        given = {
            k[len("CAIRN_") :].lower(): v for k, v in self.env.items() if k.startswith("CAIRN_")
        }
        settings = load_settings(**{**given, "port": port})
        tls = tls_options(settings)
        first = Services.open(settings)
        try:
            first.identity.bootstrap(settings.admin_token_file)
        finally:
            first.close()
        config = uvicorn.Config(
            serving_app(settings),
            log_level=settings.log_level,
            log_config=None,
            access_log=False,
            server_header=False,
            **tls,
        )
        self._server = uvicorn.Server(config)
        sock = listening_socket(settings.host, port)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()

    @property
    def token(self) -> str:
        """The admin token the server wrote to its data folder on first start."""
        return (self.data_dir / "admin-token").read_text().strip()

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing; what a crash looks like."""
        if self.in_process:
            raise RuntimeError("a server on a thread cannot crash: start it with process=True")
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def stop(self) -> None:
        if self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=30)
            self._thread = self._server = None
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


def start_live_server(
    tmp_path: Path,
    database_url: str | None = None,
    ca_bundle: Path | None = None,
    *,
    process: bool = False,
    **env: str,
) -> LiveServer:
    """``ca_bundle``: the server speaks HTTPS (``env`` names its certificate and key), with a
    certificate this authority signed. ``process``: ``cairn server`` in a process of its own
    (a test that kills it, or reads what it prints)."""
    data_dir = tmp_path / DATA_DIR
    data_dir.mkdir(parents=True, exist_ok=True)
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    full_env.update({"CAIRN_DATA_DIR": str(data_dir), "CAIRN_LOG_LEVEL": "warning", **env})
    if database_url:
        full_env["CAIRN_DATABASE_URL"] = database_url
    scheme = "https" if ca_bundle else "http"
    server = LiveServer(f"{scheme}://127.0.0.1:{free_port()}", full_env, data_dir)
    server.ca_bundle = ca_bundle
    server.in_process = not process
    server.start()
    return server


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A real server on the embedded default (SQLite + local folder)."""
    server = start_live_server(tmp_path)
    yield server
    server.stop()
