"""The Host header allow-list: a request naming a host the server does not serve is refused
with the one error body, before any route runs (DNS-rebinding and host-header attacks)."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from cairn.api.errors import error_body
from cairn.config import Settings

LOOPBACK = ("localhost", "127.0.0.1", "::1")


def allowed_hosts(settings: Settings) -> frozenset[str] | None:
    """The host names the server answers to; ``None`` means any (``CAIRN_ALLOWED_HOSTS=*``).
    By default: the loopback names, the address it listens on, and ``CAIRN_PUBLIC_URL``'s."""
    configured = [h.strip().lower() for h in settings.allowed_hosts.split(",") if h.strip()]
    if "*" in configured:
        return None
    names = set(configured) | set(LOOPBACK)
    if settings.host not in ("0.0.0.0", "::"):  # noqa: S104 (comparing, not binding)
        names.add(settings.host.lower())
    if settings.public_url:
        names.add((urlsplit(settings.public_url).hostname or "").lower())
    return frozenset(names)


def host_of(header: str) -> str:
    """The host part of a Host header: ``[::1]:8080`` → ``::1``, ``a.b:80`` → ``a.b``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class HostAllowList:
    def __init__(self, app: ASGIApp, hosts: Iterable[str] | None) -> None:
        self.app = app
        self.hosts = None if hosts is None else frozenset(hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.hosts is None:
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope["headers"] if k == b"host"), b"").decode("latin-1")
        if host_of(header) in self.hosts:
            await self.app(scope, receive, send)
            return
        body = orjson.dumps(
            error_body("invalid_host", "this server does not answer to that host name")
        )
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"cairn-error-code", b"invalid_host"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
