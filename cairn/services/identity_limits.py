"""The limits on what a change of identity may do: a registry always keeps a global admin, a
role lives only in a namespace that exists, and a token makes no token wider or longer-lived
than itself (a stolen token must not buy its holder more than it had, nor outlast its
revocation)."""

from __future__ import annotations

from datetime import timedelta

from cairn.domain.records import Principal
from cairn.errors import InvalidInput, LastAdmin, PermissionDenied
from cairn.services.auth import EVERYWHERE, NO_ROLES, Actor, Role, permissions
from cairn.services.resolve import get_namespace
from cairn.services.uow import UnitOfWork


def keep_an_admin(uow: UnitOfWork, found: Principal, change: str) -> None:
    """Refuse a change that would leave no enabled principal holding admin everywhere: nobody
    could grant it again, and the registry would need an edit of its database."""
    if uow.store.identity.holders(EVERYWHERE, Role.ADMIN.value) == {found.id}:
        raise LastAdmin(
            f"{found.name} is the last enabled global admin: {change} would leave none; "
            "grant admin everywhere to another principal first",
            principal=found.name,
        )


def existing(uow: UnitOfWork, key: str) -> None:
    """A role is granted in a namespace that exists (or everywhere): a typo must not grant
    rights in a namespace someone creates later."""
    if key != EVERYWHERE:
        get_namespace(uow.store, key)


def not_past_maker(uow: UnitOfWork, actor: Actor, lifetime: timedelta, *, asked: bool) -> timedelta:
    """The lifetime of a token another token makes: none past its maker's expiry (the default
    is cut to it; a longer one asked for is refused)."""
    maker = uow.store.identity.tokens(None, actor.token_id) if actor.token_id else []
    expires = maker[0].expires_at if maker else None
    if expires is None or uow.now + lifetime <= expires:
        return lifetime
    if asked:
        raise InvalidInput(
            f"the token making this one expires at {expires.isoformat(timespec='seconds')}: "
            "a token cannot outlive the token that makes it",
            expires_at=expires.isoformat(),
        )
    return expires - uow.now


def within_maker(actor: Actor, scopes: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
    """The scopes of a token a scoped token asks for: its maker's when it names none, and
    each it names refused unless the maker's scopes permit it there; else ``scopes``."""
    if actor.scopes is None:
        return scopes
    if scopes is None:
        return {ns: sorted(r.value for r in held) for ns, held in actor.scopes.items()}
    everywhere = actor.scopes.get(EVERYWHERE, NO_ROLES)
    for ns, roles in scopes.items():
        held = everywhere | (actor.scopes.get(ns, NO_ROLES) if ns != EVERYWHERE else NO_ROLES)
        if not permissions(Role(r) for r in roles) <= permissions(held):
            raise PermissionDenied(
                f"the token making this one is limited in {ns!r}: a token cannot widen "
                "the scopes of the token that makes it",
                namespace=ns,
                roles=roles,
            )
    return scopes
