"""Who is acting, and what each role may do in a namespace.

Roles are ordered ``reader < writer < deployer < admin``; ``approver`` is a reader who may also
approve. A principal holds a set of roles in each namespace (and may hold some everywhere): what
it may do there is the union of what they grant. A token's scopes narrow that: in a namespace a
scope names, the token may do only what both the principal's roles and the scope's roles grant.
Every service method names the permission it needs; the unit of work checks it before anything
is read or written, so no mutation can skip the check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TypeVar

from cairn.domain.names import canonical_key, normalize_name
from cairn.errors import InvalidName, PermissionDenied, Unauthenticated


class Permission(Enum):
    READ = "read"
    WRITE = "write"  # register versions, tags, model metadata
    APPROVE = "approve"
    DEPLOY = "deploy"  # aliases, deployments
    ADMIN = "admin"  # namespaces, roles, policies, keys


class Role(Enum):
    READER = "reader"
    WRITER = "writer"
    APPROVER = "approver"
    DEPLOYER = "deployer"
    ADMIN = "admin"


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.READER: frozenset({Permission.READ}),
    Role.APPROVER: frozenset({Permission.READ, Permission.APPROVE}),
    Role.WRITER: frozenset({Permission.READ, Permission.WRITE}),
    Role.DEPLOYER: frozenset({Permission.READ, Permission.WRITE, Permission.DEPLOY}),
    Role.ADMIN: frozenset(Permission),
}


Roles = frozenset[Role]
NO_ROLES: Roles = frozenset()


@dataclass(frozen=True, slots=True)
class Actor:
    """A caller: a name for the audit log, the roles its principal holds (by namespace key),
    and, when it came with a token, the token's scopes, which narrow those roles further."""

    name: str
    global_roles: Roles = NO_ROLES
    roles: Mapping[str, Roles] = field(default_factory=dict)
    authenticated: bool = True
    request_id: str | None = None
    scopes: Mapping[str, Roles] | None = None  # None: not narrowed; "*" scopes every namespace
    principal_id: int | None = None
    token_id: str | None = None

    def may(self, permission: Permission, namespace: str | None) -> bool:
        """Whether the actor holds ``permission`` in ``namespace``. ``None`` means in any one
        (for shared things such as blobs); ``EVERYWHERE`` means a global role is needed (for
        things above namespaces, such as creating one)."""
        key = namespace if namespace in (None, EVERYWHERE) else grant_key(namespace)
        if not _holds(permission, key, self.global_roles, self.roles):
            return False
        if self.scopes is None:
            return True
        return _holds(permission, key, self.scopes.get(EVERYWHERE, NO_ROLES), self.scopes)


def _holds(
    permission: Permission, key: str | None, everywhere: Roles, roles: Mapping[str, Roles]
) -> bool:
    held = set(everywhere)
    if key == EVERYWHERE:
        pass
    elif key is None:
        for ns, some in roles.items():
            if ns != EVERYWHERE:
                held |= some
    else:
        held |= roles.get(key, NO_ROLES)
    return permission in permissions(held)


def permissions(roles: Iterable[Role]) -> frozenset[Permission]:
    """What holding all of ``roles`` permits: the union of what each grants."""
    granted: frozenset[Permission] = frozenset()
    for role in roles:
        granted |= GRANTS[role]
    return granted


def grant_key(namespace: str) -> str:
    """The key roles are held under: the namespace's canonical key (an invalid name keeps its
    raw text, which no grant can hold, so the check fails closed)."""
    try:
        return canonical_key(normalize_name(namespace, kind="namespace"))
    except InvalidName:
        return namespace


EVERYWHERE = "*"  # not a valid namespace name, so it cannot clash with one
ANONYMOUS = Actor("anonymous", authenticated=False)
LOCAL_ADMIN = Actor("local-admin", global_roles=frozenset({Role.ADMIN}))
SYSTEM = Actor("cairn", global_roles=frozenset({Role.ADMIN}))


T = TypeVar("T")


def readable(actor: Actor, items: Iterable[T], namespace_of: Callable[[T], str]) -> list[T]:
    """The ``items`` the actor may read, deciding once per namespace: a page of search
    results holds many items and few namespaces."""
    decided: dict[str, bool] = {}
    kept = []
    for item in items:
        namespace = namespace_of(item)
        may = decided.get(namespace)
        if may is None:
            may = decided[namespace] = actor.may(Permission.READ, namespace)
        if may:
            kept.append(item)
    return kept


def authorize(actor: Actor, permission: Permission, namespace: str | None) -> None:
    if actor.may(permission, namespace):
        return
    where = {None: "", EVERYWHERE: " across the registry"}.get(
        namespace, f" in namespace {namespace!r}"
    )
    if not actor.authenticated:
        raise Unauthenticated(f"sign in to {permission.value}{where}", permission=permission.value)
    raise PermissionDenied(
        f"{actor.name} may not {permission.value}{where}",
        permission=permission.value,
        namespace=namespace,
    )
