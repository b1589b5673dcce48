"""The SDK's HTTP layer: one ``httpx.Client``, error bodies turned back into ``cairn.errors``."""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from cairn import errors
from cairn.locations import ADMIN_TOKEN_FILE, default_data_dir

DEFAULT_URL = "http://127.0.0.1:8080"
API = "/api/v1"


def raise_for_error(response: httpx.Response) -> None:
    """Raise the ``cairn.errors`` class named by an error body's code (``ServerError`` for a
    5xx without one), so callers catch the same classes in-process and over HTTP."""
    if response.status_code < 400:
        return
    try:
        body = response.json()
        error = body["error"]
        code, message, details = error["code"], error["message"], error.get("details") or {}
    except (ValueError, KeyError, TypeError):
        cls: type[errors.CairnError] = (
            errors.ServerError if response.status_code >= 500 else errors.CairnError
        )
        raise cls(f"HTTP {response.status_code} from {response.request.url}") from None
    cls = errors.error_class_for(code)
    exc = cls(message, **details)
    exc.code = code  # keep the server's code even for a code this SDK does not know yet
    raise exc


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def local_admin_token(url: str) -> str | None:
    """The admin token the embedded server wrote on first start (``<data dir>/admin-token``),
    for a server on this machine only: it is never sent to another host."""
    if urlsplit(url).hostname not in LOOPBACK_HOSTS:
        return None
    data_dir = os.environ.get("CAIRN_DATA_DIR")
    path = (Path(data_dir) if data_dir else default_data_dir()) / ADMIN_TOKEN_FILE
    try:
        return path.read_text(encoding="ascii").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def trust(ca_bundle: str | Path | None) -> ssl.SSLContext:
    """The certificates an HTTPS server may present: httpx's default (certifi's authorities,
    or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``), plus those in ``ca_bundle`` (PEM), e.g. the
    private authority, or the self-signed certificate, of a registry inside a company."""
    context = httpx.create_ssl_context()
    if ca_bundle is not None:
        try:
            context.load_verify_locations(cafile=ca_bundle)
        except (OSError, ssl.SSLError) as exc:
            raise errors.ConfigError(
                f"CAIRN_CA_BUNDLE: cannot read CA certificates from {ca_bundle}: {exc}",
                setting="CAIRN_CA_BUNDLE",
            ) from exc
    return context


class Http:
    """A thin wrapper that knows the base URL, the token and the error shape."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        client: httpx.Client | None = None,
        timeout: float = 60.0,
        ca_bundle: str | Path | None = None,
    ) -> None:
        self.url = (url or os.environ.get("CAIRN_URL") or DEFAULT_URL).rstrip("/")
        token = token or os.environ.get("CAIRN_TOKEN") or local_admin_token(self.url)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.owns_client = client is None
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(timeout, connect=10.0),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
            verify=trust(ca_bundle or os.environ.get("CAIRN_CA_BUNDLE") or None),
        )
        self.client.headers.update(headers)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self.client.request(method, self.url + API + path, **kwargs)
        raise_for_error(response)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        return response.json() if response.content else None

    def stream(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.client.stream(method, self.url + API + path, **kwargs)

    def close(self) -> None:
        if self.owns_client:
            self.client.close()
