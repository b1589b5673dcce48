"""Checking an OpenSSF ``model-signing`` signature against a version's manifest, without its files.

A signature (``model.sig`` by convention, at the root of the model folder) is a Sigstore bundle
in JSON. Made with a certificate, ``verificationMaterial`` holds ``x509CertificateChain``
(``cairn.domain.signature_trust`` checks it offline) instead of ``publicKey``. In the key-based
mode of ``model-signing`` 1.x it looks like this::

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
the manifest alone. The sharded mode (``shards`` with ``sha256``) names digests of byte ranges,
checked against the bytes through the caller's ``range_digest`` (``signature_shards``); the
BLAKE modes name digests Cairn does not have, and are refused as such rather than guessed at.

The rules follow the ``model_signing`` verifier, including its leniency: files under the
signer's own ignore list, git files and the signature itself need not be covered (they are
reported as unsigned). It is stricter in three ways: the signature must cover at least one
file, a file listed twice is malformed, and an ignore entry that is not a clean relative path
(``.``, ``..``, absolute) is not honoured, so it can never exempt the whole folder.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from cairn.domain.signature_envelope import BUNDLE_MAX as BUNDLE_MAX
from cairn.domain.signature_envelope import (
    Envelope,
    Rejected,
    authenticate,
    field,
    json_object,
    malformed,
    read_envelope,
    unsupported,
)
from cairn.domain.signature_envelope import SignatureFailure as SignatureFailure
from cairn.domain.signature_shards import (
    SHARD_ALGORITHM,
    RangeDigest,
    Shards,
    ShardsMalformed,
    parse_shards,
    shard_differences,
)
from cairn.domain.signature_trust import (
    TrustedCertificate,
    trusted,
)
from cairn.domain.signature_trust import TrustedKey as TrustedKey
from cairn.domain.signature_trust import trusted_key as trusted_key

SIGNATURE_FILE = "model.sig"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://model_signing/signature/v1.0"
# The files model_signing leaves out unless told otherwise, on both sides.
DEFAULT_IGNORED = (".git", ".gitattributes", ".github", ".gitignore")

_TRUSTED = (TrustedKey, TrustedCertificate)

_PRE_1_0_PREDICATE = "https://model_signing/Digests/v0.1"
_HEX = re.compile(r"[0-9a-fA-F]{64}")


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
    # With a certificate: the fingerprint of the trusted certificate the signer's chains to.
    anchor: str | None = None


@dataclass(frozen=True, slots=True)
class _Statement:
    resources: dict[str, str]  # normalised path -> lower-case hex sha256
    ignored: tuple[str, ...]
    shards: Shards  # the sharded method's: normalised path -> [(start, end, hex sha256)]


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
    range_digest: RangeDigest | None = None,
) -> SignatureVerification:
    """Check ``bundle`` against the trusted keys and a manifest ``{path: (size, "sha256:…")}``.

    Hostile input never raises: any defect is a failed result that says what is wrong. Only
    an unusable trusted key raises ``InvalidInput`` (keys are vetted when they are added).
    ``files[path]`` is read only for the files the signature covers, so a caller may compute
    digests lazily. ``signature_path`` is where the signature itself sits among ``files``.
    """
    keys = [k if isinstance(k, _TRUSTED) else trusted(k) for k in trusted_keys]
    signer: str | None = None
    anchor: str | None = None
    try:
        envelope = read_envelope(bundle)
        signer, anchor = authenticate(envelope, keys)
        statement = _read_statement(envelope)
    except Rejected as rejected:
        reason, message = rejected.reason, rejected.message
        return SignatureVerification(False, signer, reason, message, anchor=anchor)
    if statement.shards and range_digest is None:
        message = "a sharded signature is checked against the files' bytes, not given here"
        hashing = SignatureFailure.UNSUPPORTED_HASHING
        return SignatureVerification(False, signer, hashing, message, anchor=anchor)
    differences, unsigned = _compare(statement, files, signature_path, range_digest or _unused)
    if differences:
        first = differences[0]
        more = f" (and {len(differences) - 1} more)" if len(differences) > 1 else ""
        message = f"{first.reason.value.replace('_', ' ')}: {first.path[:200]}{more}"
        return SignatureVerification(
            False, signer, first.reason, message, differences, unsigned, anchor
        )
    return SignatureVerification(True, signer, None, "signature verified", (), unsigned, anchor)


def _read_statement(envelope: Envelope) -> _Statement:
    if envelope.payload_type != PAYLOAD_TYPE:
        raise unsupported(f"the envelope's payload type is not {PAYLOAD_TYPE}")
    doc = json_object(envelope.payload, "the signed statement")
    if doc.get("_type") != STATEMENT_TYPE:
        raise unsupported(f"the signed statement is not an {STATEMENT_TYPE}")
    predicate_type = doc.get("predicateType")
    if predicate_type == _PRE_1_0_PREDICATE:
        raise unsupported("signatures from model_signing before 1.0 are not accepted")
    if predicate_type != PREDICATE_TYPE:
        raise unsupported(f"the predicate type is not {PREDICATE_TYPE}")
    predicate = field(doc, "predicate", dict)
    serialization_ = field(predicate, "serialization", dict)
    method, hash_type = serialization_.get("method"), serialization_.get("hash_type")
    if method not in ("files", "shards") or hash_type != "sha256":
        raise Rejected(
            SignatureFailure.UNSUPPORTED_HASHING,
            f"signed with method {str(method)[:20]!r} and hash {str(hash_type)[:20]!r}; "
            "Cairn checks sha256 signatures of files or of shards",
        )
    resources = _resources(field(predicate, "resources", list), sharded=method == "shards")
    if not resources:
        raise malformed("the signature covers no files")
    _check_subject(doc, resources)
    ignored = _ignored(serialization_.get("ignore_paths", []))
    if method == "files":
        return _Statement(resources, ignored, {})
    try:
        return _Statement({}, ignored, parse_shards(resources))
    except ShardsMalformed as exc:
        raise malformed(str(exc)) from exc


def _resources(raw: list[Any], *, sharded: bool) -> dict[str, str]:
    resources: dict[str, str] = {}
    for item in raw:
        if not isinstance(item, dict):
            raise malformed("a signed resource is not an object")
        name, digest = field(item, "name", str), field(item, "digest", str)
        algorithm = item.get("algorithm")
        if not isinstance(algorithm, str) or not (
            SHARD_ALGORITHM.fullmatch(algorithm) if sharded else algorithm == "sha256"
        ):
            raise Rejected(
                SignatureFailure.UNSUPPORTED_HASHING, "a signed file is not hashed with sha256"
            )
        if not _HEX.fullmatch(digest):
            raise malformed(f"the digest of {name[:200]!r} is not 64 hex digits")
        # model_signing reads names as POSIX paths, so "./a" and "a" name the same file.
        path = str(PurePosixPath(name))
        if path in resources:
            raise malformed(f"{path[:200]!r} is listed twice")
        resources[path] = digest.lower()
    return resources


def _check_subject(doc: dict[str, Any], resources: dict[str, str]) -> None:
    subjects = field(doc, "subject", list)
    if len(subjects) != 1 or not isinstance(subjects[0], dict):
        raise malformed("the statement names exactly one subject")
    claimed = field(field(subjects[0], "digest", dict), "sha256", str)
    hasher = hashlib.sha256()
    for digest in resources.values():  # dicts keep the order the signer listed them in
        hasher.update(bytes.fromhex(digest))
    if hasher.hexdigest() != claimed.lower():
        raise malformed("the subject digest does not match the signed files")


def _ignored(raw: object) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise malformed("ignore_paths is not a list of paths")
    clean = set(DEFAULT_IGNORED)
    for entry in raw:
        path = PurePosixPath(entry)
        if entry and not path.is_absolute() and ".." not in path.parts and str(path) != ".":
            clean.add(str(path))
    return tuple(sorted(clean))


def _compare(
    statement: _Statement,
    files: Mapping[str, tuple[int, str]],
    signature_path: str | None,
    range_digest: RangeDigest,
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
    differ, gone = shard_differences(statement.shards, files, range_digest)
    changed.extend(FileDifference(SignatureFailure.FILE_CHANGED, p) for p in differ)
    missing.extend(FileDifference(SignatureFailure.FILE_MISSING, p) for p in gone)
    for path in sorted(files):
        if path in statement.resources or path in statement.shards:
            continue
        if path == signature_path or _under_any(path, statement.ignored):
            unsigned.append(path)
        else:
            added.append(FileDifference(SignatureFailure.FILE_ADDED, path))
    # A changed file is the most telling difference, so it comes first.
    return tuple(changed + missing + added), tuple(unsigned)


def _unused(path: str, start: int, end: int) -> str:
    raise AssertionError("no range is read for a signature of whole files")


def _under_any(path: str, prefixes: Iterable[str]) -> bool:
    return any(path == p or path.startswith(f"{p}/") for p in prefixes)
