"""Who is calling, API tokens, and the principals (users, service accounts) with their roles."""

from __future__ import annotations

from fastapi import APIRouter, Response

from cairn.api.bodies import StrictBodyRoute, ok
from cairn.api.deps import Admin, SignedIn, Svc, reading
from cairn.api.params import RoleName, Scope
from cairn.api.routes import API_PREFIX
from cairn.services.auth import Actor, Role
from cairn.wire.base import Items
from cairn.wire.identity import (
    Caller,
    IssuedToken,
    NewPrincipal,
    NewToken,
    OneRole,
    Principal,
    PrincipalUpdate,
    RoleList,
    Token,
)

router = APIRouter(route_class=StrictBodyRoute, prefix=API_PREFIX, tags=["identity"])


@router.get("/whoami", response_model=Caller)
async def whoami(actor: SignedIn) -> Response:
    """Who the token speaks for: the principal's roles and the token's scopes."""
    return ok(_caller(actor))


@router.post("/tokens", status_code=201, response_model=IssuedToken)
def create_token(svc: Svc, actor: SignedIn, body: NewToken) -> Response:
    """A new token, for the caller or (global admins) for another principal. The secret is in
    this response and nowhere else, ever."""
    issued = svc.identity.create_token(
        actor, name=body.name, scopes=body.scopes, days=body.days, principal=body.principal
    )
    return ok(IssuedToken.of(issued.token, issued.secret), 201)


@router.get("/tokens", response_model=Items[Token])
async def list_tokens(svc: Svc, actor: SignedIn, principal: str | None = None) -> Response:
    """The caller's tokens; a global admin may name a principal, or ``*`` for all."""
    found = await reading(svc, svc.identity.tokens, actor, principal)
    return ok(Items[Token](items=[Token.of(t) for t in found]))


@router.delete("/tokens/{token_id}", response_model=Token)
def revoke_token(svc: Svc, actor: SignedIn, token_id: str) -> Response:
    """Revoke a token: it stops working at once."""
    return ok(Token.of(svc.identity.revoke_token(actor, token_id)))


@router.post("/principals", status_code=201, response_model=Principal)
def create_principal(svc: Svc, actor: Admin, body: NewPrincipal) -> Response:
    """A new user or service account, holding no role yet."""
    created = svc.identity.create_principal(actor, body.name, body.kind, body.description)
    return ok(Principal.of(created), 201)


@router.get("/principals", response_model=Items[Principal])
async def list_principals(svc: Svc, actor: Admin, kind: str | None = None) -> Response:
    found = await reading(svc, svc.identity.principals, actor, kind)
    return ok(Items[Principal](items=[Principal.of(p) for p in found]))


@router.patch("/principals/{name}", response_model=Principal)
def update_principal(svc: Svc, actor: Admin, name: str, body: PrincipalUpdate) -> Response:
    """Disable a principal (its tokens stop working at once) or enable it again."""
    return ok(Principal.of(svc.identity.set_disabled(actor, name, body.disabled)))


@router.put("/principals/{name}/roles/{namespace}/{role}", response_model=Principal)
def grant_role(svc: Svc, actor: Admin, name: str, namespace: Scope, role: RoleName) -> Response:
    """Add ``role`` to what a principal holds in a namespace (``*``: every namespace); the
    roles it held there stay."""
    return ok(Principal.of(svc.identity.grant(actor, name, namespace, role)))


@router.delete("/principals/{name}/roles/{namespace}/{role}", response_model=Principal)
def revoke_role(svc: Svc, actor: Admin, name: str, namespace: Scope, role: RoleName) -> Response:
    """Take ``role`` out of what a principal holds in a namespace; its other roles stay."""
    return ok(Principal.of(svc.identity.revoke(actor, name, namespace, role)))


@router.put("/principals/{name}/roles/{namespace}", response_model=Principal)
def set_roles(
    svc: Svc, actor: Admin, name: str, namespace: Scope, body: RoleList | OneRole
) -> Response:
    """Make ``roles`` exactly the roles a principal holds in a namespace (``role``: that one
    role only)."""
    return ok(Principal.of(svc.identity.set_roles(actor, name, namespace, body.wanted())))


@router.delete("/principals/{name}/roles/{namespace}", response_model=Principal)
def revoke_roles(svc: Svc, actor: Admin, name: str, namespace: Scope) -> Response:
    """Take every role a principal holds in a namespace away."""
    return ok(Principal.of(svc.identity.set_roles(actor, name, namespace, [])))


def _caller(actor: Actor) -> Caller:
    """The caller as the wire draws it: ``cairn.wire`` does not know the services' ``Actor``."""
    roles = {ns: _names(held) for ns, held in sorted(actor.roles.items()) if held}
    if actor.global_roles:
        roles["*"] = _names(actor.global_roles)
    scopes = None
    if actor.scopes is not None:
        scopes = {ns: _names(held) for ns, held in sorted(actor.scopes.items())}
    return Caller(name=actor.name, roles=roles, token_id=actor.token_id, scopes=scopes)


def _names(roles: frozenset[Role]) -> list[str]:
    return sorted(r.value for r in roles)
