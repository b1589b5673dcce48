"""Aliases: named, movable pointers from a model to one of its versions, and their history."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from cairn.domain import records
from cairn.wire.base import Record, Request


class Aliases(Record):
    aliases: dict[str, int] = Field(
        description="Each alias of the model and the number of the version it names.",
        examples=[{"production": 7, "staging": 8}],
    )


class AliasMove(Record):
    """One move of an alias, as the history keeps it."""

    alias: str
    action: str = Field(description="``set``, ``move``, ``rollback`` or ``remove``.")
    version: int | None = Field(description="The version named after the move; null: removed.")
    previous: int | None = Field(description="The version named before; null: none.")
    actor: str
    at: datetime

    @classmethod
    def of(cls, e: records.AliasEvent) -> AliasMove:
        return cls(
            alias=e.alias,
            action=e.action,
            version=e.number,
            previous=e.previous_number,
            actor=e.actor,
            at=e.at,
        )


class AliasTarget(Request):
    """The version an alias is to name. A blocked version is refused (409
    ``version_blocked``) unless an admin of the namespace gives a reason to override."""

    version: int = Field(ge=1, examples=[7])
    override: str | None = Field(
        None,
        description="An admin's reason to name a blocked version anyway (audited).",
        examples=["hotfix approved in INC-2041"],
    )
