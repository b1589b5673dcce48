"""Every error Cairn raises on purpose, in one tree.

Each class carries a stable ``code``: that string is the public contract, shared by the
server's error bodies and the SDK, which turns a code back into the same class. HTTP status
codes are *not* decided here; the API maps codes to statuses in one table.

::

    CairnError
    ├── InvalidInput                    bad input from a caller; nothing was written
    │   ├── InvalidName
    │   ├── InvalidReference
    │   ├── InvalidDigest
    │   ├── InvalidManifest
    │   │   └── UnsafePath
    │   ├── InvalidMetadata
    │   ├── InvalidJSON
    │   │   └── PayloadTooLarge
    │   ├── InvalidFilter
    │   ├── InvalidCursor
    │   ├── SizeMismatch
    │   ├── SignatureRejected           the namespace requires a signature that verifies
    │   ├── WebhookTargetRefused        the SSRF guard refuses every address a webhook URL names
    │   ├── ImportSourceRefused         an import source outside the prefixes the server allows
    │   ├── InvalidRange
    │   ├── Unsupported                 a request Cairn understands but does not do
    │   └── EmptyToken                  the SDK or CLI was given a token that is empty
    ├── NotFound
    │   ├── NamespaceNotFound
    │   ├── ModelNotFound
    │   ├── VersionNotFound
    │   ├── AliasNotFound
    │   ├── BlobNotFound
    │   ├── ManifestNotFound            no OCI manifest by that tag or digest
    │   ├── UploadNotFound
    │   ├── PrincipalNotFound
    │   ├── TokenNotFound
    │   └── TrackingNotFound            an MLflow experiment, run, logged model or artifact
    ├── Conflict
    │   ├── NamespaceExists
    │   ├── PrincipalExists
    │   ├── LastAdmin                   the change would leave no enabled global admin
    │   ├── ExperimentExists
    │   ├── ModelExists
    │   ├── ModelNotEmpty
    │   ├── VersionInUse
    │   ├── IdempotencyConflict
    │   ├── MissingBlobs
    │   ├── PolicyViolation             the policy denies it; details list every reason
    │   ├── VersionBlocked              a failed check or gate blocks using the version
    │   └── UploadOffsetMismatch
    ├── IntegrityError
    │   └── DigestMismatch              bytes do not hash to the digest they were named by
    │       └── BlobCorrupt             …and they are the server's own stored bytes
    ├── PermissionDenied
    │   ├── Unauthenticated
    │   ├── ReservedValidation          integrity, completeness, signature, scan: Cairn's alone
    │   └── ValidatorNotAllowed         the policy does not let this caller post that result
    ├── ServerError                     the server failed (the SDK: a 5xx it cannot name)
    │   ├── StorageUnavailable          the blob store failed or refused a request, after retries
    │   ├── DatabaseUnavailable         the metadata database did not answer
    │   │   └── DatabaseBusy            a lock another transaction held outlasted the wait's bound
    │   └── InsufficientStorage         the blob store's disk is full; nothing was kept
    └── ConfigError                     a setting is wrong; names the setting
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AliasNotFound",
    "BlobCorrupt",
    "BlobNotFound",
    "CairnError",
    "ConfigError",
    "Conflict",
    "DatabaseBusy",
    "DatabaseUnavailable",
    "DigestMismatch",
    "EmptyToken",
    "ExperimentExists",
    "IdempotencyConflict",
    "ImportSourceRefused",
    "InsufficientStorage",
    "IntegrityError",
    "InvalidCursor",
    "InvalidDigest",
    "InvalidFilter",
    "InvalidInput",
    "InvalidJSON",
    "InvalidManifest",
    "InvalidMetadata",
    "InvalidName",
    "InvalidRange",
    "InvalidReference",
    "LastAdmin",
    "ManifestNotFound",
    "MissingBlobs",
    "ModelExists",
    "ModelNotEmpty",
    "ModelNotFound",
    "NamespaceExists",
    "NamespaceNotFound",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "PolicyViolation",
    "PrincipalExists",
    "PrincipalNotFound",
    "ReservedValidation",
    "ServerError",
    "SignatureRejected",
    "SizeMismatch",
    "StorageUnavailable",
    "TokenNotFound",
    "TrackingNotFound",
    "Unauthenticated",
    "UnsafePath",
    "Unsupported",
    "UploadNotFound",
    "UploadOffsetMismatch",
    "ValidatorNotAllowed",
    "VersionBlocked",
    "VersionInUse",
    "VersionNotFound",
    "WebhookTargetRefused",
    "error_class_for",
]


class CairnError(Exception):
    """The root of every deliberate Cairn error."""

    code = "cairn_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class InvalidInput(CairnError):
    code = "invalid_input"


class InvalidName(InvalidInput):
    code = "invalid_name"


class InvalidReference(InvalidInput):
    code = "invalid_reference"


class InvalidDigest(InvalidInput):
    code = "invalid_digest"


class InvalidManifest(InvalidInput):
    code = "invalid_manifest"


class UnsafePath(InvalidManifest):
    code = "unsafe_path"


class InvalidMetadata(InvalidInput):
    code = "invalid_metadata"


class InvalidJSON(InvalidInput):
    code = "invalid_json"


class PayloadTooLarge(InvalidJSON):
    code = "payload_too_large"


class InvalidFilter(InvalidInput):
    code = "invalid_filter"


class InvalidCursor(InvalidInput):
    code = "invalid_cursor"


class SizeMismatch(InvalidInput):
    code = "size_mismatch"


class SignatureRejected(InvalidInput):
    code = "signature_rejected"


class WebhookTargetRefused(InvalidInput):
    """A webhook URL whose host resolves only to addresses the SSRF guard refuses (loopback,
    private, link-local, …); the message names the rule and ``CAIRN_WEBHOOK_ALLOW``."""

    code = "webhook_target_refused"


class ImportSourceRefused(InvalidInput):
    """An import source that is not ``s3://`` under a prefix ``CAIRN_IMPORT_ALLOW`` lists: the
    server fetches with its own credentials, so it fetches nothing else."""

    code = "import_source_refused"


class InvalidRange(InvalidInput):
    code = "invalid_range"


class Unsupported(InvalidInput):
    code = "unsupported"


class EmptyToken(InvalidInput):
    """A token was given but is empty (``CAIRN_TOKEN=``, ``--token ""``): a mistake to report,
    never a reason to fall back to another token."""

    code = "empty_token"


class NotFound(CairnError):
    code = "not_found"


class NamespaceNotFound(NotFound):
    code = "namespace_not_found"


class ModelNotFound(NotFound):
    code = "model_not_found"


class VersionNotFound(NotFound):
    code = "version_not_found"


class AliasNotFound(NotFound):
    code = "alias_not_found"


class BlobNotFound(NotFound):
    code = "blob_not_found"


class ManifestNotFound(NotFound):
    code = "manifest_not_found"


class UploadNotFound(NotFound):
    code = "upload_not_found"


class PrincipalNotFound(NotFound):
    code = "principal_not_found"


class TokenNotFound(NotFound):
    code = "token_not_found"


class TrackingNotFound(NotFound):
    code = "tracking_not_found"


class Conflict(CairnError):
    code = "conflict"


class NamespaceExists(Conflict):
    code = "namespace_exists"


class PrincipalExists(Conflict):
    code = "principal_exists"


class LastAdmin(Conflict):
    code = "last_admin"


class ExperimentExists(Conflict):
    code = "experiment_exists"


class ModelExists(Conflict):
    code = "model_exists"


class ModelNotEmpty(Conflict):
    code = "model_not_empty"


class VersionInUse(Conflict):
    code = "version_in_use"


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"


class MissingBlobs(Conflict):
    code = "missing_blobs"


class PolicyViolation(Conflict):
    code = "policy_violation"


class VersionBlocked(Conflict):
    """A failed integrity check, scan or signature, or its policy's gate, blocks an alias, a
    deployment or a pull of the version; ``details.gates`` lists each. An admin of the
    namespace may override it, with a reason that goes to the audit log."""

    code = "version_blocked"


class UploadOffsetMismatch(Conflict):
    code = "upload_offset_mismatch"


class IntegrityError(CairnError):
    code = "integrity_error"


class DigestMismatch(IntegrityError):
    code = "digest_mismatch"


class BlobCorrupt(DigestMismatch):
    code = "blob_corrupt"


class PermissionDenied(CairnError):
    code = "permission_denied"


class Unauthenticated(PermissionDenied):
    code = "unauthenticated"


class ReservedValidation(PermissionDenied):
    code = "reserved_validation"


class ValidatorNotAllowed(PermissionDenied):
    code = "validator_not_allowed"


class ServerError(CairnError):
    code = "server_error"


class StorageUnavailable(ServerError):
    """The blob store did not answer, or refused, after its own bounded retries; a ServerError
    so that the SDK retries it like any other 5xx."""

    code = "storage_unavailable"


class DatabaseUnavailable(ServerError):
    """The metadata database refused or dropped the connection; the server keeps running and
    answers again once it is back (connections are checked before use)."""

    code = "database_unavailable"


class DatabaseBusy(DatabaseUnavailable):
    """A write waited for a lock another transaction held longer than
    ``CAIRN_DATABASE_LOCK_TIMEOUT_SECONDS`` (or a statement ran past
    ``CAIRN_DATABASE_STATEMENT_TIMEOUT_SECONDS``); nothing was written, and the same request
    may be sent again (503 with ``Retry-After``)."""

    code = "database_busy"


class InsufficientStorage(ServerError):
    """The blob store ran out of space while writing; the partial bytes were removed."""

    code = "insufficient_storage"


class ConfigError(CairnError):
    code = "config_error"


def _all_subclasses(cls: type[CairnError]) -> list[type[CairnError]]:
    found: list[type[CairnError]] = [cls]
    for sub in cls.__subclasses__():
        found.extend(_all_subclasses(sub))
    return found


_BY_CODE: dict[str, type[CairnError]] = {c.code: c for c in _all_subclasses(CairnError)}


def error_class_for(code: str) -> type[CairnError]:
    """The class whose stable ``code`` is ``code``; ``CairnError`` for an unknown one."""
    return _BY_CODE.get(code, CairnError)
