"""Checking an OpenSSF ``model-signing`` signature against a version's manifest, without its files.

A signature (``model.sig`` by convention, at the root of the model folder) is a Sigstore bundle
in JSON. In the key-based mode of ``model-signing`` 1.x it looks like this::

    bundle                          mediaType application/vnd.dev.sigstore.bundle.v0.3+json
    ├── verificationMaterial
    │   └── publicKey.hint          hex sha256 of the signer's public key as PEM (not signed)
    └── dsseEnvelope
        ├── payloadType             application/vnd.in-toto+json
        ├── payload                 base64 of the in-toto statement below
        └── signatures[].sig        base64 of a DER ECDSA signature over
                                    PAE(payloadType, payload); SHA-256/384/512 for P-256/384/521

    statement                       _type https://in-toto.io/Statement/v1
    ├── subject[0]                  name: the folder's name (informative only)
    │   └── digest.sha256           sha256 of the resources' raw digests, concatenated in the
    │                               order they are listed (the signer lists them sorted by path)
    ├── predicateType               https://model_signing/signature/v1.0
    └── predicate
        ├── serialization           method files | shards, hash_type sha256 | blake2 | blake3,
        │                           allow_symlinks, ignore_paths (what the signer left out)
        └── resources[]             name (relative POSIX path), algorithm, digest (hex)

In the default mode (``files`` with ``sha256``) each resource is one file named by the sha256 of
its bytes, which is exactly how Cairn addresses blobs, so the server can check a signature with
the manifest alone. The sharded and BLAKE modes name digests Cairn does not have, and are
refused as such rather than guessed at.

The rules follow the ``model_signing`` verifier, including its leniency: files under the
signer's own ignore list, git files and the signature itself need not be covered (they are
reported as unsigned). It is stricter in three ways: the signature must cover at least one
file, a file listed twice is malformed, and an ignore entry that is not a clean relative path
(``.``, ``..``, absolute) is not honoured, so it can never exempt the whole folder.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any, TypeVar

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cairn.domain.jsonsafe import strict_loads
from cairn.errors import InvalidInput, InvalidJSON

SIGNATURE_FILE = "model.sig"
BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://model_signing/signature/v1.0"
# The files model_signing leaves out unless told otherwise, on both sides.
DEFAULT_IGNORED = (".git", ".gitattributes", ".github", ".gitignore")
# Room for 100,000 files (the manifest's bound) with paths of up to ~350 characters.
BUNDLE_MAX = 64 * 2**20
SIGNATURES_MAX = 16

_T = TypeVar("_T")

_PRE_1_0_PREDICATE = "https://model_signing/Digests/v0.1"
_HEX = re.compile(r"[0-9a-fA-F]{64}")
_CURVE_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "secp256r1": hashes.SHA256,
    "secp384r1": hashes.SHA384,
    "secp521r1": hashes.SHA512,
}


class SignatureFailure(StrEnum):
    MALFORMED_BUNDLE = "malformed_bundle"
    UNSUPPORTED_FORMAT = "unsupported_format"
    UNSUPPORTED_HASHING = "unsupported_hashing"
    NO_TRUSTED_KEY = "no_trusted_key"
    BAD_SIGNATURE = "bad_signature"
    FILE_CHANGED = "file_changed"
    FILE_MISSING = "file_missing"
    FILE_ADDED = "file_added"


@dataclass(frozen=True, slots=True)
class FileDifference:
    reason: SignatureFailure  # FILE_CHANGED, FILE_MISSING or FILE_ADDED
    path: str


@dataclass(frozen=True, slots=True)
class SignatureVerification:
    """The outcome of a check. Only ``verified`` says the content is what the signer signed.

    ``signer`` is set as soon as a trusted key's signature checks out, also when the files then
    differ, so a failure can say who signed what. ``unsigned`` lists the files the signer chose
    to leave out (its ignore list, git files, the signature itself); they are not covered.
    """

    verified: bool
    signer: str | None
    reason: SignatureFailure | None
    message: str
    differences: tuple[FileDifference, ...] = ()
    unsigned: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TrustedKey:
    public_key: ec.EllipticCurvePublicKey
    fingerprint: str  # sha256 of the DER SubjectPublicKeyInfo: what Cairn records as the signer
    hint: str  # sha256 of the PEM form: what model_signing writes into the bundle


class _Rejected(Exception):
    def __init__(self, reason: SignatureFailure, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class _Envelope:
    payload_type: str
    payload: bytes
    signatures: tuple[bytes, ...]
    hint: str | None


@dataclass(frozen=True, slots=True)
class _Statement:
    resources: dict[str, str]  # normalised path -> lower-case hex sha256
    ignored: tuple[str, ...]


def trusted_key(public_key_pem: bytes | str) -> TrustedKey:
    """Load a public key a namespace may trust; raise ``InvalidInput`` if it cannot sign here."""
    if isinstance(public_key_pem, str) and not public_key_pem.isascii():
        raise InvalidInput("a trusted signing key must be a public key in PEM form (ASCII)")
    pem = public_key_pem.encode("ascii") if isinstance(public_key_pem, str) else public_key_pem
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InvalidInput("a trusted signing key must be a public key in PEM form") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in _CURVE_HASHES:
        raise InvalidInput(
            "model-signing keys are ECDSA on P-256, P-384 or P-521",
            key_type=type(key).__name__,
        )
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    canonical_pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return TrustedKey(
        public_key=key,
        fingerprint=f"sha256:{hashlib.sha256(der).hexdigest()}",
        hint=hashlib.sha256(canonical_pem).hexdigest(),
    )


def subject_digest(digests: Mapping[str, str]) -> str:
    """The subject digest model_signing writes for files with these ``sha256:`` digests.

    Its signer sorts files as paths, segment by segment, which is not plain string order:
    ``a/b`` comes before ``a-c`` because ``a`` sorts before ``a-c``.
    """
    hasher = hashlib.sha256()
    for path in sorted(digests, key=lambda p: p.split("/")):
        hasher.update(bytes.fromhex(digests[path].partition(":")[2]))
    return f"sha256:{hasher.hexdigest()}"


def verify_signature(
    bundle: bytes,
    trusted_keys: Iterable[bytes | str | TrustedKey],
    files: Mapping[str, tuple[int, str]],
    *,
    signature_path: str | None = SIGNATURE_FILE,
) -> SignatureVerification:
    """Check ``bundle`` against the trusted keys and a manifest ``{path: (size, "sha256:…")}``.

    Hostile input never raises: any defect is a failed result that says what is wrong. Only
    an unusable trusted key raises ``InvalidInput`` (keys are vetted when they are added).
    ``files[path]`` is read only for the files the signature covers, so a caller may compute
    digests lazily. ``signature_path`` is where the signature itself sits among ``files``.
    """
    keys = [k if isinstance(k, TrustedKey) else trusted_key(k) for k in trusted_keys]
    signer: str | None = None
    try:
        envelope = _read_envelope(bundle)
        signer = _authenticate(envelope, keys)
        statement = _read_statement(envelope)
    except _Rejected as rejected:
        return SignatureVerification(False, signer, rejected.reason, rejected.message)
    differences, unsigned = _compare(statement, files, signature_path)
    if differences:
        first = differences[0]
        more = f" (and {len(differences) - 1} more)" if len(differences) > 1 else ""
        message = f"{first.reason.value.replace('_', ' ')}: {first.path[:200]}{more}"
        return SignatureVerification(False, signer, first.reason, message, differences, unsigned)
    return SignatureVerification(True, signer, None, "signature verified", (), unsigned)


def _read_envelope(bundle: bytes) -> _Envelope:
    if len(bundle) > BUNDLE_MAX:
        raise _malformed(f"a signature bundle is at most {BUNDLE_MAX} bytes")
    doc = _json_object(bundle, "the signature bundle")
    if _field(doc, "mediaType", str) != BUNDLE_MEDIA_TYPE:
        raise _unsupported(f"bundle media type is not {BUNDLE_MEDIA_TYPE}")
    material = _field(doc, "verificationMaterial", dict)
    if "publicKey" not in material:
        raise _unsupported("only signatures made with a key are accepted, not certificates")
    hint = _field(material, "publicKey", dict).get("hint")
    if hint is not None and not isinstance(hint, str):
        raise _malformed("the public key hint is not a string")
    dsse = _field(doc, "dsseEnvelope", dict)
    raw_signatures = _field(dsse, "signatures", list)
    if not 1 <= len(raw_signatures) <= SIGNATURES_MAX:
        raise _malformed(f"the envelope holds 1 to {SIGNATURES_MAX} signatures")
    signatures: list[bytes] = []
    for item in raw_signatures:
        if not isinstance(item, dict):
            raise _malformed("an envelope signature is not an object")
        signatures.append(_base64(_field(item, "sig", str), "a signature"))
    return _Envelope(
        payload_type=_field(dsse, "payloadType", str),
        payload=_base64(_field(dsse, "payload", str), "the payload"),
        signatures=tuple(signatures),
        hint=hint or None,
    )


def _authenticate(envelope: _Envelope, keys: list[TrustedKey]) -> str:
    """Return the fingerprint of the trusted key that signed the envelope."""
    if not keys:
        raise _Rejected(SignatureFailure.NO_TRUSTED_KEY, "no signing key is trusted here")
    candidates = [k for k in keys if envelope.hint in (None, k.hint)]
    if not candidates:
        raise _Rejected(
            SignatureFailure.NO_TRUSTED_KEY,
            f"signed by a key that is not trusted here (key hint {str(envelope.hint)[:64]})",
        )
    pae = _pae(envelope.payload_type, envelope.payload)
    for key in candidates:
        algorithm = ec.ECDSA(_CURVE_HASHES[key.public_key.curve.name]())
        for signature in envelope.signatures:
            try:
                key.public_key.verify(signature, pae, algorithm)
            except InvalidSignature:
                continue
            return key.fingerprint
    if envelope.hint is None:  # with no hint we cannot tell a forgery from a stranger's key
        raise _Rejected(SignatureFailure.NO_TRUSTED_KEY, "no trusted key verifies the signature")
    raise _Rejected(
        SignatureFailure.BAD_SIGNATURE,
        f"the signature does not verify with trusted key {candidates[0].fingerprint}",
    )


def _pae(payload_type: str, payload: bytes) -> bytes:
    # DSSE pre-authentication encoding: lengths are byte counts, in ASCII decimal.
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def _read_statement(envelope: _Envelope) -> _Statement:
    if envelope.payload_type != PAYLOAD_TYPE:
        raise _unsupported(f"the envelope's payload type is not {PAYLOAD_TYPE}")
    doc = _json_object(envelope.payload, "the signed statement")
    if doc.get("_type") != STATEMENT_TYPE:
        raise _unsupported(f"the signed statement is not an {STATEMENT_TYPE}")
    predicate_type = doc.get("predicateType")
    if predicate_type == _PRE_1_0_PREDICATE:
        raise _unsupported("signatures from model_signing before 1.0 are not accepted")
    if predicate_type != PREDICATE_TYPE:
        raise _unsupported(f"the predicate type is not {PREDICATE_TYPE}")
    predicate = _field(doc, "predicate", dict)
    serialization_ = _field(predicate, "serialization", dict)
    method, hash_type = serialization_.get("method"), serialization_.get("hash_type")
    if method != "files" or hash_type != "sha256":
        raise _Rejected(
            SignatureFailure.UNSUPPORTED_HASHING,
            f"signed with method {str(method)[:20]!r} and hash {str(hash_type)[:20]!r}; "
            "Cairn checks per-file sha256 signatures (model_signing's default)",
        )
    resources = _resources(_field(predicate, "resources", list))
    if not resources:
        raise _malformed("the signature covers no files")
    _check_subject(doc, resources)
    return _Statement(resources, _ignored(serialization_.get("ignore_paths", [])))


def _resources(raw: list[Any]) -> dict[str, str]:
    resources: dict[str, str] = {}
    for item in raw:
        if not isinstance(item, dict):
            raise _malformed("a signed resource is not an object")
        name, digest = _field(item, "name", str), _field(item, "digest", str)
        if item.get("algorithm") != "sha256":
            raise _Rejected(
                SignatureFailure.UNSUPPORTED_HASHING, "a signed file is not hashed with sha256"
            )
        if not _HEX.fullmatch(digest):
            raise _malformed(f"the digest of {name[:200]!r} is not 64 hex digits")
        # model_signing reads names as POSIX paths, so "./a" and "a" name the same file.
        path = str(PurePosixPath(name))
        if path in resources:
            raise _malformed(f"{path[:200]!r} is listed twice")
        resources[path] = digest.lower()
    return resources


def _check_subject(doc: dict[str, Any], resources: dict[str, str]) -> None:
    subjects = _field(doc, "subject", list)
    if len(subjects) != 1 or not isinstance(subjects[0], dict):
        raise _malformed("the statement names exactly one subject")
    claimed = _field(_field(subjects[0], "digest", dict), "sha256", str)
    hasher = hashlib.sha256()
    for digest in resources.values():  # dicts keep the order the signer listed them in
        hasher.update(bytes.fromhex(digest))
    if hasher.hexdigest() != claimed.lower():
        raise _malformed("the subject digest does not match the signed files")


def _ignored(raw: object) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise _malformed("ignore_paths is not a list of paths")
    clean = set(DEFAULT_IGNORED)
    for entry in raw:
        path = PurePosixPath(entry)
        if entry and not path.is_absolute() and ".." not in path.parts and str(path) != ".":
            clean.add(str(path))
    return tuple(sorted(clean))


def _compare(
    statement: _Statement, files: Mapping[str, tuple[int, str]], signature_path: str | None
) -> tuple[tuple[FileDifference, ...], tuple[str, ...]]:
    changed: list[FileDifference] = []
    missing: list[FileDifference] = []
    added: list[FileDifference] = []
    unsigned: list[str] = []
    for path in sorted(statement.resources):
        if path not in files:
            missing.append(FileDifference(SignatureFailure.FILE_MISSING, path))
        elif files[path][1].lower() != f"sha256:{statement.resources[path]}":
            changed.append(FileDifference(SignatureFailure.FILE_CHANGED, path))
    for path in sorted(files):
        if path in statement.resources:
            continue
        if path == signature_path or _under_any(path, statement.ignored):
            unsigned.append(path)
        else:
            added.append(FileDifference(SignatureFailure.FILE_ADDED, path))
    # A changed file is the most telling difference, so it comes first.
    return tuple(changed + missing + added), tuple(unsigned)


def _under_any(path: str, prefixes: Iterable[str]) -> bool:
    return any(path == p or path.startswith(f"{p}/") for p in prefixes)


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    # The one strict reader: with a duplicate key, another verifier could read other digests.
    try:
        doc = strict_loads(raw, max_bytes=len(raw))
    except InvalidJSON as exc:
        raise _malformed(f"{what} is not strict JSON: {exc.message}") from exc
    if not isinstance(doc, dict):
        raise _malformed(f"{what} is not a JSON object")
    return doc


def _field(doc: dict[str, Any], name: str, kind: type[_T]) -> _T:
    value = doc.get(name)
    if not isinstance(value, kind):
        raise _malformed(f"{name!r} is missing or not a {kind.__name__}")
    return value


def _base64(text: str, what: str) -> bytes:
    # Protobuf's JSON form writes standard base64 but readers accept the URL-safe alphabet
    # and missing padding too, so do the same.
    normal = text.strip().replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(normal + "=" * (-len(normal) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _malformed(f"{what} is not base64") from exc


def _malformed(message: str) -> _Rejected:
    return _Rejected(SignatureFailure.MALFORMED_BUNDLE, message)


def _unsupported(message: str) -> _Rejected:
    return _Rejected(SignatureFailure.UNSUPPORTED_FORMAT, message)
