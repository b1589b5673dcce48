"""The one table from error codes to HTTP statuses, and the one error body.

Every error response is ``{"error": {"code", "message", "details"}}``; a test walks the error
tree and the route table to hold every response to it.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from cairn import errors
from cairn.api.oci.errors import BY_STATUS, is_oci_path, oci_code, oci_error_response

log = logging.getLogger("cairn.api")

# Most specific first: the first class an error is an instance of decides its status.
STATUS: list[tuple[type[errors.CairnError], int]] = [
    (errors.PayloadTooLarge, 413),
    (errors.InvalidRange, 416),
    (errors.Unsupported, 405),
    (errors.InvalidInput, 400),
    (errors.NotFound, 404),
    (errors.MissingBlobs, 409),
    (errors.Conflict, 409),
    (errors.BlobCorrupt, 500),
    (errors.DigestMismatch, 400),
    (errors.IntegrityError, 500),
    (errors.Unauthenticated, 401),
    (errors.PermissionDenied, 403),
    (errors.StorageUnavailable, 503),
    (errors.DatabaseUnavailable, 503),
    (errors.InsufficientStorage, 507),
    (errors.ServerError, 500),
    (errors.ConfigError, 500),
    (errors.CairnError, 500),
]

RETRY_AFTER_SECONDS = "2"

_HTTP_CODES = {
    404: ("route_not_found", "no such route"),
    405: ("method_not_allowed", "this route does not take that method"),
    413: ("payload_too_large", "the request body is too large"),
}


def status_for(exc: errors.CairnError) -> int:
    return next(status for cls, status in STATUS if isinstance(exc, cls))


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    # The code also travels as a header so that the metrics middleware can count it.
    return JSONResponse(
        error_body(code, message, details),
        status_code=status,
        headers={**(headers or {}), "Cairn-Error-Code": code},
    )


def install_error_handlers(app: FastAPI) -> None:
    async def on_cairn_error(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, errors.CairnError):  # narrows the type for mypy
            raise exc
        status = status_for(exc)
        if status >= 500:
            log.error("%s: %s", exc.code, exc.message)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if status == 503:
            headers = {"Retry-After": RETRY_AFTER_SECONDS}
        if is_oci_path(request.url.path):
            code, status = oci_code(exc, status)
            if isinstance(exc, errors.InvalidRange) and "size" in exc.details:
                headers = {"Content-Range": f"bytes */{exc.details['size']}"}
            detail = {**exc.details, "cairn": exc.code}
            return oci_error_response(request, status, code, exc.message, detail, headers)
        return error_response(status, exc.code, exc.message, exc.details, headers)

    async def on_database(request: Request, exc: Exception) -> JSONResponse:
        # A dropped or refused database connection is an outage, not a bug: 503, and the
        # pool checks connections before use, so the server recovers without a restart.
        log.error("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        unavailable = errors.DatabaseUnavailable("the metadata database is not answering")
        return await on_cairn_error(request, unavailable)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, RequestValidationError):
            raise exc
        problems = [
            {"where": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "")}
            for e in exc.errors()
        ][:20]
        first = problems[0] if problems else {"where": "request", "problem": "invalid"}
        if is_oci_path(request.url.path):
            message = f"{first['where']}: {first['problem']}"
            detail = {"problems": problems, "cairn": errors.InvalidInput.code}
            return oci_error_response(request, 400, "UNSUPPORTED", message, detail)
        return error_response(
            400,
            errors.InvalidInput.code,
            f"{first['where']}: {first['problem']}",
            {"problems": problems},
        )

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, HTTPException):
            raise exc
        code, message = _HTTP_CODES.get(exc.status_code, ("http_error", str(exc.detail)))
        headers = dict(exc.headers) if exc.headers else None
        if is_oci_path(request.url.path):
            oci = BY_STATUS.get(exc.status_code, "UNSUPPORTED")
            detail = {"cairn": code}
            return oci_error_response(request, exc.status_code, oci, message, detail, headers)
        return error_response(exc.status_code, code, message, headers=headers)

    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        message = "the server failed; the error is logged"
        if is_oci_path(request.url.path):
            return oci_error_response(request, 500, "UNKNOWN", message, {"cairn": "internal_error"})
        return error_response(500, "internal_error", message)

    app.add_exception_handler(errors.CairnError, on_cairn_error)
    for unreachable in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(unreachable, on_database)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)
