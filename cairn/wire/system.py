"""The server's own state: liveness, readiness, and which server it is."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cairn.wire.base import Record


class Health(Record):
    status: Literal["ok"]


class Readiness(Record):
    status: Literal["ready"]


class ServerIdentity(Record):
    id: str = Field(description="The server's public id, derived from its data folder's key.")
    proof: str | None = Field(
        description="Given a challenge: the proof that the server holds its key, bound to the "
        "address the connection came in on; null without a challenge or a local address."
    )
