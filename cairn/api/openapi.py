"""The OpenAPI document, told true: FastAPI draws the paths, bodies and responses from the
routes and their ``cairn.wire`` models; this module adds what FastAPI cannot know.

- **Errors.** Every operation lists the statuses it can answer with Cairn's one error body,
  and, under each status, the codes that status carries (from the one table in
  ``api.errors``). FastAPI's own 422 is dropped: Cairn never sends it (a validation failure
  is a 400 ``invalid_input``).
- **Security.** The bearer scheme (a ``cairn_…`` token), required by every operation except
  the public ones.
- **Operation ids** are the route functions' names (``create_model``), unique across the API,
  so that a generated client has methods a person would have named.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from cairn import errors
from cairn.api.errors import status_for
from cairn.api.mlflow.errors import is_mlflow_path
from cairn.wire.base import ErrorBody, MlflowErrorBody

SCHEME = "bearer"
MLFLOW_TAG = "mlflow"
ERROR_REF = "#/components/schemas/ErrorBody"
MLFLOW_ERROR_REF = "#/components/schemas/MlflowErrorBody"
# MLflow's routes read their requests by hand, as MLflow's server does, and answer in MLflow's
# shape: a conflict is a 400 there (``cairn.api.mlflow.errors``).
MLFLOW_STATUSES = (400, 401, 403, 404, 413, 503)
WRITES = frozenset({"post", "put", "patch", "delete"})
DESCRIPTIONS = {
    400: "The request is not valid; nothing was written.",
    401: "No valid token was sent (see `WWW-Authenticate`).",
    403: "The token's holder may not do this here.",
    404: "Something the request names does not exist (or is not visible to the caller).",
    405: "The server does not do this.",
    409: "The request conflicts with the registry's state; nothing was written.",
    413: "The body is larger than the server accepts.",
    416: "The requested range is not satisfiable.",
    503: "The database or blob store is unavailable or busy; try again (see `Retry-After`).",
    507: "The blob store is full; nothing was kept.",
}


def operation_id(route: APIRoute) -> str:
    """A route's operation id: its function's name; for MLflow's REST API, which Cairn
    serves under MLflow's paths, the path and method (``mlflow_registered_models_create_post``)."""
    if MLFLOW_TAG in route.tags:
        slug = re.sub(r"[^a-z0-9]+", "_", route.path_format.lower()).strip("_")
        return f"{slug.removeprefix('api_2_0_')}_{'_'.join(sorted(route.methods or ())).lower()}"
    return route.name


def check_operation_ids(routes: Iterable[APIRoute]) -> None:
    """Refuse two routes with one operation id: a generated client would lose one."""
    seen: dict[str, str] = {}
    for route in routes:
        found = operation_id(route)
        if route.include_in_schema and found in seen:
            raise RuntimeError(
                f"two routes have the operation id {found}: {seen[found]}, {route.path}"
            )
        seen[found] = route.path


def codes_by_status() -> dict[int, list[str]]:
    """Every error code the API can answer, under the status the one table gives it."""
    found: dict[int, set[str]] = {}
    for cls in _error_classes(errors.CairnError):
        found.setdefault(status_for(cls("")), set()).add(cls.code)
    return {status: sorted(codes) for status, codes in found.items()}


def _error_classes(cls: type[errors.CairnError]) -> Iterator[type[errors.CairnError]]:
    yield cls
    for sub in cls.__subclasses__():
        yield from _error_classes(sub)


def install_document(app: FastAPI, public: frozenset[str]) -> None:
    """Serve the document built here at ``app.openapi_url``, built once, on first request."""

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            complete(doc, public)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]


def complete(doc: dict[str, Any], public: frozenset[str]) -> None:
    """Add errors and security to every operation of ``doc``, in place."""
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    for body in (ErrorBody, MlflowErrorBody):
        drawn = body.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(drawn.pop("$defs", {}))
        schemas[body.__name__] = drawn
    components["securitySchemes"] = {
        SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "description": "A Cairn token (`cairn_…`), from `cairn token create` or the "
            "admin token the server writes to its data folder on first start.",
        }
    }
    codes = codes_by_status()
    for path, operations in doc.get("paths", {}).items():
        for method, operation in operations.items():
            is_public = path in public
            operation["security"] = [] if is_public else [{SCHEME: []}]
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            if is_mlflow_path(path):
                for status in MLFLOW_STATUSES:
                    responses.setdefault(str(status), {})
                for key, response in responses.items():
                    if key.isdigit() and int(key) >= 400:
                        _describe_error(response, int(key), [], MLFLOW_ERROR_REF)
                continue
            for status in _error_statuses(path, method, operation, is_public):
                responses.setdefault(str(status), {})
            for key, response in responses.items():
                if key.isdigit() and int(key) >= 400:
                    _describe_error(response, int(key), codes.get(int(key), []), ERROR_REF)


def _error_statuses(
    path: str, method: str, operation: dict[str, Any], is_public: bool
) -> list[int]:
    statuses = [503]
    if operation.get("parameters") or "requestBody" in operation:
        statuses.append(400)
    if not is_public:
        statuses += [401, 403]
    if not is_public:
        statuses.append(404)  # a path, a query or a body names something that may not exist
    if method in WRITES:
        statuses.append(409)
    if "requestBody" in operation:
        statuses.append(413)
    return statuses


def _describe_error(response: dict[str, Any], status: int, codes: list[str], schema: str) -> None:
    listed = ", ".join(f"`{c}`" for c in codes)
    text = response.get("description") or DESCRIPTIONS.get(status, "An error.")
    if text in ("Successful Response", "Additional Response", HTTPStatus(status).phrase):
        text = DESCRIPTIONS.get(status, "An error.")
    response["description"] = f"{text} Codes: {listed}." if listed else text
    response["content"] = {"application/json": {"schema": {"$ref": schema}}}
