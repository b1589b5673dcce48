"""Key rotations as the log records them: which key signs which checkpoint, and which
announcements a verifier refuses."""

from __future__ import annotations

from dataclasses import replace

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cairn.domain.audit import b64
from cairn.domain.audit_keys import Rotation, key_id_of, key_in_force, rotation_text


def _pem(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _rotation(index: int, old: Ed25519PrivateKey, new: Ed25519PrivateKey) -> Rotation:
    old_id, new_id = key_id_of(_pem(old)), key_id_of(_pem(new))
    endorsement = b64(old.sign(rotation_text(old_id, new_id, _pem(new))))
    return Rotation(index, old_id, _pem(old), new_id, _pem(new), endorsement)


def test_the_handover_checkpoint_is_the_old_keys_last() -> None:
    a, b, c = (Ed25519PrivateKey.generate() for _ in range(3))
    rotations = [_rotation(4, a, b), _rotation(9, b, c)]
    first = key_id_of(_pem(a))
    signers = [key_in_force(first, rotations, size) for size in range(1, 13)]
    ids = {key_id_of(_pem(k)): name for k, name in ((a, "a"), (b, "b"), (c, "c"))}
    # Entry 4 announces b: checkpoint 5 (which first covers it) is a's last; entry 9, c.
    assert [ids[s] for s in signers] == ["a"] * 5 + ["b"] * 5 + ["c"] * 2


def test_a_sound_rotation_has_no_problems() -> None:
    assert _rotation(3, Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()).problems() == []


def test_an_endorsement_by_another_key_is_refused() -> None:
    old, new, mallory = (Ed25519PrivateKey.generate() for _ in range(3))
    forged = _rotation(3, mallory, new)
    claimed = replace(forged, previous_key_id=key_id_of(_pem(old)), previous_public_key=_pem(old))
    assert claimed.problems() == [
        f"the key rotation at entry 3 is not endorsed by {key_id_of(_pem(old))}, the key it "
        "replaces"
    ]


def test_an_id_that_is_not_the_keys_own_is_refused() -> None:
    rotation = _rotation(3, Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate())
    renamed = replace(rotation, key_id="ed25519:" + "0" * 32)
    assert renamed.problems()[0].startswith("the key rotation at entry 3 names ed25519:000")
