"""The HTTP side of webhook delivery, with the SSRF guard on every connection.

Names are resolved here and each resolved address is checked (``cairn.domain.webhooks.
address_allowed``) before the socket connects, so DNS that changes between a check and a
connection cannot slip through; TLS still verifies the certificate for the URL's host name.
Redirects are followed by hand (307 and 308 only, which keep the POST and its body; at most
three), and each hop's connection passes the same guard.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from urllib.parse import urljoin

import httpcore

from cairn.domain.webhooks import Network, address_allowed, target_refusal
from cairn.services.webhooks import Sent

MAX_REDIRECTS = 3


class GuardRefused(httpcore.ConnectError):
    pass


class _GuardedBackend(httpcore.SyncBackend):
    def __init__(self, allow: list[Network]) -> None:
        self.allow = allow

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = sorted({str(info[4][0]) for info in found})
        allowed = [a for a in addresses if address_allowed(a, self.allow)]
        if not allowed:
            raise GuardRefused(target_refusal(host, addresses, self.allow) or host)
        last: Exception | None = None
        for address in allowed:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                last = exc
        raise httpcore.ConnectError(f"cannot connect to {host}: {last}")


class GuardedTransport:
    """``WebhookTransport`` over httpcore, through the SSRF guard."""

    def __init__(self, allow: list[Network]) -> None:
        self.pool = httpcore.ConnectionPool(
            network_backend=_GuardedBackend(allow), max_connections=20
        )

    def post(self, url: str, headers: dict[str, str], body: bytes, timeout: float) -> Sent:
        limits = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
        extensions = {"timeout": limits}
        for _ in range(MAX_REDIRECTS + 1):
            try:
                response = self.pool.request(
                    "POST",
                    url,
                    headers=list(headers.items()),
                    content=body,
                    extensions=extensions,
                )
            except GuardRefused as exc:  # permanent: the same address is refused next time
                return Sent(None, error=f"refused by the SSRF guard: {exc}", permanent=True)
            except (
                httpcore.TimeoutException,
                httpcore.NetworkError,
                httpcore.ProtocolError,
            ) as exc:
                return Sent(None, error=f"{type(exc).__name__}: {exc}"[:500])
            found = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in response.headers}
            if response.status in (307, 308) and "location" in found:
                url = urljoin(url, found["location"])
                continue
            return Sent(response.status, retry_after=found.get("retry-after"))
        return Sent(None, error=f"more than {MAX_REDIRECTS} redirects")

    def close(self) -> None:
        self.pool.close()
