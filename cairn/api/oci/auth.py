"""Who is calling under ``/v2/``, and what each route needs.

OCI clients authenticate as registries expect: ``Authorization: Bearer`` with a token from
``GET /v2/token`` (exchanged there for Basic credentials whose password is a Cairn API token),
``Bearer`` with a Cairn API token itself, or ``Basic`` directly; the header is read by
``api.credentials``, as on every surface. Without credentials the
caller is anonymous, who reads only where ``CAIRN_ANONYMOUS_READ`` says so; refusals carry
the challenge that sends clients to the token endpoint (see ``errors``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from cairn.api.credentials import read_credentials
from cairn.api.deps import (
    PERMISSION_MARK,
    anonymous,
    noted,
    reading,
    request_id_of,
    signed_in,
)
from cairn.domain.oci import parse_repository
from cairn.domain.registry_tokens import PREFIX as REGISTRY_TOKEN_PREFIX
from cairn.errors import Unauthenticated
from cairn.services.auth import Actor, Permission, authorize
from cairn.services.container import Services

# What the token endpoint gives a caller without credentials when anonymous reads are on:
# a token that stands for no one, so clients that insist on a token can still pull.
ANONYMOUS_TOKEN = "anonymous"  # noqa: S105 - names no one, grants nothing


async def oci_actor(request: Request) -> Actor:
    svc: Services = request.app.state.services
    request_id = request_id_of(request)
    given = read_credentials(request.headers.get("authorization"))
    if given is None or (given.scheme == "bearer" and given.token == ANONYMOUS_TOKEN):
        return anonymous(svc, request_id)
    if given.scheme == "bearer" and given.token.startswith(REGISTRY_TOKEN_PREFIX):
        found = await reading(svc, svc.registry_tokens.authenticate, given.token, request_id)
        return await noted(svc, found)
    return await signed_in(svc, given.token, request_id)


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
