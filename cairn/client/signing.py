"""Signing a model folder in the OpenSSF ``model-signing`` format, and checking one locally.

Signatures are made by the ``model_signing`` library itself, in its key mode, so they are its
format to the byte and its own ``model_signing verify key`` command accepts them.

The signature file is ``model.sig`` at the root of the model folder (``SIGNATURE_FILE``). Both
sides leave that path out of what is signed: ``sign_folder`` says so in the signed ignore
list, and so does the ``model_signing`` command when it is run as
``model_signing sign key FOLDER --private_key KEY --signature FOLDER/model.sig`` (its own
default, ``--signature model.sig``, is relative to the working directory, not the folder).

Checking on this machine goes through the same rules as the server (``verify_signature``) with
digests computed here, rather than through the library's verifier: one implementation of what
"verified" means, the same precise reasons on both sides, and a file the signer left out (a
``.git`` folder holding copies of the weights, say) is never read.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

from cairn.domain.signatures import (
    SIGNATURE_FILE,
    SignatureVerification,
    TrustedKey,
    verify_signature,
)
from cairn.errors import InvalidInput

__all__ = [
    "SIGNATURE_FILE",
    "file_range_digest",
    "public_key_pem",
    "sign_folder",
    "verify_folder",
]

_CURVES = ("secp256r1", "secp384r1", "secp521r1")
_KEY_KINDS: tuple[tuple[type, str], ...] = (
    (ed25519.Ed25519PrivateKey, "Ed25519"),
    (ed448.Ed448PrivateKey, "Ed448"),
    (rsa.RSAPrivateKey, "RSA"),
    (dsa.DSAPrivateKey, "DSA"),
)


def sign_folder(
    folder: Path,
    private_key_pem_path: Path,
    *,
    password: bytes | None = None,
    write: bool = False,
) -> bytes:
    """Sign every file in ``folder`` and return the signature (a Sigstore bundle, JSON).

    Nothing is written into the folder unless ``write`` is true, in which case the signature
    also lands in ``folder / SIGNATURE_FILE``. The key is an ECDSA P-256, P-384 or P-521
    private key in PEM; ``model-signing`` has no other key type.

        bundle = sign_folder(Path("fraud-model"), Path("signing-key.pem"))
    """
    if not folder.is_dir():
        raise InvalidInput(f"{folder} is not a folder")
    _load_signing_key(private_key_pem_path, password)
    # Imported here: the library pulls in Sigstore, which costs ~0.4 s that only signing needs.
    import model_signing

    hashing = model_signing.hashing.Config().set_ignored_paths(
        paths=[SIGNATURE_FILE], ignore_git_paths=True
    )
    # The library annotates the password as str but hands it to cryptography, which needs bytes.
    config = (
        model_signing.signing.Config()
        .use_elliptic_key_signer(private_key=private_key_pem_path, password=password)
        .set_hashing_config(hashing)
    )
    with tempfile.TemporaryDirectory(prefix="cairn-sign-") as scratch:
        out = Path(scratch) / SIGNATURE_FILE
        try:
            config.sign(folder, out)
        except ValueError as exc:  # symlinks, special files: the library says which
            raise InvalidInput(f"cannot sign {folder}: {exc}") from exc
        bundle = out.read_bytes()
    if write:
        target = folder / SIGNATURE_FILE
        partial = target.with_name(f".{SIGNATURE_FILE}.{os.getpid()}.tmp")
        partial.write_bytes(bundle)
        partial.replace(target)
    return bundle


def public_key_pem(private_key_pem_path: Path, *, password: bytes | None = None) -> bytes:
    """The public half of a signing key, in PEM: what a namespace adds to its trusted keys.

    It is also what ``model_signing verify key --public_key`` reads.

        pem = public_key_pem(Path("signing-key.pem"))
    """
    key = _load_signing_key(private_key_pem_path, password)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def verify_folder(
    folder: Path,
    signature: bytes,
    public_key_pems: Iterable[bytes | str | TrustedKey],
    *,
    signature_path: str | None = SIGNATURE_FILE,
) -> SignatureVerification:
    """Check ``folder`` against ``signature`` and the keys trusted for it.

    The result says why a check failed (``result.reason``, ``result.message``); it is never
    raised. Run after ``cairn pull``, it shows the files are still what the signer signed.

        result = verify_folder(Path("fraud-model"), bundle, [Path("team.pub").read_bytes()])
        assert result.verified, result.message
    """
    if not folder.is_dir():
        raise InvalidInput(f"{folder} is not a folder")
    return verify_signature(
        signature, public_key_pems, _FolderDigests(folder), signature_path=signature_path
    )


def _load_signing_key(path: Path, password: bytes | None) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password)
    except OSError as exc:
        raise InvalidInput(f"cannot read the signing key {path}: {exc.strerror}") from exc
    except TypeError as exc:  # a password given for a plain key, or missing for a locked one
        raise InvalidInput(f"signing key {path}: {exc}") from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InvalidInput(f"{path} is not a PEM private key (or its password is wrong)") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name not in _CURVES:
        raise InvalidInput(
            f"{path} holds {_describe(key)}; the model-signing format signs with ECDSA keys "
            "on P-256, P-384 or P-521 (openssl ecparam -name prime256v1 -genkey -noout)",
            key_type=_describe(key),
        )
    return key


def _describe(key: object) -> str:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return f"an ECDSA key on {key.curve.name}"
    for kind, name in _KEY_KINDS:
        if isinstance(key, kind):
            return f"an {name} key"
    return "a key of another kind"


class _FolderDigests(Mapping[str, tuple[int, str]]):
    """A folder's files as ``{path: (size, digest)}``, each file hashed only when looked up."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._paths = frozenset(_walk(folder))
        self._seen: dict[str, tuple[int, str]] = {}

    def __getitem__(self, path: str) -> tuple[int, str]:
        if path not in self._paths:
            raise KeyError(path)
        if path not in self._seen:
            with (self._folder / path).open("rb") as f:
                digest = hashlib.file_digest(f, "sha256")
                self._seen[path] = (f.tell(), f"sha256:{digest.hexdigest()}")
        return self._seen[path]

    def __contains__(self, path: object) -> bool:
        return path in self._paths

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)


def _walk(folder: Path) -> Iterator[str]:
    for root, dirs, names in os.walk(folder):
        for name in names + [d for d in dirs if Path(root, d).is_symlink()]:
            path = Path(root, name)
            relative = path.relative_to(folder).as_posix()
            if path.is_symlink() or not path.is_file():
                # model_signing refuses these too: what they point at is not the folder's.
                raise InvalidInput(f"{relative} in {folder} is a link or not a regular file")
            yield relative


def file_range_digest(path: Path, start: int, end: int) -> str:
    """The hex sha256 of bytes ``[start, end)`` of the file at ``path``."""
    hasher = hashlib.sha256()
    with path.open("rb") as f:
        f.seek(start)
        left = end - start
        while left > 0:
            chunk = f.read(min(left, 1 << 20))
            if not chunk:
                break
            hasher.update(chunk)
            left -= len(chunk)
    return hasher.hexdigest()
