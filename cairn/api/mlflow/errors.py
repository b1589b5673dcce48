"""MLflow's error body, ``{"error_code", "message"}``, and its codes for Cairn's errors.

The MLflow client decides on ``error_code`` (``RESOURCE_ALREADY_EXISTS`` lets registration go
on; ``RESOURCE_DOES_NOT_EXIST`` makes ``set_experiment`` create the experiment) and retries any
5xx, POSTs included: an expected error is therefore always a 4xx here.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from cairn import errors
from cairn.api.errors import Problem
from cairn.api.mlflow import ERRORS_PREFIX

# Most specific first: the first class an error is an instance of decides; a status of None
# keeps the one Cairn's own table gives (a body too large is a 413 on every surface).
CODES: list[tuple[type[errors.CairnError], int | None, str]] = [
    # MLflow's server answers an unknown alias with 400, not 404, and the client relies on it.
    (errors.AliasNotFound, 400, "INVALID_PARAMETER_VALUE"),
    (errors.NotFound, 404, "RESOURCE_DOES_NOT_EXIST"),
    (errors.ModelExists, 400, "RESOURCE_ALREADY_EXISTS"),
    (errors.ExperimentExists, 400, "RESOURCE_ALREADY_EXISTS"),
    (errors.InvalidInput, None, "INVALID_PARAMETER_VALUE"),
    (errors.Conflict, 400, "INVALID_STATE"),
    (errors.BlobCorrupt, 500, "INTERNAL_ERROR"),
    (errors.DigestMismatch, 400, "INVALID_PARAMETER_VALUE"),
    (errors.Unauthenticated, 401, "UNAUTHENTICATED"),
    (errors.PermissionDenied, 403, "PERMISSION_DENIED"),
    (errors.StorageUnavailable, 503, "TEMPORARILY_UNAVAILABLE"),
    (errors.DatabaseUnavailable, 503, "TEMPORARILY_UNAVAILABLE"),
]
_BY_STATUS = {
    400: "INVALID_PARAMETER_VALUE",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "ENDPOINT_NOT_FOUND",
    405: "ENDPOINT_NOT_FOUND",
    413: "INVALID_PARAMETER_VALUE",
}


def mlflow_code(status: int, exc: errors.CairnError | None) -> tuple[int, str]:
    """MLflow's status and error code for an error Cairn answers with ``status``."""
    if exc is not None:
        for cls, mapped, code in CODES:
            if isinstance(exc, cls):
                return mapped or status, code
    return status, _BY_STATUS.get(status, "INTERNAL_ERROR")


def mlflow_message(exc: errors.CairnError | None, message: str) -> str:
    """MLflow's own text for the errors its clients and tests match on (its registry store's
    templates); Cairn's message for the others."""
    details = exc.details if exc is not None else {}
    ref = str(details.get("ref", ""))
    if isinstance(exc, errors.AliasNotFound) and "@" in ref:
        return f"Registered model alias {ref.rpartition('@')[2]} not found."
    if isinstance(exc, errors.ModelNotFound) and "model" in details:
        return f"Registered Model with name={_name(details['model'])} not found"
    if isinstance(exc, errors.VersionNotFound) and ":" in ref:
        model, _, number = ref.rpartition(":")
        return f"Model Version (name={_name(model)}, version={number}) not found"
    if isinstance(exc, errors.ModelExists) and "model" in details:
        return f"Registered Model (name={_name(details['model'])}) already exists."
    if isinstance(exc, errors.InvalidName) and details.get("kind") == "tag":
        return _TAG_MESSAGES.get(str(details.get("rule")), message).format(**details)
    return message


_TAG_MESSAGES = {
    "key_characters": "Invalid value {quoted} for parameter 'key' supplied: Names may only "
    "contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) "
    "and slashes (/).",
    "key_length": "'key' exceeds the maximum length of {limit} characters",
    "value_length": "'value' exceeds the maximum length of {limit} characters",
}


def _name(ref: object) -> str:
    return str(ref).partition("/")[2] or str(ref)


def mlflow_error(_request: Request, problem: Problem) -> JSONResponse:
    mapped, mlflow = mlflow_code(problem.status, problem.exc)
    return JSONResponse(
        {"error_code": mlflow, "message": mlflow_message(problem.exc, problem.message)},
        status_code=mapped,
        headers={**(problem.headers or {}), "Cairn-Error-Code": problem.code},
    )


def is_mlflow_path(path: str) -> bool:
    return path.startswith(ERRORS_PREFIX)
