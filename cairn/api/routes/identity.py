"""Who is calling, API tokens, and the principals (users, service accounts) with their roles."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from cairn.api import wire
from cairn.api.bodies import StrictBodyRoute
from cairn.api.deps import Admin, Body, Reg, SignedIn, reading
from cairn.api.routes import API_PREFIX
from cairn.errors import InvalidInput

router = APIRouter(route_class=StrictBodyRoute, prefix=API_PREFIX, tags=["identity"])


@router.get("/whoami")
async def whoami(actor: SignedIn) -> Response:
    return wire.ok(wire.actor(actor))


@router.post("/tokens", status_code=201)
def create_token(reg: Reg, actor: SignedIn, body: Body) -> Response:
    """A new token: ``{name, scopes?: {namespace|"*": role}, days?, principal?}``. The secret is
    in this response and nowhere else, ever."""
    fields = _object(body, {"name", "scopes", "days", "principal"}, "a token request")
    issued = reg.identity.create_token(
        actor,
        name=fields.get("name"),  # type: ignore[arg-type]  # checked by the service
        scopes=fields.get("scopes"),
        days=fields.get("days"),
        principal=fields.get("principal"),
    )
    return wire.ok({"token": wire.token(issued.token), "secret": issued.secret}, 201)


@router.get("/tokens")
async def list_tokens(reg: Reg, actor: SignedIn, principal: str | None = None) -> Response:
    """The caller's tokens; a global admin may name a principal, or ``*`` for all."""
    found = await reading(reg, reg.identity.tokens, actor, principal)
    return wire.ok({"items": [wire.token(t) for t in found]})


@router.delete("/tokens/{token_id}")
def revoke_token(reg: Reg, actor: SignedIn, token_id: str) -> Response:
    return wire.ok(wire.token(reg.identity.revoke_token(actor, token_id)))


@router.post("/principals", status_code=201)
def create_principal(reg: Reg, actor: Admin, body: Body) -> Response:
    fields = _object(body, {"name", "kind", "description"}, "a principal")
    kind, description = fields.get("kind", "user"), fields.get("description", "")
    if not isinstance(kind, str) or not isinstance(description, str):
        raise InvalidInput("kind and description are strings")
    created = reg.identity.create_principal(actor, fields.get("name"), kind, description)
    return wire.ok(wire.principal(created), 201)


@router.get("/principals")
async def list_principals(reg: Reg, actor: Admin, kind: str | None = None) -> Response:
    found = await reading(reg, reg.identity.principals, actor, kind)
    return wire.ok({"items": [wire.principal(p) for p in found]})


@router.patch("/principals/{name}")
def update_principal(reg: Reg, actor: Admin, name: str, body: Body) -> Response:
    fields = _object(body, {"disabled"}, "a principal update")
    if type(fields.get("disabled")) is not bool:
        raise InvalidInput('update a principal with {"disabled": true|false}')
    return wire.ok(wire.principal(reg.identity.set_disabled(actor, name, fields["disabled"])))


@router.put("/principals/{name}/roles/{namespace}/{role}")
def grant_role(reg: Reg, actor: Admin, name: str, namespace: str, role: str) -> Response:
    """Add ``role`` to what a principal holds in a namespace (``*``: every namespace); the
    roles it held there stay."""
    return wire.ok(wire.principal(reg.identity.grant(actor, name, namespace, role)))


@router.delete("/principals/{name}/roles/{namespace}/{role}")
def revoke_role(reg: Reg, actor: Admin, name: str, namespace: str, role: str) -> Response:
    """Take ``role`` out of what a principal holds in a namespace; its other roles stay."""
    return wire.ok(wire.principal(reg.identity.revoke(actor, name, namespace, role)))


@router.put("/principals/{name}/roles/{namespace}")
def set_roles(reg: Reg, actor: Admin, name: str, namespace: str, body: Body) -> Response:
    """Make ``{"roles": [...]}`` exactly the roles a principal holds in a namespace
    (``{"role": "x"}``: that one role only)."""
    fields = _object(body, {"role", "roles"}, "a principal's roles")
    if len(fields) != 1:
        raise InvalidInput('send {"roles": [role, ...]} or {"role": role}')
    roles = fields["roles"] if "roles" in fields else [fields["role"]]
    return wire.ok(wire.principal(reg.identity.set_roles(actor, name, namespace, roles)))


@router.delete("/principals/{name}/roles/{namespace}")
def revoke_roles(reg: Reg, actor: Admin, name: str, namespace: str) -> Response:
    """Take every role a principal holds in a namespace away."""
    return wire.ok(wire.principal(reg.identity.set_roles(actor, name, namespace, [])))


def _object(body: Any, allowed: set[str], what: str) -> dict[str, Any]:
    if not isinstance(body, dict) or set(body) - allowed:
        raise InvalidInput(f"{what} is a JSON object with fields {', '.join(sorted(allowed))}")
    return body
