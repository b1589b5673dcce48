"""What every route needs from a request: the registry, the actor, a strict JSON body."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any, ParamSpec, TypeVar

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from cairn.domain.jsonsafe import strict_loads
from cairn.errors import InvalidInput, PayloadTooLarge
from cairn.services.auth import Actor, Role
from cairn.services.registry import Registry


async def registry(request: Request) -> Registry:
    reg: Registry = request.app.state.registry
    return reg


async def actor(request: Request) -> Actor:
    """The caller (async: FastAPI would run a plain dependency in a thread). Until tokens
    exist, ``CAIRN_AUTH`` decides: ``local`` treats callers as the
    local admin (the embedded default listens on 127.0.0.1 only); ``none`` lets them read."""
    request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
    request.state.request_id = request_id[:64]
    if request.app.state.registry.settings.auth == "local":
        return Actor("local-admin", global_role=Role.ADMIN, request_id=request_id[:64])
    return Actor("anonymous", global_role=Role.READER, authenticated=False, request_id=request_id)


async def json_body(request: Request) -> Any:
    """The request body as strict JSON, read with a size cap (see ``cairn.domain.jsonsafe``)."""
    limit = request.app.state.registry.settings.max_json_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the JSON body is larger than {limit} bytes", size=int(declared))
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if content_type.lower() != "application/json":  # media types ignore case (RFC 9110)
        raise InvalidInput("send the body as application/json", content_type=content_type[:100])
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"the JSON body is larger than {limit} bytes")
    return strict_loads(bytes(body), max_bytes=limit)


P = ParamSpec("P")
T = TypeVar("T")


async def reading(reg: Registry, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a read of the registry: in place when the database says its reads never wait
    (embedded SQLite), in a worker thread otherwise, so the event loop never waits on I/O."""
    if reg.db.inline_reads:
        return call(*args, **kwargs)
    return await run_in_threadpool(call, *args, **kwargs)


def content_length(request: Request, maximum: int) -> int:
    """The declared body length, required for uploads and bounded by ``maximum``."""
    raw = request.headers.get("content-length")
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise InvalidInput("send a Content-Length header with the exact body size")
    length = int(raw)
    if length > maximum:
        raise PayloadTooLarge(f"a body here is at most {maximum} bytes", size=length)
    return length


Reg = Annotated[Registry, Depends(registry)]
Caller = Annotated[Actor, Depends(actor)]
Body = Annotated[Any, Depends(json_body)]
