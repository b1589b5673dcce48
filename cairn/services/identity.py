"""Who may call: principals (users and service accounts), their roles, and their API tokens.

A request's token is looked up on every request (one indexed query), so a revocation or a
disabled principal takes effect at once on every server process; only the token's last-used
time is written lazily, at most once a minute, to keep reads free of writes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from cairn.domain.jsonsafe import check_storable
from cairn.domain.names import canonical_key, normalize_name
from cairn.domain.records import Principal, Token
from cairn.domain.tokens import new_token, parse_token, secret_hash, secret_matches
from cairn.errors import (
    InvalidInput,
    PermissionDenied,
    PrincipalExists,
    PrincipalNotFound,
    TokenNotFound,
    Unauthenticated,
)
from cairn.services.auth import (
    ANONYMOUS,
    EVERYWHERE,
    LOCAL_ADMIN,
    SYSTEM,
    Actor,
    Permission,
    Role,
    authorize,
    grant_key,
    permissions,
)
from cairn.services.identity_limits import (
    existing,
    keep_an_admin,
    not_past_maker,
    within_maker,
)
from cairn.services.uow import Database, UnitOfWork

KINDS = ("user", "service")
LAST_USED_RESOLUTION = timedelta(minutes=1)
BOOTSTRAP_ADMIN = "admin"
# The names Cairn acts under itself: a principal so named would pass for Cairn in the audit
# log and in every record's ``created_by`` (its built-in validations are the ones by ``cairn``).
RESERVED_PRINCIPALS = frozenset(canonical_key(a.name) for a in (SYSTEM, ANONYMOUS, LOCAL_ADMIN))


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token just created: the only time its secret exists outside the caller's hands."""

    token: Token
    secret: str


@dataclass(frozen=True, slots=True)
class Authenticated:
    actor: Actor
    last_use_stale: bool  # the token's last-used time is a minute old or more: note_use it


