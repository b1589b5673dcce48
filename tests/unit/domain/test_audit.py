"""The audit log's leaves, byte for byte, against values written out by hand from RFC 8785
(canonical JSON) and RFC 9162 (leaf = SHA-256(0x00 || bytes))."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cairn.domain.audit import (
    checkpoint_signed,
    checkpoint_text,
    entry_document,
    entry_leaf_hash,
    entry_namespace,
    leaf_bytes,
)

AT = datetime(2026, 11, 26, 7, 30, 1, 5, tzinfo=UTC)


def _document(**payload: object) -> dict[str, object]:
    return entry_document(
        at=AT,
        actor="admin",
        action="version.register",
        subject="risk/fraud:3",
        payload=dict(payload),
        request_id=None,
    )


def test_an_entry_becomes_canonical_json_with_sorted_keys_and_no_spaces() -> None:
    document = _document(size=10, files=2, completeness=0.5, name="é")
    expected = (
        '{"action":"version.register","actor":"admin","at":"2026-11-26T07:30:01.000005Z",'
        '"payload":{"completeness":0.5,"files":2,"name":"é","size":10},'
        '"request_id":null,"subject":"risk/fraud:3"}'
    ).encode()
    assert leaf_bytes(document) == expected
    assert entry_leaf_hash(document) == hashlib.sha256(b"\x00" + expected).hexdigest()


def test_the_time_is_written_in_utc_to_the_microsecond_whatever_its_zone() -> None:
    east = AT.astimezone(timezone(timedelta(hours=5, minutes=30)))
    same = entry_document(
        at=east, actor="admin", action="a", subject="s", payload={}, request_id="r"
    )
    assert same["at"] == "2026-11-26T07:30:01.000005Z"


def test_numbers_follow_rfc_8785() -> None:
    assert leaf_bytes({"n": [1.0, 1e21, 0.1, -0.0, 123456789012]}) == (
        b'{"n":[1,1e+21,0.1,0,123456789012]}'
    )


def test_checkpoint_signatures_verify_only_for_their_size_root_and_key() -> None:
    key = Ed25519PrivateKey.generate()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    root = "ab" * 32
    signature = base64.b64encode(key.sign(checkpoint_text(7, root))).decode()
    assert checkpoint_text(7, root) == f"cairn audit log v1\n7\n{root}\n".encode()
    assert checkpoint_signed(public, 7, root, signature)
    assert not checkpoint_signed(public, 8, root, signature)
    assert not checkpoint_signed(public, 7, "cd" * 32, signature)
    other = Ed25519PrivateKey.generate().public_key()
    other_pem = other.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    assert not checkpoint_signed(other_pem, 7, root, signature)
    for garbage in ["", "not base64!", signature[:-4]]:
        assert not checkpoint_signed(public, 7, root, garbage)
    assert not checkpoint_signed("not a key", 7, root, signature)


@pytest.mark.parametrize(
    ("action", "subject", "written_in", "expected"),
    [
        ("version.register", "risk/fraud:3", "risk", "risk"),
        ("alias.set", "Risk_Team/fraud@production", None, "risk-team"),
        ("oci.push", "risk/fraud@sha256:" + "0" * 64, "risk", "risk"),
        ("policy.set", "risk/fraud", "risk", "risk"),
        ("key.add", "risk", "risk", "risk"),
        ("namespace.update", "risk", "risk", "risk"),
        ("validation.scan", "risk/fraud:3", None, "risk"),  # written by Cairn's own worker
        ("mlflow.run.create", "0a1b2c", "default", "default"),
        ("namespace.create", "risk", None, None),
        ("role.grant", "principal/ana", "risk", None),
        ("token.create", "principal/ana", None, None),
        ("principal.create", "principal/ana", None, None),
        ("webhook.add", "webhook/3", "risk", None),
        ("gc.sweep", "blobs", None, None),
        ("upload.purge", "uploads", None, None),
        ("audit.key.rotate", "audit", None, None),
        ("version.register", "-bad/m:1", "risk", None),
    ],
)
def test_each_entry_belongs_to_the_namespace_its_subject_starts_with(
    action: str, subject: str, written_in: str | None, expected: str | None
) -> None:
    assert entry_namespace(action, subject, written_in) == expected
