"""Namespaces and the keys they trust."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from cairn.domain import records
from cairn.errors import InvalidMetadata
from cairn.wire.base import Name, Record, Refused, Request


class Namespace(Record):
    name: str
    description: str
    required_fields: list[str] | None = Field(
        description="Dotted metadata fields every version must carry to count as complete."
    )
    require_signature: bool = Field(
        description="Versions whose signature does not verify against the namespace's keys "
        "are refused."
    )
    created_at: datetime

    @classmethod
    def of(cls, ns: records.Namespace) -> Namespace:
        return cls(
            name=ns.name,
            description=ns.description,
            required_fields=ns.required_fields,
            require_signature=ns.require_signature,
            created_at=ns.created_at,
        )


class NewNamespace(Request):
    name: Name = Field(examples=["risk"])
    description: str = ""


class RequiredFields(Request):
    required_fields: Annotated[list[str], Refused(InvalidMetadata)] = Field(
        examples=[["provenance.code.commit", "metrics.auc"]]
    )


class RequireSignature(Request):
    require_signature: bool


class NamespaceKey(Record):
    name: str
    namespace: str
    public_key: str = Field(description="PEM")
    fingerprint: str = Field(description="sha256 of the key's DER SubjectPublicKeyInfo.")
    added_by: str
    created_at: datetime

    @classmethod
    def of(cls, k: records.NamespaceKey) -> NamespaceKey:
        return cls(
            name=k.name,
            namespace=k.namespace,
            public_key=k.public_key,
            fingerprint=k.fingerprint,
            added_by=k.added_by,
            created_at=k.created_at,
        )


class NewKey(Request):
    """A public key (ECDSA P-256/384/521, PEM) to trust for the namespace's signatures."""

    name: Name
    public_key: str
