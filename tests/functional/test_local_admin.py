"""Which token the CLI and the SDK send when given none, played against live servers: an empty
token is a usage error (never the local admin), and the admin token a server wrote to its data
folder goes only to that server — not to another program on a loopback port, not to a second
Cairn with its own data folder, not through a relay that forwards the identity check."""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from cairn import errors
from cairn.api.app import create_app
from cairn.client import Client
from cairn.services.container import Services
from tests.conftest import LiveServer, start_live_server
from tests.functional import run_cli

API = "/api/v1"
UNAUTHENTICATED = {"error": {"code": "unauthenticated", "message": "sign in", "details": {}}}


class Recorder(http.server.ThreadingHTTPServer):
    """A program on a loopback port that is not Cairn: it answers every request with a 401
    in Cairn's error shape and keeps the Authorization header of each one it got."""

    def __init__(self) -> None:
        self.seen: list[str | None] = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                recorder.seen.append(self.headers.get("Authorization"))
                body = json.dumps(UNAUTHENTICATED).encode()
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_PUT = do_DELETE = do_GET  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class Relay:
    """A forwarder on another loopback port that passes every byte to a real server and back,
    keeping what clients sent: the relay attack on the identity check."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.removeprefix("http://").rsplit(":", 1)
        self.upstream = (host, int(port))
        self.sent = bytearray()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            threading.Thread(target=self._pipe, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, False), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, record: bool) -> None:
        try:
            while data := src.recv(65536):
                if record:
                    self.sent += data
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _said(result: subprocess.CompletedProcess[str]) -> str:
    """What the CLI wrote to stderr, its lines (wrapped to the terminal) joined again."""
    return " ".join(result.stderr.split())


def _namespaces(server: LiveServer) -> set[str]:
    listed = httpx.get(f"{server.url}{API}/namespaces", headers=server.headers, timeout=10)
    return {n["name"] for n in listed.json()["items"]}


def test_an_empty_token_is_a_usage_error_not_the_local_admin(live_server: LiveServer) -> None:
    url = live_server.url
    # Given no token at all, the CLI on the server's machine acts as its admin...
    assert run_cli(url, "whoami").stdout.splitlines()[0] == "admin"
    # ...but an empty one (CAIRN_TOKEN= or --token "") is refused before anything is sent.
    for args, token in [
        (("namespace", "create", "by-empty-env"), ""),
        (("namespace", "create", "by-blank-env"), "  "),
        (("--token", "", "namespace", "create", "by-empty-flag"), None),
    ]:
        result = run_cli(url, *args, token=token)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "empty_token" in result.stderr and "the token is empty" in _said(result)
    assert _namespaces(live_server) == {"default"}
    with pytest.raises(errors.EmptyToken):
        Client(url, token="")


def test_the_sdk_refuses_an_empty_cairn_token(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIRN_TOKEN", "")
    with pytest.raises(errors.EmptyToken):
        Client(live_server.url)
    monkeypatch.delenv("CAIRN_TOKEN")
    with Client(live_server.url) as cairn:
        assert cairn.whoami().name == "admin"


def test_an_empty_credential_is_a_401_on_every_surface(live_server: LiveServer) -> None:
    url = live_server.url
    empty_basic = "Basic " + base64.b64encode(b"user:").decode()
    for path in [f"{API}/whoami", "/api/2.0/mlflow/registered-models/search", "/v2/"]:
        # "Bearer " arrives as "Bearer": HTTP strips a header value's trailing space.
        for header in ["Bearer", "", empty_basic]:
            response = httpx.get(url + path, headers={"Authorization": header}, timeout=10)
            assert response.status_code == 401, (path, header, response.text)
    for header in [empty_basic, "Bearer"]:
        token = httpx.get(f"{url}/v2/token", headers={"Authorization": header}, timeout=10)
        assert token.status_code == 401, (header, token.text)


def test_the_admin_token_is_not_sent_to_another_program_on_a_loopback_port(
    live_server: LiveServer, recorder: Recorder
) -> None:
    result = run_cli(recorder.url, "whoami")
    assert result.returncode == 5, result.stderr
    assert "no token was sent" in _said(result) and "--token" in _said(result)
    with Client(recorder.url) as cairn, pytest.raises(errors.Unauthenticated):
        cairn.whoami()
    # Both asked which server it is, got no proof, and sent their request with no token.
    assert len(recorder.seen) == 4 and set(recorder.seen) == {None}, recorder.seen


def test_the_admin_token_is_not_sent_to_a_second_cairn(
    live_server: LiveServer, tmp_path: Path
) -> None:
    second = start_live_server(tmp_path / "second")
    try:
        # The CLI reads the first server's data folder: its admin token is the first's.
        refused = run_cli(second.url, "whoami")
        assert refused.returncode == 5, refused.stderr
        assert "is not the one whose data folder" in _said(refused), refused.stderr
        # The first server, named by the same kind of URL, is still served with it.
        assert run_cli(live_server.url, "whoami").stdout.splitlines()[0] == "admin"
        # And the second's own machine user (its data folder) gets the second's token.
        own = run_cli(second.url, "--json", "whoami", data_dir=second.data_dir)
        assert json.loads(own.stdout)["name"] == "admin", own.stderr
    finally:
        second.stop()


def test_a_relay_that_forwards_the_identity_check_gets_no_token(live_server: LiveServer) -> None:
    relay = Relay(live_server.url)
    try:
        # Every byte reaches the real server, which answers the check; but its proof names
        # the address it was reached on, not the relay's, so the CLI sends no token.
        result = run_cli(relay.url, "namespace", "create", "relayed")
        assert result.returncode == 5, result.stderr
        assert "no token was sent" in _said(result)
        assert b"/api/v1/server?challenge=" in relay.sent
        assert live_server.token.encode() not in relay.sent
        assert b"authorization" not in relay.sent.lower()
    finally:
        relay.close()
    assert _namespaces(live_server) == {"default"}


def test_the_server_says_which_it_is_and_proves_it_only_to_a_challenge(
    services: Services,
) -> None:
    with TestClient(create_app(services), raise_server_exceptions=False) as client:
        plain = client.get(f"{API}/server")
        assert plain.status_code == 200 and plain.json() == {
            "id": services.server.id,
            "proof": None,
        }
        assert plain.json()["id"].startswith("srv_")
        one = client.get(f"{API}/server", params={"challenge": "a" * 32}).json()["proof"]
        two = client.get(f"{API}/server", params={"challenge": "b" * 32}).json()["proof"]
        assert isinstance(one, str) and one != two
        for bad in ["", "xyz", "A" * 32, "a" * 31, "a" * 129]:
            refused = client.get(f"{API}/server", params={"challenge": bad})
            assert refused.status_code == 400, bad
            assert refused.json()["error"]["code"] == "invalid_input"


def test_the_mlflow_client_with_an_empty_tracking_token_is_not_the_admin(
    live_server: LiveServer,
) -> None:
    """MLflow sends no Authorization header for an empty MLFLOW_TRACKING_TOKEN: Cairn takes
    the caller as anonymous (refused here), never as the local admin."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "CAIRN_"))}
    env |= {
        "MLFLOW_TRACKING_URI": live_server.url,
        "MLFLOW_TRACKING_TOKEN": "",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    }
    script = "from mlflow import MlflowClient; MlflowClient().create_registered_model('sneaky')"
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "401" in done.stderr or "unauthenticated" in done.stderr.lower(), done.stderr[-2000:]
    models = httpx.get(f"{live_server.url}{API}/models", headers=live_server.headers, timeout=10)
    assert models.status_code == 200
    assert "sneaky" not in models.text
