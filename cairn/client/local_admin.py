"""The local admin token: what the embedded server wrote to its data folder on first start,
which the CLI and the SDK on the same machine use when given no token — sent only to the
server whose data folder wrote it, never to another port or host (the proof it must give is
described in ``cairn.domain.server_identity``).

What this does not stop: a process that can read the data folder (the same OS user, or root)
reads the token itself; a process that can watch loopback traffic sees it on plain HTTP; and
a server reached through a port forwarder (ssh -L, a container's published port) cannot
prove itself through it, so give such a server a token explicitly.
"""

from __future__ import annotations

import hmac
import os
import threading
from collections.abc import Generator
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from cairn.domain import server_identity
from cairn.locations import ADMIN_TOKEN_FILE, SERVER_KEY_FILE, default_data_dir
from cairn.wire import paths

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
SERVER_PATH = paths.API_PREFIX + paths.SERVER
CHECK_TIMEOUT_SECONDS = 10.0


def data_dir() -> Path:
    found = os.environ.get("CAIRN_DATA_DIR")
    return Path(found) if found else default_data_dir()


def is_loopback(url: str) -> bool:
    return urlsplit(url).hostname in LOOPBACK_HOSTS


class LocalAdmin(httpx.Auth):
    """Adds the local admin token to a client's requests once the server at ``url`` has
    proven, on the first request, that it is the server whose data folder holds it; sends
    no token otherwise (``declined`` then says why, for the hint on a 401)."""

    def __init__(self, url: str, client: httpx.Client, folder: Path | None = None) -> None:
        self.url = url
        self.client = client
        self.folder = folder or data_dir()
        self.declined: str | None = None
        self._token: str | None = None
        self._checked = False
        self._lock = threading.Lock()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.token()
        if token is not None:
            request.headers["Authorization"] = f"Bearer {token}"
        yield request

    def token(self) -> str | None:
        with self._lock:
            if not self._checked:
                self._token, self.declined = self._check()
                self._checked = True
            return self._token

    def _check(self) -> tuple[str | None, str | None]:
        if not is_loopback(self.url):
            return None, "the server is not on this machine"
        token, key = _read(self.folder / ADMIN_TOKEN_FILE), _read(self.folder / SERVER_KEY_FILE)
        if token is None or key is None:
            return None, f"no admin token and server key in {self.folder}"
        expected = server_identity.server_id(key.encode("ascii"))
        try:
            presented, proven = self._ask(key.encode("ascii"))
        except (httpx.HTTPError, ValueError, KeyError, TypeError, OSError):
            return None, f"the server at {self.url} did not say which server it is"
        if presented != expected or not proven:
            return None, (
                f"the server at {self.url} ({presented}) is not the one whose data folder "
                f"{self.folder} holds the admin token ({expected})"
            )
        return token, None

    def _ask(self, key: bytes) -> tuple[str, bool]:
        """The id the server presents, and whether its proof holds for the address this
        client connected to (read from the connection itself, not from the URL)."""
        challenge = server_identity.new_challenge()
        with self.client.stream(
            "GET",
            self.url + SERVER_PATH,
            params={"challenge": challenge},
            auth=None,
            timeout=CHECK_TIMEOUT_SECONDS,
        ) as response:
            stream = response.extensions.get("network_stream")
            peer = stream.get_extra_info("server_addr") if stream is not None else None
            response.read()
        response.raise_for_status()
        body = response.json()
        presented, answered = str(body["id"]), body["proof"]
        if peer is None or not isinstance(answered, str):
            return presented, False
        wanted = server_identity.proof(key, challenge, str(peer[0]), int(peer[1]))
        return presented, hmac.compare_digest(wanted, answered)


def local_admin_token(url: str) -> str | None:
    """The local admin token, if the server at ``url`` proves it is the one whose data folder
    holds it; ``None`` otherwise."""
    with httpx.Client() as http:
        return LocalAdmin(url.rstrip("/"), http).token()


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip() or None
    except (OSError, UnicodeDecodeError):
        return None
