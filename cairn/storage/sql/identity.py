"""Rows of principals (users, service accounts), their role grants, and their API tokens."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from cairn.domain.records import Principal, Token
from cairn.storage.sql.rows import insert_new
from cairn.storage.sql.tables import principals, role_grants, tokens

# What authenticating a request needs, in one round trip: the token, its principal, and the
# principal's grants (one row per grant; NULLs when it holds none).
_TOKEN_BY_ID = (
    select(
        tokens,
        principals.c.name.label("principal_name"),
        principals.c.disabled,
        role_grants.c.namespace.label("grant_namespace"),
        role_grants.c.role.label("grant_role"),
    )
    .select_from(
        tokens.join(principals, principals.c.id == tokens.c.principal_id).outerjoin(
            role_grants, role_grants.c.principal_id == principals.c.id
        )
    )
    .where(tokens.c.token_id == bindparam("token_id"))
)
_GRANTS_OF = (
    select(role_grants.c.namespace, role_grants.c.role)
    .where(role_grants.c.principal_id == bindparam("principal_id"))
    .order_by(role_grants.c.namespace, role_grants.c.role)
)


@dataclass(frozen=True, slots=True)
class TokenCheck:
    token: Token
    secret_hash: str
    principal_disabled: bool
    principal_id: int
    grants: dict[str, list[str]]


class IdentityRows:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # ------------------------------------------------------------------ principals
    def add_principal(self, values: dict[str, Any]) -> int:
        query = insert(principals).values(**values).returning(principals.c.id)
        return int(self.conn.execute(query).scalar_one())

    def principal(self, key: str, *, hold: bool = False) -> Principal | None:
        """The principal and its grants; ``hold`` keeps other writers of its row waiting
        until this transaction ends (FOR NO KEY UPDATE on PostgreSQL), so the grants read next
        include every change committed before."""
        query = select(principals).where(principals.c.key == key)
        if hold:
            query = query.with_for_update(key_share=True)
        found = self.conn.execute(query).mappings().first()
        return self._principal(found) if found else None

    def principal_by_id(self, principal_id: int) -> Principal | None:
        query = select(principals).where(principals.c.id == principal_id)
        found = self.conn.execute(query).mappings().first()
        return self._principal(found) if found else None

    def principals(self, kind: str | None) -> list[Principal]:
        query = select(principals).order_by(principals.c.key)
        if kind is not None:
            query = query.where(principals.c.kind == kind)
        return [self._principal(r) for r in self.conn.execute(query).mappings().all()]

    def count_principals(self) -> int:
        return len(self.conn.execute(select(principals.c.id).limit(1)).all())

    def set_disabled(self, principal_id: int, disabled: bool) -> None:
        query = update(principals).where(principals.c.id == principal_id)
        self.conn.execute(query.values(disabled=disabled))

    def grants(self, principal_id: int) -> dict[str, list[str]]:
        """The principal's roles by namespace, each list sorted."""
        rows = self.conn.execute(_GRANTS_OF, {"principal_id": principal_id}).all()
        return _by_namespace(rows)

    def grant(self, principal_id: int, namespace: str, role: str) -> bool:
        """Add ``role`` to the principal's roles in ``namespace``; whether it was not held."""
        values = {"principal_id": principal_id, "namespace": namespace, "role": role}
        keys = ["principal_id", "namespace", "role"]
        return insert_new(self.conn, role_grants, values, keys) is not None

    def holders(self, namespace: str, role: str) -> set[int]:
        """The enabled principals holding ``role`` in ``namespace``, their grant and principal
        rows locked until this transaction ends (PostgreSQL; SQLite has one writer), so two
        concurrent changes cannot each count the other as the one that stays."""
        query = (
            select(role_grants.c.principal_id)
            .join(principals, principals.c.id == role_grants.c.principal_id)
            .where(
                role_grants.c.namespace == namespace,
                role_grants.c.role == role,
                principals.c.disabled.is_(False),
            )
            .with_for_update()
        )
        return set(self.conn.execute(query).scalars())

    def ungrant(self, principal_id: int, namespace: str, role: str) -> bool:
        """Take ``role`` out of the principal's roles in ``namespace``; whether it was held."""
        query = delete(role_grants).where(
            role_grants.c.principal_id == principal_id,
            role_grants.c.namespace == namespace,
            role_grants.c.role == role,
        )
        return bool(self.conn.execute(query).rowcount)

    def _principal(self, r: Any) -> Principal:
        return Principal(
            id=r["id"],
            name=r["name"],
            kind=r["kind"],
            description=r["description"],
            disabled=r["disabled"],
            roles=self.grants(r["id"]),
            created_by=r["created_by"],
            created_at=r["created_at"],
        )

    # ------------------------------------------------------------------ tokens
    def add_token(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(tokens).values(**values))

    def token_for_check(self, token_id: str) -> TokenCheck | None:
        """The token with this public id, with what deciding on it needs."""
        rows = self.conn.execute(_TOKEN_BY_ID, {"token_id": token_id}).mappings().all()
        if not rows:
            return None
        first = rows[0]
        grants = _by_namespace(
            (r["grant_namespace"], r["grant_role"]) for r in rows if r["grant_namespace"]
        )
        return TokenCheck(
            _token(first), first["secret_hash"], first["disabled"], first["principal_id"], grants
        )

    def tokens(self, principal_id: int | None, token_id: str | None = None) -> list[Token]:
        """Tokens, oldest first: a principal's, or everyone's; ``token_id``: that one only."""
        query = select(tokens, principals.c.name.label("principal_name")).select_from(
            tokens.join(principals, principals.c.id == tokens.c.principal_id)
        )
        if principal_id is not None:
            query = query.where(tokens.c.principal_id == principal_id)
        if token_id is not None:
            query = query.where(tokens.c.token_id == token_id)
        query = query.order_by(tokens.c.id)
        return [_token(r) for r in self.conn.execute(query).mappings().all()]

    def revoke(self, token_id: str, at: datetime) -> bool:
        query = update(tokens).where(tokens.c.token_id == token_id, tokens.c.revoked_at.is_(None))
        return bool(self.conn.execute(query.values(revoked_at=at)).rowcount)

    def revoke_all_of(self, principal_id: int, at: datetime) -> int:
        query = update(tokens).where(
            tokens.c.principal_id == principal_id, tokens.c.revoked_at.is_(None)
        )
        return int(self.conn.execute(query.values(revoked_at=at)).rowcount)

    def touch(self, token_id: str, at: datetime) -> None:
        query = update(tokens).where(tokens.c.token_id == token_id)
        self.conn.execute(query.values(last_used_at=at))


def _by_namespace(rows: Iterable[Any]) -> dict[str, list[str]]:
    held: dict[str, list[str]] = {}
    for namespace, role in rows:
        held.setdefault(namespace, []).append(role)
    return {ns: sorted(set(roles)) for ns, roles in sorted(held.items())}


def _token(r: Any) -> Token:
    # Scopes written before roles were sets map a namespace to one role name.
    scopes = {ns: [roles] if isinstance(roles, str) else roles for ns, roles in r["scopes"].items()}
    return Token(
        id=r["id"],
        token_id=r["token_id"],
        principal=r["principal_name"],
        name=r["name"],
        scopes=scopes,
        created_by=r["created_by"],
        created_at=r["created_at"],
        expires_at=r["expires_at"],
        last_used_at=r["last_used_at"],
        revoked_at=r["revoked_at"],
    )
