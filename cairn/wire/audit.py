"""The verifiable audit log: entries, signed checkpoints, proofs and the keys that sign.

Clients check entries and checkpoints offline (``cairn audit verify``), so their JSON is the
bytes the server hashed and signed: an entry's ``at`` is the exact text its leaf hashed, not a
time the writer may format again."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Self

from pydantic import Field

from cairn.domain import records as domain  # `records` is also an entry's field
from cairn.domain.audit import checkpoint_text, entry_time
from cairn.domain.audit_keys import Rotation
from cairn.wire.base import Record


class AuditEntry(Record):
    index: int | None = Field(description="The entry's leaf in the log (placed entries only).")
    at: str = Field(
        description="When, in UTC to the microsecond, exactly as the leaf hashed it.",
        examples=["2026-01-31T12:00:00.000000Z"],
    )
    actor: str
    action: str = Field(examples=["version.register"])
    subject: str = Field(examples=["risk/fraud/3"])
    payload: dict[str, Any]
    request_id: str | None
    records: dict[str, Any] | None = Field(
        description="What the records the action touched held, as the leaf hashed it (checked "
        "by `cairn audit verify --records`); null on entries written before it was kept."
    )
    leaf_hash: str = Field(description="hex SHA-256 of the leaf, as RFC 6962 hashes it.")

    @classmethod
    def of(cls, e: domain.AuditEntry) -> AuditEntry:
        return cls(
            index=e.leaf_index,
            at=entry_time(e.at),
            actor=e.actor,
            action=e.action,
            subject=e.subject,
            payload=e.payload,
            request_id=e.request_id,
            records=e.records,
            leaf_hash=e.leaf_hash,
        )


class Checkpoint(Record):
    """A signed statement of the log's size and root: every entry below ``size`` is in it."""

    size: int
    root: str = Field(description="hex Merkle root of the first ``size`` leaves.")
    key_id: str
    signature: str = Field(description="base64 Ed25519 signature over ``signed_text``.")
    signed_text: str
    at: datetime

    @classmethod
    def of(cls, c: domain.Checkpoint) -> Checkpoint:
        return cls(
            size=c.size,
            root=c.root,
            key_id=c.key_id,
            signature=c.signature,
            signed_text=checkpoint_text(c.size, c.root).decode(),
            at=c.at,
        )


class SigningKey(Record):
    key_id: str
    public_key: str | None = Field(
        description="PEM; null when this server does not hold the key's public half."
    )

    @classmethod
    def of(cls, item: Mapping[str, str | int | None]) -> Self:
        """From an item of the services' key chain (``AuditService.key_chain``)."""
        return cls.model_validate(item)


class ChainKey(SigningKey):
    """A key that has signed checkpoints; each after the first was announced by a rotation."""

    previous_key_id: str | None
    index: int | None = Field(description="The leaf of the rotation entry that announced it.")
    endorsement: str | None = Field(
        description="base64 signature of the handover by the previous key."
    )


class KeyRotation(Record):
    """A rotation of the checkpoint key, as announced in the log at leaf ``index``."""

    index: int
    previous_key_id: str
    previous_public_key: str
    key_id: str
    public_key: str
    endorsement: str

    @classmethod
    def of(cls, r: Rotation) -> KeyRotation:
        return cls(
            index=r.index,
            previous_key_id=r.previous_key_id,
            previous_public_key=r.previous_public_key,
            key_id=r.key_id,
            public_key=r.public_key,
            endorsement=r.endorsement,
        )


class InclusionProof(Record):
    index: int
    size: int
    leaf_hash: str
    proof: list[str] = Field(description="hex hashes, leaf to root (RFC 6962).")


class ConsistencyProof(Record):
    old_size: int
    new_size: int
    proof: list[str] = Field(description="hex hashes (RFC 6962).")