class IdentityService:
    def __init__(self, db: Database, token_days_default: int, token_days_max: int) -> None:
        self.db = db
        self.token_days_default = token_days_default
        self.token_days_max = token_days_max

    # ------------------------------------------------------------------ authentication
    def authenticate(self, raw: str, request_id: str | None) -> Authenticated:
        """The actor a bearer token stands for; ``Unauthenticated`` saying why if none."""
        parsed = parse_token(raw)
        if parsed is None:
            raise Unauthenticated("the token is not a Cairn token")
        token_id, secret = parsed
        return self.authenticate_proof(
            token_id, lambda stored: secret_matches(secret, stored), request_id
        )

    def authenticate_proof(
        self, token_id: str, proves: Callable[[str], bool], request_id: str | None
    ) -> Authenticated:
        """The actor of token ``token_id``, for a caller whose proof of holding it ``proves``
        accepts given the token's stored secret hash (the secret itself, or a credential
        derived from it); revocation, expiry and disabled principals apply alike."""
        with self.db.single_read() as store:
            found = store.identity.token_for_check(token_id)
        if found is None or not proves(found.secret_hash):
            raise Unauthenticated("the token is not known")
        token, disabled, principal_id = found.token, found.principal_disabled, found.principal_id
        grants = found.grants
        now = self.db.clock()
        if token.revoked_at is not None:
            raise Unauthenticated("the token was revoked", token_id=token_id)
        if token.expires_at is not None and token.expires_at <= now:
            raise Unauthenticated("the token has expired", token_id=token_id)
        if disabled:
            raise Unauthenticated(f"{token.principal} is disabled", token_id=token_id)
        stale = token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION
        actor = actor_for(token.principal, principal_id, grants, token, request_id)
        return Authenticated(actor, stale)

    def note_use(self, token_id: str) -> None:
        """Record that a token was used now (a write: callers do it at most once a minute)."""
        with self.db.write(SYSTEM, Permission.READ, None) as uow:
            uow.store.identity.touch(token_id, uow.now)

    # ------------------------------------------------------------------ principals
    def create_principal(
        self, actor: Actor, name: object, kind: str, description: str = ""
    ) -> Principal:
        if kind not in KINDS:
            raise InvalidInput("a principal is a 'user' or a 'service' account", kind=kind)
        clean = normalize_name(name, kind=kind)
        if canonical_key(clean) in RESERVED_PRINCIPALS:
            raise InvalidInput(f"{clean!r} is a name Cairn acts under itself", name=clean)
        with self.db.write(actor, Permission.ADMIN, EVERYWHERE) as uow:
            return self._create_principal(uow, clean, kind, description)

    def _create_principal(
        self, uow: UnitOfWork, name: str, kind: str, description: str
    ) -> Principal:
        key = canonical_key(name)
        if uow.store.identity.principal(key) is not None:
            raise PrincipalExists(f"{name} exists (names compare as {key!r})", key=key)
        uow.store.identity.add_principal(
            {
                "name": name,
                "key": key,
                "kind": kind,
                "description": description,
                "disabled": False,
                "created_by": uow.actor.name,
                "created_at": uow.now,
            }
        )
        uow.record("principal.create", f"principal/{name}", kind=kind)
        return _found(uow, name)

    def principals(self, actor: Actor, kind: str | None = None) -> list[Principal]:
        if kind is not None:
            check_storable(kind, "kind")
        with self.db.read(actor, EVERYWHERE, Permission.ADMIN) as store:
            return store.identity.principals(kind)

    def set_disabled(self, actor: Actor, name: str, disabled: bool) -> Principal:
        """Disable (or enable again) a principal; its tokens stop working at once."""
        with self.db.write(actor, Permission.ADMIN, EVERYWHERE) as uow:
            found = _found(uow, name)
            if disabled:
                keep_an_admin(uow, found, "disabling it")
            uow.store.identity.set_disabled(found.id, disabled)
            uow.record("principal.disable" if disabled else "principal.enable", _subject(found))
            return _found(uow, name)

    def grant(self, actor: Actor, name: str, namespace: str, role: object) -> Principal:
        """Add ``role`` to what ``name`` holds in ``namespace`` (``*``: everywhere); the roles it
        held there stay. A namespace's admins grant in it; only a global admin grants everywhere.
        Granting a role already held changes nothing and records nothing."""
        parsed_role = parse_role(role)
        key = _grant_namespace(namespace)
        with self.db.write(actor, Permission.ADMIN, key) as uow:
            found = _found(uow, name)
            existing(uow, key)
            self._add(uow, found, key, parsed_role)
            return _found(uow, name)

    def revoke(self, actor: Actor, name: str, namespace: str, role: object) -> Principal:
        """Take ``role`` out of what ``name`` holds in ``namespace``; its other roles stay."""
        parsed_role = parse_role(role)
        key = _grant_namespace(namespace)
        with self.db.write(actor, Permission.ADMIN, key) as uow:
            found = _found(uow, name)
            if key == EVERYWHERE and parsed_role is Role.ADMIN:
                keep_an_admin(uow, found, "revoking admin everywhere")
            if not uow.store.identity.ungrant(found.id, key, parsed_role.value):
                raise InvalidInput(
                    f"{found.name} does not hold {parsed_role.value} in {key!r}",
                    namespace=key,
                    role=parsed_role.value,
                )
            uow.record("role.revoke", _subject(found), namespace=key, role=parsed_role.value)
            return _found(uow, name)

    def set_roles(self, actor: Actor, name: str, namespace: str, roles: object) -> Principal:
        """Make ``roles`` exactly what ``name`` holds in ``namespace`` (none: it holds none
        there), recording each role added or taken away."""
        if not isinstance(roles, list) or len(roles) > len(Role):
            raise InvalidInput("roles is a list of role names", namespace=namespace)
        wanted = {parse_role(r) for r in roles}
        key = _grant_namespace(namespace)
        with self.db.write(actor, Permission.ADMIN, key) as uow:
            found = _found(uow, name)
            held = {Role(r) for r in found.roles.get(key, [])}
            if key == EVERYWHERE and Role.ADMIN in held - wanted:
                keep_an_admin(uow, found, "taking admin everywhere away")
            if wanted - held:
                existing(uow, key)
            for role in sorted(held - wanted, key=lambda r: r.value):
                uow.store.identity.ungrant(found.id, key, role.value)
                uow.record("role.revoke", _subject(found), namespace=key, role=role.value)
            for role in sorted(wanted - held, key=lambda r: r.value):
                self._add(uow, found, key, role)
            return _found(uow, name)

    def _add(self, uow: UnitOfWork, found: Principal, key: str, role: Role) -> None:
        if uow.store.identity.grant(found.id, key, role.value):
            uow.record("role.grant", _subject(found), namespace=key, role=role.value)

    # ------------------------------------------------------------------ tokens
    def create_token(
        self,
        actor: Actor,
        *,
        name: str,
        scopes: Mapping[str, object] | None = None,
        days: int | None = None,
        principal: str | None = None,
    ) -> IssuedToken:
        """A new token for the caller's own principal, or (global admins) for ``principal``.
        ``scopes`` map a namespace (or ``*``) to a role or a list of roles: in a scoped
        namespace the token may do only what those roles together permit, and never more
        than its principal's roles permit there when it is used. Each scope must lie within
        the principal's roles at creation. Without scopes the token carries the principal's
        roles as they are when it is used. A token makes none wider than itself, nor one that
        outlives it (revoking it would leave its heir)."""
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise InvalidInput("a token's name is 1-100 characters")
        parsed = _parse_scopes(scopes)
        lifetime = self._lifetime(days)
        parsed = within_maker(actor, parsed)
        with self.db.write(actor, Permission.READ, None) as uow:
            owner = self._owner(uow, actor, principal)
            _check_within(owner, parsed)
            lifetime = not_past_maker(uow, actor, lifetime, asked=days is not None)
            return self._issue(uow, owner, name, parsed, lifetime)

    def _issue(
        self,
        uow: UnitOfWork,
        owner: Principal,
        name: str,
        scopes: dict[str, list[str]] | None,
        lifetime: timedelta | None,
    ) -> IssuedToken:
        token_id, secret, full = new_token()
        uow.store.identity.add_token(
            {
                "token_id": token_id,
                "principal_id": owner.id,
                "name": name,
                "secret_hash": secret_hash(secret),
                "scopes": scopes if scopes is not None else {},
                "created_by": uow.actor.name,
                "created_at": uow.now,
                "expires_at": uow.now + lifetime if lifetime else None,
            }
        )
        uow.record(
            "token.create",
            _subject(owner),
            token_id=token_id,
            name=name,
            scopes=scopes or {},
            expires_at=(uow.now + lifetime).isoformat() if lifetime else None,
        )
        token = uow.store.identity.tokens(owner.id, token_id)[0]
        return IssuedToken(token, full)

    def tokens(self, actor: Actor, principal: str | None = None) -> list[Token]:
        """The caller's tokens; a global admin may list anyone's (``principal="*"``: all)."""
        if principal is not None:
            check_storable(principal, "principal")
        with self.db.read(actor, None) as store:
            if principal is None:
                if actor.principal_id is None:
                    return []
                return store.identity.tokens(actor.principal_id)
            authorize(actor, Permission.ADMIN, EVERYWHERE)
            if principal == EVERYWHERE:
                return store.identity.tokens(None)
            found = store.identity.principal(grant_key(principal))
            if found is None:
                raise PrincipalNotFound(f"no principal {principal!r}", name=principal)
            return store.identity.tokens(found.id)

    def revoke_token(self, actor: Actor, token_id: str) -> Token:
        """Revoke a token at once (its owner or a global admin)."""
        with self.db.write(actor, Permission.READ, None) as uow:
            mine = actor.principal_id is not None and bool(
                uow.store.identity.tokens(actor.principal_id, token_id)
            )
            if not mine:
                authorize(actor, Permission.ADMIN, EVERYWHERE)
            if not uow.store.identity.revoke(token_id, uow.now):
                raise TokenNotFound(f"no live token {token_id!r}", token_id=token_id)
            token = uow.store.identity.tokens(None, token_id)[0]
            uow.record("token.revoke", f"principal/{token.principal}", token_id=token_id)
            return token

    # ------------------------------------------------------------------ first start
    def bootstrap(self, token_file: Path) -> bool:
        """On a registry with no principal yet: create the ``admin`` user with the global
        admin role and a token for it, written to ``token_file`` (mode 0600). Returns whether
        it did; a registry that has principals is left alone."""
        with self.db.write(SYSTEM, Permission.ADMIN, EVERYWHERE) as uow:
            if uow.store.identity.count_principals():
                return False
            admin = self._create_principal(uow, BOOTSTRAP_ADMIN, "user", "created on first start")
            self._add(uow, admin, EVERYWHERE, Role.ADMIN)
            issued = self._issue(uow, _found(uow, BOOTSTRAP_ADMIN), "bootstrap", None, None)
            write_secret_file(token_file, issued.secret)
        return True

    def _owner(self, uow: UnitOfWork, actor: Actor, principal: str | None) -> Principal:
        if principal is None:
            if actor.principal_id is None:
                raise PermissionDenied("only a signed-in principal has tokens of its own")
            found = uow.store.identity.principal_by_id(actor.principal_id)
            if found is None:
                raise PrincipalNotFound("the token's principal is gone")
            return found
        authorize(actor, Permission.ADMIN, EVERYWHERE)
        return _found(uow, principal)

    def _lifetime(self, days: int | None) -> timedelta:
        """Every token made through the API expires; only the bootstrap token does not."""
        if days is None:
            days = self.token_days_default
        if type(days) is not int or not 1 <= days <= self.token_days_max:
            raise InvalidInput(f"a token lives 1 to {self.token_days_max} days", days=days)
        return timedelta(days=days)


