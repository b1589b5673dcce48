"""The SDK signs folders in the OpenSSF model-signing format, and the two tools agree.

Signatures made by ``sign_folder`` pass ``model_signing verify key``; signatures made by
``model_signing sign key`` pass Cairn's verifier; either passes the server's check from the
manifest digests alone.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from cairn.client.signing import SIGNATURE_FILE, public_key_pem, sign_folder, verify_folder
from cairn.domain.signatures import SignatureFailure, verify_signature
from cairn.errors import InvalidInput

F = SignatureFailure
MODEL_SIGNING = Path(sys.executable).parent / "model_signing"
FILES = {
    "config.json": b'{"layers": 2}',
    "weights/layer-1.safetensors": os.urandom(3000),
    "weights/layer-2.safetensors": os.urandom(3000),
    "tokenizer/vocab.txt": b"a\nb\n",
}


def write_key(path: Path, key: PrivateKeyTypes, password: bytes | None = None) -> Path:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    return path


def public_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def fingerprint(key: ec.EllipticCurvePrivateKey) -> str:
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return f"sha256:{hashlib.sha256(der).hexdigest()}"


def manifest_of(folder: Path) -> dict[str, tuple[int, str]]:
    """What the server holds for a pushed folder: every file's size and sha256."""
    found = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
        found[path.relative_to(folder).as_posix()] = (len(data), digest)
    return found


def model_signing(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MODEL_SIGNING), *map(str, args)], capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def model(tmp_path: Path) -> Path:
    folder = tmp_path / "fraud"
    for name, data in FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


@pytest.fixture(params=[ec.SECP256R1(), ec.SECP384R1()], ids=["P-256", "P-384"])
def key(request: pytest.FixtureRequest) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(request.param)


