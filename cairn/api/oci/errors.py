"""OCI's error body and codes, for every response under ``/v2/``.

Cairn's own API answers ``{"error": {...}}``; under ``/v2/`` the same errors are drawn the way
the distribution spec says, ``{"errors": [{"code", "message", "detail"}]}``, with the spec's
codes (the Cairn code travels in ``detail``). A refusal for want of credentials (401) or of
rights (403) carries the Bearer challenge OCI clients answer by asking ``/v2/token``.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from cairn import errors
from cairn.api.errors import Problem

PREFIX = "/v2"
TOKEN_PATH = f"{PREFIX}/token"
SERVICE = "cairn"
CHALLENGED = frozenset({errors.Unauthenticated.code, errors.PermissionDenied.code})
API_VERSION = {"Docker-Distribution-API-Version": "registry/2.0"}

# Most specific first; a status here overrides the one Cairn's table gives the error.
CODES: list[tuple[type[errors.CairnError], str, int | None]] = [
    (errors.Unauthenticated, "UNAUTHORIZED", None),
    (errors.PermissionDenied, "DENIED", None),
    (errors.PolicyViolation, "DENIED", 403),
    (errors.VersionBlocked, "DENIED", 403),
    (errors.BlobNotFound, "BLOB_UNKNOWN", None),
    (errors.UploadNotFound, "BLOB_UPLOAD_UNKNOWN", None),
    (errors.ManifestNotFound, "MANIFEST_UNKNOWN", None),
    (errors.VersionNotFound, "MANIFEST_UNKNOWN", None),
    (errors.AliasNotFound, "MANIFEST_UNKNOWN", None),
    (errors.NotFound, "NAME_UNKNOWN", None),
    (errors.UploadOffsetMismatch, "BLOB_UPLOAD_INVALID", 416),
    (errors.MissingBlobs, "MANIFEST_BLOB_UNKNOWN", 400),
    (errors.InvalidRange, "RANGE_INVALID", None),
    (errors.PayloadTooLarge, "SIZE_INVALID", None),
    (errors.InvalidJSON, "MANIFEST_INVALID", None),  # only a manifest is JSON under /v2/
    (errors.SizeMismatch, "SIZE_INVALID", None),
    (errors.InvalidDigest, "DIGEST_INVALID", None),
    (errors.BlobCorrupt, "UNKNOWN", None),
    (errors.DigestMismatch, "DIGEST_INVALID", None),
    (errors.InvalidName, "NAME_INVALID", None),
    (errors.InvalidReference, "TAG_INVALID", None),
    (errors.InvalidManifest, "MANIFEST_INVALID", None),
    (errors.InvalidMetadata, "MANIFEST_INVALID", None),
    (errors.SignatureRejected, "DENIED", 403),
    (errors.Unsupported, "UNSUPPORTED", None),
    (errors.InvalidInput, "UNSUPPORTED", None),
    (errors.Conflict, "DENIED", None),
    (errors.CairnError, "UNKNOWN", None),
]
# Errors raised by the framework itself (no route, wrong method, bad query parameter).
BY_STATUS = {400: "UNSUPPORTED", 404: "NAME_UNKNOWN", 405: "UNSUPPORTED", 413: "SIZE_INVALID"}


def is_oci_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def oci_code(exc: errors.CairnError | None, status: int) -> tuple[str, int]:
    """OCI's code and status for an error Cairn answers with ``status``; ``exc`` is None for
    one the framework raised (no route, wrong method) or a crash."""
    if exc is None:
        return BY_STATUS.get(status, "UNKNOWN" if status >= 500 else "UNSUPPORTED"), status
    for cls, code, override in CODES:
        if isinstance(exc, cls):
            return code, override or status
    return "UNKNOWN", status


def oci_error(request: Request, problem: Problem) -> JSONResponse:
    """A problem drawn the OCI way: the spec's code (Cairn's own in ``detail``)."""
    headers = problem.headers
    code, status = oci_code(problem.exc, problem.status)
    if isinstance(problem.exc, errors.InvalidRange) and "size" in problem.exc.details:
        headers = {"Content-Range": f"bytes */{problem.exc.details['size']}"}
    detail = {**problem.details, "cairn": problem.code}
    return oci_error_response(request, status, code, problem.message, detail, headers)


def oci_error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    detail: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    all_headers = {**API_VERSION, **(headers or {}), "Cairn-Error-Code": detail.get("cairn", code)}
    # Only a refusal a token could change gets a challenge: clients answer one by fetching a
    # token and trying again, which would not help against a policy.
    if detail.get("cairn") in CHALLENGED:
        all_headers["WWW-Authenticate"] = challenge(request)
    body = {"errors": [{"code": code, "message": message, "detail": detail}]}
    return JSONResponse(body, status_code=status, headers=all_headers)


def challenge(request: Request) -> str:
    """What to answer a refusal with: where to get a token, and for what."""
    if request.url.path == TOKEN_PATH:
        return f'Basic realm="{SERVICE}"'
    settings = request.app.state.services.settings
    base = (settings.public_url or str(request.base_url)).rstrip("/")
    parts = [f'realm="{base}{TOKEN_PATH}"', f'service="{SERVICE}"']
    name = request.path_params.get("name")
    if name:
        actions = "pull" if request.method in ("GET", "HEAD") else "pull,push"
        parts.append(f'scope="repository:{name}:{actions}"')
    return "Bearer " + ",".join(parts)
