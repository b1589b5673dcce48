"""The registry's records as plain values, returned by the services and drawn by the API."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from cairn.domain.cursors import encode_cursor
from cairn.domain.manifest import FileEntry

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Namespace:
    id: int
    name: str
    description: str
    required_fields: list[str] | None
    created_at: datetime
    require_signature: bool = False


@dataclass(frozen=True, slots=True)
class Model:
    id: int
    namespace: str
    name: str
    description: str
    card: str
    owner: str
    created_at: datetime
    updated_at: datetime
    latest_number: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    # The namespace's list of required metadata fields (None: the default list).
    required_fields: list[str] | None = None

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class Version:
    id: int
    namespace: str
    model: str
    number: int
    manifest_digest: str
    size: int
    file_count: int
    state: str
    description: str
    author: str
    provenance: dict[str, Any]
    schema: dict[str, Any]
    metrics: dict[str, float]
    params: dict[str, str]
    completeness: float
    missing_fields: list[str]
    created_at: datetime
    updated_at: datetime
    tags: dict[str, str] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    files: tuple[FileEntry, ...] | None = None
    validations: dict[str, str] | None = None  # status of the newest of each name, when read
    waivers: tuple[dict[str, Any], ...] | None = None  # the newest scan's waived findings, read

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.model}:{self.number}"


@dataclass(frozen=True, slots=True)
class AliasEvent:
    alias: str
    action: str
    number: int | None
    previous_number: int | None
    actor: str
    at: datetime


@dataclass(frozen=True, slots=True)
class UploadSession:
    id: str
    offset: int
    created_by: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    payload: dict[str, Any]
    request_id: str | None
    leaf_hash: str
    leaf_index: int | None  # None until the sequencer has placed it in the tree
    records: dict[str, Any] | None = None  # see ``domain.record_state``; None before it


@dataclass(frozen=True, slots=True)
class Checkpoint:
    size: int
    root: str  # hex
    key_id: str
    signature: str  # base64 Ed25519 over ``cairn.domain.audit.checkpoint_text``
    at: datetime


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None

    @classmethod
    def from_rows(cls, rows: list[T], size: int, key: Callable[[T], int | str]) -> Page[T]:
        """A page from ``rows`` fetched with one row too many: that extra row says whether a
        next page exists; the cursor holds the sort key of this page's last row."""
        items = rows[:size]
        more = len(rows) > size and bool(items)
        return cls(items, encode_cursor(key(items[-1])) if more else None)


@dataclass(frozen=True, slots=True)
class Principal:
    """A user or a service account, with its roles by namespace (or ``*`` for everywhere):
    a sorted list of role names for each namespace where it holds any."""

    id: int
    name: str
    kind: str  # user | service
    description: str
    disabled: bool
    roles: dict[str, list[str]]
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Token:
    """An API token as stored: never its secret, only the public id and the secret's hash."""

    id: int
    token_id: str
    principal: str
    name: str
    scopes: dict[str, list[str]]  # namespace or "*" -> the role names the token is limited to
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class NamespaceKey:
    """A public key a namespace trusts to sign its models."""

    name: str
    namespace: str
    public_key: str  # PEM
    fingerprint: str  # "sha256:<hex of the DER SubjectPublicKeyInfo>"
    added_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Validation:
    """One result about a version (signature, scan, a CI check); the newest of a name counts."""

    id: int
    name: str
    status: str
    details: dict[str, Any]
    created_by: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class PolicyRevision:
    namespace: str
    model: str | None  # None: the namespace's policy
    revision: int
    document: dict[str, Any]
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Approval:
    approver: str
    decision: str  # approve | reject
    comment: str
    manifest_digest: str
    target: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    id: int
    ref: str
    target: str
    manifest_digest: str
    requested_by: str
    reason: str
    status: str  # open | completed | rejected | expired
    created_at: datetime
    expires_at: datetime
    closed_at: datetime | None
    approvals: tuple[Approval, ...] = ()


@dataclass(frozen=True, slots=True)
class Deployment:
    id: int
    ref: str
    target: str
    strategy: str
    weight: float
    outcome: str
    load_time_ms: float | None
    alias: str | None
    rollback_of: int | None
    time_to_rollback_ms: float | None
    details: dict[str, Any]
    recorded_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Webhook:
    id: int
    namespace: str  # or "*": every namespace
    url: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    consecutive_failures: int
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    at: datetime
    status: int | None
    error: str | None
    duration_ms: float


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    webhook_id: int
    event_id: int
    event_type: str
    subject: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    log: tuple[DeliveryAttempt, ...] = ()


@dataclass(frozen=True, slots=True)
class OciManifest:
    """An OCI manifest as stored: its exact bytes and what the registry needs to know of it."""

    id: int
    model_id: int
    digest: str
    media_type: str
    artifact_type: str | None
    subject: str | None
    annotations: dict[str, str]
    content: bytes
    version_id: int | None
    role: str | None

    @property
    def size(self) -> int:
        return len(self.content)