def actor_for(
    name: str,
    principal_id: int,
    grants: Mapping[str, list[str]],
    token: Token | None,
    request_id: str | None,
) -> Actor:
    roles = {ns: _roles(held) for ns, held in grants.items() if ns != EVERYWHERE}
    scopes = None
    if token is not None and token.scopes:
        scopes = {ns: _roles(held) for ns, held in token.scopes.items()}
    return Actor(
        name,
        global_roles=_roles(grants.get(EVERYWHERE, [])),
        roles=roles,
        request_id=request_id,
        scopes=scopes,
        principal_id=principal_id,
        token_id=token.token_id if token else None,
    )


def _roles(names: list[str]) -> frozenset[Role]:
    return frozenset(Role(n) for n in names)


def parse_role(raw: object) -> Role:
    try:
        return Role(raw)
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise InvalidInput(f"a role is one of {names}", role=str(raw)[:40]) from None


def write_secret_file(path: Path, secret: str) -> None:
    """Write ``secret`` to a new file readable by its owner only (0600 from the start)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secret + "\n")
    path.chmod(0o600)


def _grant_namespace(namespace: str) -> str:
    if namespace == EVERYWHERE:
        return EVERYWHERE
    return canonical_key(normalize_name(namespace, kind="namespace"))


def _parse_scopes(scopes: Mapping[str, Any] | None) -> dict[str, list[str]] | None:
    """Scopes as stored: namespace key (or ``*``) → the sorted names of its roles."""
    if scopes is None or scopes == {}:
        return None
    if not isinstance(scopes, Mapping) or len(scopes) > 100:
        raise InvalidInput("scopes map at most 100 namespaces (or '*') to roles")
    parsed: dict[str, list[str]] = {}
    for ns, roles in scopes.items():
        listed = [roles] if isinstance(roles, str) else roles
        if not isinstance(listed, list) or not 1 <= len(listed) <= len(Role):
            raise InvalidInput("a scope is a role or a list of roles", namespace=str(ns)[:100])
        held = parsed.setdefault(_grant_namespace(ns), [])
        held.extend(parse_role(role).value for role in listed)
    return {ns: sorted(set(roles)) for ns, roles in parsed.items()}


def _check_within(owner: Principal, scopes: dict[str, list[str]] | None) -> None:
    """Refuse a scope that asks for a permission the owner's roles there do not give."""
    if scopes is None:
        return
    everywhere = owner.roles.get(EVERYWHERE, [])
    for ns, roles in scopes.items():
        held = everywhere + (owner.roles.get(ns, []) if ns != EVERYWHERE else [])
        if permissions(_roles(roles)) <= permissions(_roles(held)):
            continue
        raise PermissionDenied(
            f"{owner.name} does not hold {', '.join(roles)} in {ns!r}: "
            "a token cannot widen its owner's roles",
            namespace=ns,
            roles=roles,
        )


def _found(uow: UnitOfWork, name: str) -> Principal:
    found = uow.store.identity.principal(grant_key(name))
    if found is None:
        raise PrincipalNotFound(f"no principal {name!r}", name=name)
    return found


def _subject(p: Principal) -> str:
    return f"principal/{p.name}"
