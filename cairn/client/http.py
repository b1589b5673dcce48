"""The SDK's HTTP layer: one ``httpx.Client``, error bodies turned back into ``cairn.errors``."""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from cairn import errors
from cairn.client.local_admin import LocalAdmin, is_loopback
from cairn.wire import paths

DEFAULT_URL = "http://127.0.0.1:8080"
API = paths.API_PREFIX
TOKEN_HINT = "give a token with --token or CAIRN_TOKEN"  # noqa: S105 - a message

M = TypeVar("M", bound=BaseModel)


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
        if token is None:
            token = os.environ.get("CAIRN_TOKEN")
        if token is not None and not token.strip():
            raise errors.EmptyToken(
                "the token is empty (CAIRN_TOKEN= or --token ''): give a token, or unset "
                "CAIRN_TOKEN to use the local admin token of a server on this machine"
            )
        self.owns_client = client is None
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(timeout, connect=10.0),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
            verify=trust(ca_bundle or os.environ.get("CAIRN_CA_BUNDLE") or None),
        )
        self.local_admin: LocalAdmin | None = None
        if token is not None:
            self.client.headers["Authorization"] = f"Bearer {token}"
        elif is_loopback(self.url):
            self.local_admin = LocalAdmin(self.url, self.client)
            self.client.auth = self.local_admin

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self.client.request(method, self.url + API + path, **kwargs)
        try:
            raise_for_error(response)
        except errors.Unauthenticated as exc:
            declined = self.local_admin.declined if self.local_admin else None
            if declined is not None:  # say why no token went, and what to do
                exc.message = f"{exc.message}; no token was sent: {declined}; {TOKEN_HINT}"
                exc.args = (exc.message,)
            raise
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        return response.json() if response.content else None

    def record(self, model: type[M], method: str, path: str, **kwargs: Any) -> M:
        """The answer read into the ``cairn.wire`` model its route declares."""
        return model.model_validate(self.json(method, path, **kwargs))

    def records(self, model: type[M], method: str, path: str, **kwargs: Any) -> list[M]:
        """The ``items`` of an answer (``wire.base.Items``), each read into ``model``."""
        return [model.model_validate(item) for item in self.json(method, path, **kwargs)["items"]]

    def pages(self, path: str, params: Mapping[str, Any]) -> Iterator[Any]:
        """The ``items`` of every page of a list (``wire.base.Page``), asked for as they are
        read, following ``next_cursor``."""
        cursor: str | None = None
        while True:
            query = {**params, **({"cursor": cursor} if cursor else {})}
            page = self.json("GET", path, params=query)
            yield from page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def stream(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.client.stream(method, self.url + API + path, **kwargs)

    def close(self) -> None:
        if self.owns_client:
            self.client.close()
