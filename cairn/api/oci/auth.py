"""Who is calling under ``/v2/``, and what each route needs.

OCI clients authenticate as registries expect: ``Authorization: Bearer`` with a token from
``GET /v2/token`` (exchanged there for Basic credentials whose password is a Cairn API token),
``Bearer`` with a Cairn API token itself, or ``Basic`` directly. Without credentials the
caller is anonymous, who reads only where ``CAIRN_ANONYMOUS_READ`` says so; refusals carry
the challenge that sends clients to the token endpoint (see ``errors``).
"""

from __future__ import annotations

import base64
import uuid
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from cairn.api.deps import PERMISSION_MARK, reading
from cairn.domain.oci import parse_repository
from cairn.domain.registry_tokens import PREFIX as REGISTRY_TOKEN_PREFIX
from cairn.errors import Unauthenticated
from cairn.services.auth import NO_ROLES, Actor, Permission, Role, authorize
from cairn.services.identity import Authenticated
from cairn.services.registry import Registry

# What the token endpoint gives a caller without credentials when anonymous reads are on:
# a token that stands for no one, so clients that insist on a token can still pull.
ANONYMOUS_TOKEN = "anonymous"  # noqa: S105 - names no one, grants nothing


def anonymous(reg: Registry, request_id: str) -> Actor:
    roles = frozenset({Role.READER}) if reg.settings.anonymous_read else NO_ROLES
    return Actor("anonymous", global_roles=roles, authenticated=False, request_id=request_id)


async def oci_actor(request: Request) -> Actor:
    reg: Registry = request.app.state.registry
    request_id = (request.headers.get("x-request-id") or uuid.uuid4().hex)[:64]
    request.state.request_id = request_id
    header = request.headers.get("authorization")
    if header is None:
        return anonymous(reg, request_id)
    scheme, _, raw = header.partition(" ")
    raw = raw.strip()
    if scheme.lower() == "bearer" and raw == ANONYMOUS_TOKEN:
        return anonymous(reg, request_id)
    if scheme.lower() == "bearer" and raw.startswith(REGISTRY_TOKEN_PREFIX):
        found = await reading(reg, reg.registry_tokens.authenticate, raw, request_id)
    elif scheme.lower() == "bearer" and raw:
        found = await reading(reg, reg.identity.authenticate, raw, request_id)
    elif scheme.lower() == "basic":
        found = await reading(reg, reg.identity.authenticate, basic_password(raw), request_id)
    else:
        raise Unauthenticated("send 'Authorization: Bearer <token>' or Basic credentials")
    await _note_use(reg, found)
    return found.actor


def basic_password(raw: str) -> str:
    """The password of ``Basic`` credentials (any user name: the password is the token)."""
    try:
        decoded = base64.b64decode(raw, validate=True).decode("utf-8")
    except ValueError as exc:  # binascii.Error, non-ASCII text, bytes that are not UTF-8
        raise Unauthenticated("Basic credentials are base64 of 'user:password'") from exc
    _, colon, password = decoded.partition(":")
    if not colon or not password:
        raise Unauthenticated("Basic credentials carry a Cairn API token as the password")
    return password


async def _note_use(reg: Registry, found: Authenticated) -> None:
    if found.last_use_stale and found.actor.token_id is not None:
        await run_in_threadpool(reg.identity.note_use, found.actor.token_id)


def oci_needs(permission: Permission | None) -> Any:
    """The dependency an OCI route declares: ``permission`` in the namespace of the route's
    repository (``{name}``); ``None`` for the version check ``GET /v2/``, which any caller
    who may read something passes."""

    async def check(request: Request, actor: Annotated[Actor, Depends(oci_actor)]) -> Actor:
        name = request.path_params.get("name")
        if permission is None:
            if not actor.authenticated and not actor.global_roles:
                raise Unauthenticated("sign in: ask /v2/token with a Cairn token")
            return actor
        namespace = parse_repository(name).namespace if name else None
        authorize(actor, permission, namespace)
        return actor

    check.__dict__[PERMISSION_MARK] = f"oci-{permission.value if permission else 'ping'}"
    return Depends(check)


Pinger = Annotated[Actor, oci_needs(None)]
RepoReader = Annotated[Actor, oci_needs(Permission.READ)]
RepoWriter = Annotated[Actor, oci_needs(Permission.WRITE)]