@pytest.fixture
def key_file(tmp_path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    return write_key(tmp_path / "signing-key.pem", key)


# --- the two tools agree ----------------------------------------------------------------------


def test_a_folder_signed_by_the_sdk_verifies_on_the_server_from_the_manifest(
    model: Path, key: ec.EllipticCurvePrivateKey, key_file: Path
) -> None:
    before = manifest_of(model)
    signature = sign_folder(model, key_file)
    assert manifest_of(model) == before  # nothing was written into the folder
    result = verify_signature(signature, [public_pem(key)], before)
    assert result.verified, result.message
    assert (result.signer, result.unsigned) == (fingerprint(key), ())


def test_a_folder_signed_by_the_model_signing_command_verifies_with_cairn(
    model: Path, key: ec.EllipticCurvePrivateKey, key_file: Path
) -> None:
    done = model_signing(
        "sign", "key", model, "--private_key", key_file, "--signature", model / SIGNATURE_FILE
    )
    assert done.returncode == 0, done.stderr
    signature = (model / SIGNATURE_FILE).read_bytes()

    on_server = verify_signature(signature, [public_pem(key)], manifest_of(model))
    assert on_server.verified, on_server.message
    assert on_server.unsigned == (SIGNATURE_FILE,)
    on_client = verify_folder(model, signature, [public_pem(key)])
    assert (on_client.verified, on_client.signer) == (True, fingerprint(key))


def test_a_folder_signed_by_the_sdk_verifies_with_the_model_signing_command(
    model: Path, key: ec.EllipticCurvePrivateKey, key_file: Path, tmp_path: Path
) -> None:
    sign_folder(model, key_file, write=True)
    public = tmp_path / "signing-key.pub"
    public.write_bytes(public_key_pem(key_file))
    assert public.read_bytes() == public_pem(key)

    verify = ("verify", "key", model, "--signature", model / SIGNATURE_FILE, "--public_key", public)
    done = model_signing(*verify)
    assert done.returncode == 0, done.stderr
    assert "Verification succeeded" in done.stdout

    (model / "config.json").write_bytes(b'{"layers": 3}')  # the command does look at the bytes
    done = model_signing(*verify)
    assert done.returncode == 1
    assert "config.json" in done.stderr


def test_a_signature_written_into_the_folder_leaves_itself_out(
    model: Path, key: ec.EllipticCurvePrivateKey, key_file: Path
) -> None:
    signature = sign_folder(model, key_file, write=True)
    assert (model / SIGNATURE_FILE).read_bytes() == signature
    assert sorted(p.name for p in model.iterdir()) == sorted(
        ["config.json", "weights", "tokenizer", SIGNATURE_FILE]
    )
    again = sign_folder(model, key_file)  # the old signature is not signed over
    result = verify_signature(again, [public_pem(key)], manifest_of(model))
    assert result.verified and result.unsigned == (SIGNATURE_FILE,)


def test_git_files_are_left_out_as_model_signing_does(
    model: Path, key: ec.EllipticCurvePrivateKey, key_file: Path
) -> None:
    (model / ".git").mkdir()
    (model / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (model / ".gitattributes").write_text("*.safetensors filter=lfs\n")
    signature = sign_folder(model, key_file)
    (model / ".git" / "HEAD").write_text("ref: refs/heads/other\n")
    result = verify_folder(model, signature, [public_pem(key)])
    assert result.verified
    assert result.unsigned == (".git/HEAD", ".gitattributes")


# --- what changed since signing ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "reason", "path"),
    [
        (lambda m: (m / "config.json").write_bytes(b"{}"), F.FILE_CHANGED, "config.json"),
        (
            lambda m: (m / "weights" / "extra.pkl").write_bytes(b"x"),
            F.FILE_ADDED,
            "weights/extra.pkl",
        ),
        (lambda m: (m / "tokenizer" / "vocab.txt").unlink(), F.FILE_MISSING, "tokenizer/vocab.txt"),
    ],
    ids=["changed", "added", "removed"],
)
def test_a_file_changed_added_or_removed_after_signing_fails_naming_it(
    model: Path,
    key: ec.EllipticCurvePrivateKey,
    key_file: Path,
    change: Callable[[Path], object],
    reason: SignatureFailure,
    path: str,
) -> None:
    signature = sign_folder(model, key_file)
    change(model)
    for result in [
        verify_folder(model, signature, [public_pem(key)]),
        verify_signature(signature, [public_pem(key)], manifest_of(model)),
    ]:
        assert (result.verified, result.reason) == (False, reason)
        assert result.message == f"{reason.value.replace('_', ' ')}: {path}"


def test_a_wrong_key_fails_with_a_clear_message(
    model: Path, key_file: Path, key: ec.EllipticCurvePrivateKey
) -> None:
    signature = sign_folder(model, key_file)
    stranger = ec.generate_private_key(ec.SECP256R1())
    result = verify_folder(model, signature, [public_pem(stranger)])
    assert (result.verified, result.reason, result.signer) == (False, F.NO_TRUSTED_KEY, None)
    assert result.message.startswith("signed by a key that is not trusted here")


def test_garbage_in_place_of_a_signature_is_a_failed_result(model: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    for junk in [b"", b"\x00\xff", b'{"mediaType": 1}', b"[]"]:
        result = verify_folder(model, junk, [public_pem(key)])
        assert (result.verified, result.reason) == (False, F.MALFORMED_BUNDLE)


# --- keys and folders that cannot sign --------------------------------------------------------


@pytest.mark.parametrize(
    ("other", "named"),
    [
        (ed25519.Ed25519PrivateKey.generate(), "Ed25519"),
        (rsa.generate_private_key(public_exponent=65537, key_size=2048), "RSA"),
        (ec.generate_private_key(ec.SECP256K1()), "secp256k1"),
    ],
    ids=["Ed25519", "RSA", "secp256k1"],
)
def test_a_key_model_signing_cannot_use_is_refused_clearly(
    model: Path, tmp_path: Path, other: PrivateKeyTypes, named: str
) -> None:
    path = write_key(tmp_path / "other.pem", other)
    with pytest.raises(InvalidInput) as info:
        sign_folder(model, path)
    assert type(info.value) is InvalidInput
    assert named in info.value.message and "P-256, P-384 or P-521" in info.value.message


def test_an_encrypted_key_signs_with_its_password(model: Path, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    path = write_key(tmp_path / "locked.pem", key, password=b"correct horse")
    signature = sign_folder(model, path, password=b"correct horse")
    assert verify_folder(model, signature, [public_pem(key)]).verified
    for wrong in [None, b"wrong"]:
        with pytest.raises(InvalidInput):
            sign_folder(model, path, password=wrong)


def test_what_is_not_a_key_or_not_a_folder_is_refused(model: Path, tmp_path: Path) -> None:
    key_file = write_key(tmp_path / "k.pem", ec.generate_private_key(ec.SECP256R1()))
    (tmp_path / "not-a-key.pem").write_text("hello")
    for folder, key_path in [
        (model, tmp_path / "not-a-key.pem"),
        (model, tmp_path / "missing.pem"),
        (tmp_path / "missing", key_file),
        (model / "config.json", key_file),
    ]:
        with pytest.raises(InvalidInput):
            sign_folder(folder, key_path)


def test_a_symlink_in_the_folder_is_refused_on_both_sides(model: Path, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    key_file = write_key(tmp_path / "k.pem", key)
    signature = sign_folder(model, key_file)
    (tmp_path / "outside.bin").write_bytes(b"elsewhere")
    (model / "link.bin").symlink_to(tmp_path / "outside.bin")
    with pytest.raises(InvalidInput, match="link"):
        sign_folder(model, key_file)
    with pytest.raises(InvalidInput, match="link"):
        verify_folder(model, signature, [public_pem(key)])
