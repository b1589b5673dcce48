"""What an audit entry is, byte for byte, when it becomes a leaf of the log's Merkle tree.

A leaf is the RFC 8785 canonical JSON of the entry's document (its time with microseconds in
UTC, actor, action, subject, payload and request id, and the digests of the records the
mutation left behind, see ``record_state``), so anyone holding the entries can
recompute every leaf hash and, from them, every root the server signed. The entry's database
id is not part of it: the leaf's place in the tree is its index.

Checkpoints are signed over a short text that names the log, the size and the root, so a
signature can never be mistaken for one over something else.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from cairn.domain.merkle import leaf_hash
from cairn.domain.names import canonical_key, normalize_name
from cairn.errors import InvalidName

CHECKPOINT_ORIGIN = "cairn audit log v1"
# Entries about what stands above namespaces: who may act (principals, tokens, roles), where
# events go (webhooks), the log's own keys, and housekeeping across every namespace.
GLOBAL_FAMILIES = frozenset(
    {"principal", "token", "role", "webhook", "gc", "upload", "audit", "session"}
)
_SUBJECT_HEAD = re.compile(r"[^/:@]+")


def entry_namespace(action: str, subject: str, written_in: str | None) -> str | None:
    """The namespace (its key) an audit entry belongs to, whose readers may read it; None for
    an entry above namespaces (principals, tokens, roles, webhooks, housekeeping, a namespace's
    creation), which global admins alone read. MLflow's tracking entries name runs and
    experiments and belong to ``written_in``, the namespace their change was authorised in;
    every other entry's subject starts with its namespace (``risk/fraud:3``, ``risk``).
    Migration 0016 holds a copy of this rule for the entries written before it."""
    family = action.partition(".")[0]
    if family in GLOBAL_FAMILIES or action == "namespace.create":
        return None
    if family == "mlflow":
        return written_in
    head = _SUBJECT_HEAD.match(subject)
    if head is None:
        return None
    try:
        return canonical_key(normalize_name(head.group(), kind="namespace"))
    except InvalidName:
        return None


def entry_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_document(
    *,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    payload: dict[str, Any],
    request_id: str | None,
    records: dict[str, Any] | None = None,
) -> dict[str, Any]:
    document = {
        "at": entry_time(at),
        "actor": actor,
        "action": action,
        "subject": subject,
        "payload": payload,
        "request_id": request_id,
    }
    # Entries written before records were committed to have none: their leaves stay as hashed.
    if records is not None:
        document["records"] = records
    return document


def leaf_bytes(document: dict[str, Any]) -> bytes:
    return rfc8785.dumps(document)


def entry_leaf_hash(document: dict[str, Any]) -> str:
    """The hex Merkle leaf hash of an entry's document."""
    return str(leaf_hash(leaf_bytes(document)).hex())


def checkpoint_text(size: int, root_hex: str) -> bytes:
    """The bytes a checkpoint's signature covers."""
    return f"{CHECKPOINT_ORIGIN}\n{size}\n{root_hex}\n".encode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def checkpoint_signed(public_pem: str, size: int, root_hex: str, signature_b64: str) -> bool:
    """Whether ``signature_b64`` is the Ed25519 signature of ``public_pem``'s key over the
    checkpoint (size, root). False for any malformed input."""
    try:
        key = serialization.load_pem_public_key(public_pem.encode("ascii"))
        if not isinstance(key, Ed25519PublicKey):
            return False
        key.verify(base64.b64decode(signature_b64, validate=True), checkpoint_text(size, root_hex))
    except (ValueError, TypeError, InvalidSignature, UnicodeEncodeError):
        return False
    return True
