"""The one table from error codes to HTTP statuses, and the one error body.

Every error response is ``{"error": {"code", "message", "details"}}``; a test walks the error
tree and the route table to hold every response to it. MLflow's and OCI's APIs draw the same
errors their own way (``api.mlflow.errors``, ``api.oci.errors``); the README's table of error
codes shows all three, and a test holds it to these tables.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from cairn import errors
from cairn.storage.sql.engine import is_lock_wait_over
from cairn.wire.base import Refused

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

# The codes of errors no error class stands for: the framework's own refusals, and a crash.
HTTP_CODES = {
    404: ("route_not_found", "no such route"),
    405: ("method_not_allowed", "this route does not take that method"),
    413: ("payload_too_large", "the request body is too large"),
}
CRASH_CODE = "internal_error"


def refused_code(request: Request, where: Sequence[Any]) -> str | None:
    """The code a body declares for its failed validation (``wire.base.Refused``), found by
    walking the route's body model along the error's path: the innermost mark wins (a dict
    value's or list item's, a field's), else the code the body parameter itself declares
    (``body: Annotated[Changes, Refused(InvalidMetadata)]``), which also covers a key the
    model does not name and a body of the wrong JSON type; ``None``: none."""
    route = request.scope.get("route")
    if len(where) == 2 and where[0] in ("path", "query", "header"):
        return _parameter_code(route, where[0], where[1])
    body = getattr(route, "body_field", None)
    if body is None or not where or where[0] != "body":
        return None
    found = next((m for m in body.field_info.metadata if isinstance(m, Refused)), None)
    shape: Any = body.field_info.annotation
    for part in where[1:]:
        shape, marks = _step(shape, part)
        found = next((m for m in marks if isinstance(m, Refused)), found)
        if shape is None:
            break
    return found.error.code if found else None


def _step(shape: Any, part: Any) -> tuple[Any, Sequence[Any]]:
    """The annotation one step down an error's path, and the marks on that step; ``None``
    past what the models describe (a key a model does not name)."""
    if get_origin(shape) in (Union, UnionType):  # ``X | None``: the X
        shape = next((a for a in get_args(shape) if a is not type(None)), None)
    fields = getattr(shape, "model_fields", None)
    if fields is not None:
        info = fields.get(part)
        return (info.annotation, info.metadata) if info is not None else (None, ())
    if get_origin(shape) is dict or (get_origin(shape) is list and isinstance(part, int)):
        inner = get_args(shape)[-1]
        if get_origin(inner) is Annotated:
            return get_args(inner)[0], inner.__metadata__
        return inner, ()
    return None, ()


def _parameter_code(route: Any, where: str, name: object) -> str | None:
    """The code a path, query or header parameter declares for its failed validation."""
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return None
    for param in getattr(dependant, f"{where}_params"):
        if name in (param.alias, param.name):
            marks = param.field_info.metadata
            return next((m.error.code for m in marks if isinstance(m, Refused)), None)
    return None


def allowed_methods(request: Request) -> str:
    """Every method the routes of the request's path template take (RFC 9110 §15.5.6)."""
    routes = list(iter_route_contexts(request.app.routes))
    path = request.scope["path"]
    # The path's template is the first that matches it, as the router tries them: a path that
    # two templates match (``.../blobs/missing`` and ``.../blobs/{digest}``) is the first's.
    template = next(
        (r.path_format for r in routes if (p := getattr(r, "path_regex", None)) and p.match(path)),
        None,
    )
    methods: set[str] = set()
    for route in routes:
        if template is not None and route.path_format == template:
            methods |= route.methods or set()
    return ", ".join(sorted(methods))


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


@dataclass(frozen=True, slots=True)
class Problem:
    """An error response as Cairn's API draws it: status, code, message, details, headers,
    and the Cairn error it comes from, when there is one."""

    status: int
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] | None = None
    exc: errors.CairnError | None = None


# Another API this app serves under its own paths (MLflow's REST API, OCI's distribution API)
# draws its errors its own way, from the same problem: ``(is its path?, draw)``.
ErrorDialect = tuple[Callable[[str], bool], Callable[[Request, Problem], Response]]


def install_error_handlers(app: FastAPI, dialects: Sequence[ErrorDialect] = ()) -> None:
    def respond(request: Request, problem: Problem) -> Response:
        for owns, draw in dialects:
            if owns(request.url.path):
                return draw(request, problem)
        p = problem
        return error_response(p.status, p.code, p.message, p.details, p.headers)

    async def on_cairn_error(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, errors.CairnError):  # narrows the type for mypy
            raise exc
        status = status_for(exc)
        if status >= 500:
            log.error("%s: %s", exc.code, exc.message)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if status == 503:
            headers = {"Retry-After": RETRY_AFTER_SECONDS}
        return respond(request, Problem(status, exc.code, exc.message, exc.details, headers, exc))

    async def on_database(request: Request, exc: Exception) -> Response:
        # A dropped or refused database connection is an outage, not a bug: 503, and the
        # pool checks connections before use, so the server recovers without a restart.
        # A lock wait past its bound is the same answer under its own code: try again.
        if is_lock_wait_over(exc):
            log.warning("lock wait over on %s %s: %s", request.method, request.url.path, exc)
            busy = errors.DatabaseBusy(
                "the database held a lock this request needed (or ran its statement) for "
                "longer than the server waits; nothing was written, try again"
            )
            return await on_cairn_error(request, busy)
        log.error("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        unavailable = errors.DatabaseUnavailable("the metadata database is not answering")
        return await on_cairn_error(request, unavailable)

    async def on_validation(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, RequestValidationError):
            raise exc
        problems = [
            {"where": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "")}
            for e in exc.errors()
        ][:20]
        first = problems[0] if problems else {"where": "request", "problem": "invalid"}
        message = f"{first['where']}: {first['problem']}"
        code = refused_code(request, exc.errors()[0].get("loc", ())) if problems else None
        # The error the code names, so every surface answers it as if a service raised it.
        refusal = errors.error_class_for(code or errors.InvalidInput.code)(
            message, problems=problems
        )
        problem = Problem(status_for(refusal), refusal.code, message, refusal.details, exc=refusal)
        return respond(request, problem)

    async def on_http(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, HTTPException):
            raise exc
        code, message = HTTP_CODES.get(exc.status_code, ("http_error", str(exc.detail)))
        headers = dict(exc.headers) if exc.headers else None
        if exc.status_code == 405:
            # Starlette names the methods of the first route on the path; a path's methods
            # are spread over one route each, so the answer names them all (RFC 9110 §15.5.6).
            headers = {**(headers or {}), "Allow": allowed_methods(request)}
        return respond(request, Problem(exc.status_code, code, message, headers=headers))

    async def on_crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        message = "the server failed; the error is logged"
        return respond(request, Problem(500, CRASH_CODE, message))

    app.add_exception_handler(errors.CairnError, on_cairn_error)
    for unreachable in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(unreachable, on_database)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)
