"""What every route needs from a request: the services, the actor, a strict JSON body, and
the helpers that run its service call where ``api.running`` says."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import Depends, Header, Query, Request
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool

from cairn.api.credentials import read_credentials
from cairn.api.running import gated as gated
from cairn.api.running import reading as reading
from cairn.api.running import writing as writing
from cairn.domain.jsonsafe import strict_loads
from cairn.domain.numbers import ID_MAX, INDEX_MAX
from cairn.errors import InvalidInput, PayloadTooLarge, Unauthenticated
from cairn.services.auth import NO_ROLES, Actor, Permission, Role, authorize
from cairn.services.container import Services
from cairn.services.identity import Authenticated


async def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


async def authenticate(request: Request) -> Actor:
    """The caller, from the Cairn token its ``Authorization`` header carries (as a bearer or
    a Basic password: ``api.credentials``); without one, anonymous (who may read only where
    ``CAIRN_ANONYMOUS_READ`` says so)."""
    svc: Services = request.app.state.services
    request_id = request_id_of(request)
    given = read_credentials(request.headers.get("authorization"))
    if given is None:
        return anonymous(svc, request_id)
    return await signed_in(svc, given.token, request_id)


def request_id_of(request: Request) -> str:
    """The request's id (``X-Request-Id``, or a new one), kept for the audit log."""
    request_id = (request.headers.get("x-request-id") or uuid.uuid4().hex)[:64]
    request.state.request_id = request_id
    return request_id


def anonymous(svc: Services, request_id: str) -> Actor:
    roles = frozenset({Role.READER}) if svc.settings.anonymous_read else NO_ROLES
    return Actor("anonymous", global_roles=roles, authenticated=False, request_id=request_id)


async def signed_in(svc: Services, token: str, request_id: str) -> Actor:
    """The actor of Cairn token ``token``, its use noted at most once a minute."""
    return await noted(svc, await reading(svc, svc.identity.authenticate, token, request_id))


async def noted(svc: Services, found: Authenticated) -> Actor:
    if found.last_use_stale and found.actor.token_id is not None:
        await run_in_threadpool(svc.identity.note_use, found.actor.token_id)
    return found.actor


def needs(permission: Permission | None) -> Any:
    """The dependency a route declares: the caller must hold ``permission`` in the route's
    ``{namespace}`` (in some namespace, for routes without one); ``None``: be signed in.
    The services check again, precisely; this makes every route state what it requires,
    and the app refuses to start with a route that states nothing (see ``app.py``)."""

    async def check(request: Request) -> Actor:
        # authenticate is called, not declared as a sub-dependency: each dependency FastAPI
        # resolves costs it a pass over every kind of parameter, on every request.
        actor = await authenticate(request)
        if permission is None:
            if not actor.authenticated:
                raise Unauthenticated("sign in with a token")
        else:
            authorize(actor, permission, request.path_params.get("namespace"))
        return actor

    check.__dict__[PERMISSION_MARK] = permission.value if permission else "signed-in"
    return Depends(check)


PERMISSION_MARK = "cairn_permission"


async def json_body(request: Request) -> Any:
    """The request body as strict JSON, read with a size cap (see ``cairn.domain.jsonsafe``)."""
    _raw, parsed = await read_json(request)
    return parsed


async def read_json(request: Request) -> tuple[bytes, Any]:
    """The request body, as sent and as strict JSON (see ``json_body``)."""
    limit = request.app.state.services.settings.max_json_bytes
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if content_type.lower() != "application/json":  # media types ignore case (RFC 9110)
        raise InvalidInput("send the body as application/json", content_type=content_type[:100])
    body = await capped_body(request, limit, "the JSON body")
    return body, strict_loads(body, max_bytes=limit)


async def capped_body(request: Request, limit: int, what: str) -> bytes:
    """The whole request body, refused as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length") or ""
    # Bounded before int(): a header of thousands of digits would not even parse.
    if declared.isascii() and declared.isdigit() and (len(declared) > 19 or int(declared) > limit):
        raise PayloadTooLarge(f"{what} is larger than {limit} bytes", size=declared[:20])
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"{what} is larger than {limit} bytes")
    return bytes(body)


def override_header(cairn_override: str | None = Header(default=None)) -> str | None:
    """``Cairn-Override: <reason>`` (percent-encoded UTF-8): pass a blocked version's gate,
    on the record (see ``cairn.services.gates``)."""
    return None if cairn_override is None else unquote(cairn_override)


def content_length(request: Request, maximum: int) -> int:
    """The declared body length, required for uploads and bounded by ``maximum``."""
    raw = request.headers.get("content-length")
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise InvalidInput("send a Content-Length header with the exact body size")
    length = int(raw)
    if length > maximum:
        raise PayloadTooLarge(f"a body here is at most {maximum} bytes", size=length)
    return length


Svc = Annotated[Services, Depends(services)]
Reader = Annotated[Actor, needs(Permission.READ)]
Writer = Annotated[Actor, needs(Permission.WRITE)]
Deployer = Annotated[Actor, needs(Permission.DEPLOY)]
Approver = Annotated[Actor, needs(Permission.APPROVE)]
Admin = Annotated[Actor, needs(Permission.ADMIN)]
SignedIn = Annotated[Actor, needs(None)]
Body = Annotated[Any, Depends(json_body)]

# Integers a client names are range-checked here, into a 400 that states the bound, before
# they reach a 32-bit id column or a 64-bit index, which would refuse to bind them (a 500).
RowId = Annotated[int, PathParam(ge=1, le=ID_MAX, description="A row's id.")]
LogIndex = Annotated[int, Query(ge=0, le=INDEX_MAX)]
Override = Annotated[str | None, Depends(override_header)]
