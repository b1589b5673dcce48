"""Principals (users and service accounts) with their roles, API tokens, and the caller."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from cairn.domain import records
from cairn.wire.base import Name, Record, Request

Roles = dict[str, list[str]]


class Principal(Record):
    name: str
    kind: str = Field(description="`user` or `service`.")
    description: str
    disabled: bool = Field(description="A disabled principal's tokens do not work.")
    roles: Roles = Field(
        description="Namespace (or `*`: every namespace) → the sorted names of the roles held "
        "there; a namespace where it holds none is not listed."
    )
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, p: records.Principal) -> Principal:
        return cls(
            name=p.name,
            kind=p.kind,
            description=p.description,
            disabled=p.disabled,
            roles=p.roles,
            created_by=p.created_by,
            created_at=p.created_at,
        )


class NewPrincipal(Request):
    name: Name = Field(examples=["ci-bot"])
    kind: Literal["user", "service"] = Field("user", examples=["service"])
    description: str = Field("", examples=["Registers the nightly models."])


class PrincipalUpdate(Request):
    disabled: bool = Field(description="true: its tokens stop working at once.")


class RoleList(Request):
    roles: list[str] = Field(
        description="Exactly the roles to hold (none: hold none).", examples=[["reader"]]
    )

    def wanted(self) -> list[str]:
        return self.roles


class OneRole(Request):
    role: str = Field(description="The one role to hold.", examples=["writer"])

    def wanted(self) -> list[str]:
        return [self.role]


class Token(Record):
    """A token as stored: its public id and facts, never its secret."""

    token_id: str
    principal: str
    name: str
    scopes: Roles = Field(
        description="Namespace (or `*`) → the roles the token is limited to there; empty: "
        "not narrowed, the principal's roles apply."
    )
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, t: records.Token) -> Token:
        return cls(
            token_id=t.token_id,
            principal=t.principal,
            name=t.name,
            scopes=t.scopes,
            created_by=t.created_by,
            created_at=t.created_at,
            expires_at=t.expires_at,
            last_used_at=t.last_used_at,
            revoked_at=t.revoked_at,
        )


class NewToken(Request):
    name: str = Field(min_length=1, max_length=100, examples=["laptop"])
    scopes: dict[str, str | list[str]] | None = Field(
        None,
        description="Namespace (or `*`) → a role or a list of roles the token is limited to; "
        "each must lie within the principal's roles. Absent: the principal's roles.",
        examples=[{"risk": "writer", "*": ["reader"]}],
    )
    days: int | None = Field(
        None, description="Its lifetime in days; absent: the server's default.", examples=[30]
    )
    principal: str | None = Field(
        None, description="Whose token it is (global admins); absent: the caller's own."
    )


class IssuedToken(Record):
    """A new token and its secret: the secret is in this answer and nowhere else, ever."""

    token: Token
    secret: str = Field(description="The bearer token to send (`cairn_…`).")

    @classmethod
    def of(cls, token: records.Token, secret: str) -> IssuedToken:
        return cls(token=Token.of(token), secret=secret)


class Caller(Record):
    """Who the request's token speaks for, and what it may do."""

    name: str
    roles: Roles = Field(description="Namespace (or `*`) → the roles the principal holds.")
    token_id: str | None = Field(description="The token the request came with.")
    scopes: Roles | None = Field(
        description="Namespace (or `*`) → the roles the token is limited to; null: not narrowed."
    )
