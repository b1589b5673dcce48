"""Rotating the Ed25519 key that signs the audit log's checkpoints, as the log itself records it.

A rotation is an entry of the log (action ``audit.key.rotate``) naming the new public key and
the key it replaces, with the replaced key's signature over both: the *endorsement*. The
checkpoint that first covers the entry, of size ``index + 1``, is signed by the replaced key
(the *handover*); every larger one by the new key. So a verifier that trusts one key of the
chain comes to trust the next only because the key it trusts said so, twice (endorsement and
handover), and refuses a checkpoint signed by a key that no rotation announced.

A key is named by its id, ``ed25519:`` and the first 32 hex digits of the SHA-256 of its raw
public key, which anyone can recompute from the key: ids in the log are checked, not trusted.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ROTATE_ACTION = "audit.key.rotate"
ROTATION_ORIGIN = "cairn audit key rotation v1"


def key_id_of(public_pem: str) -> str:
    """The id of an Ed25519 public key (PEM); ``ValueError`` if it is not one."""
    key = serialization.load_pem_public_key(public_pem.encode("ascii"))
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:32]


def rotation_text(previous_key_id: str, key_id: str, public_pem: str) -> bytes:
    """The bytes an endorsement signs: the replaced key hands over to this one."""
    return f"{ROTATION_ORIGIN}\n{previous_key_id}\n{key_id}\n{public_pem.strip()}\n".encode()


def ed25519_signed(public_pem: str, message: bytes, signature_b64: str) -> bool:
    """Whether ``signature_b64`` is ``public_pem``'s signature of ``message``; False for any
    malformed input."""
    try:
        key = serialization.load_pem_public_key(public_pem.encode("ascii"))
        if not isinstance(key, Ed25519PublicKey):
            return False
        key.verify(base64.b64decode(signature_b64, validate=True), message)
    except (ValueError, TypeError, InvalidSignature, UnicodeEncodeError):
        return False
    return True


@dataclass(frozen=True, slots=True)
class Rotation:
    """One ``audit.key.rotate`` entry: at leaf ``index``, ``previous`` hands over to ``key``."""

    index: int
    previous_key_id: str
    previous_public_key: str
    key_id: str
    public_key: str
    endorsement: str

    def payload(self) -> dict[str, str]:
        return {
            "previous_key_id": self.previous_key_id,
            "previous_public_key": self.previous_public_key,
            "key_id": self.key_id,
            "public_key": self.public_key,
            "endorsement": self.endorsement,
        }

    @classmethod
    def from_entry(cls, index: int, payload: Mapping[str, Any]) -> Rotation:
        """``ValueError`` if the payload lacks a field."""
        fields = ("previous_key_id", "previous_public_key", "key_id", "public_key", "endorsement")
        values = [payload.get(name) for name in fields]
        strings = [v for v in values if isinstance(v, str)]
        if len(strings) != len(fields):
            raise ValueError(f"the key rotation at entry {index} lacks a field")
        return cls(index, *strings)

    def problems(self) -> list[str]:
        """What is wrong with the rotation taken alone: ids that are not the keys' own, or an
        endorsement the replaced key did not make."""
        found = []
        for pem, named in (
            (self.previous_public_key, self.previous_key_id),
            (self.public_key, self.key_id),
        ):
            try:
                actual = key_id_of(pem)
            except ValueError:
                actual = None
            if actual != named:
                found.append(
                    f"the key rotation at entry {self.index} names {named} for a key "
                    f"whose id is {actual or 'not an Ed25519 key'}"
                )
        text = rotation_text(self.previous_key_id, self.key_id, self.public_key)
        if not found and not ed25519_signed(self.previous_public_key, text, self.endorsement):
            found.append(
                f"the key rotation at entry {self.index} is not endorsed by "
                f"{self.previous_key_id}, the key it replaces"
            )
        return found


def key_in_force(first_key_id: str, rotations: Iterable[Rotation], size: int) -> str:
    """The key that signs the checkpoint of ``size``: ``first_key_id``, replaced by each rotation
    (in log order, none below the size it starts from) whose entry is below ``size - 1``; the
    checkpoint of size ``index + 1`` is the handover, still signed by the replaced key."""
    key = first_key_id
    for rotation in rotations:
        if rotation.index + 1 < size:
            key = rotation.key_id
    return key
