"""The one table from errors to HTTP statuses, and the SDK turning an error body back into the
class the server raised, so ``except cairn.errors.X`` works in-process and over HTTP alike."""

from __future__ import annotations

import json

import httpx
import pytest

from cairn import errors
from cairn.api.errors import error_response, status_for
from cairn.client.http import raise_for_error
from cairn.errors import CairnError


def _walk(cls: type[CairnError]) -> list[type[CairnError]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found.extend(_walk(sub))
    return found


EVERY_ERROR = sorted(
    (c for c in _walk(CairnError) if c.__module__ == "cairn.errors"), key=lambda c: c.__name__
)
CLIENT_FAMILIES = (errors.InvalidInput, errors.NotFound, errors.Conflict, errors.PermissionDenied)

# Where a class's status is not simply its family's: the whole contract, spelled out.
EXPECTED_STATUS = {
    errors.PayloadTooLarge: 413,
    errors.InvalidRange: 416,
    errors.Unsupported: 405,  # the OCI API's refused manifest and blob deletions
    errors.MissingBlobs: 409,
    errors.UploadOffsetMismatch: 409,
    errors.DigestMismatch: 400,  # the caller's bytes do not match the caller's digest
    errors.BlobCorrupt: 500,  # the server's own bytes do not match: never the caller's fault
    errors.IntegrityError: 500,
    errors.Unauthenticated: 401,
    errors.PermissionDenied: 403,
    errors.ReservedValidation: 403,  # Cairn's built-in validations: nobody else writes them
    errors.ValidatorNotAllowed: 403,
    errors.StorageUnavailable: 503,  # the blob store is down: try again later
    errors.DatabaseUnavailable: 503,  # the database is down: try again later
    errors.DatabaseBusy: 503,  # a lock wait past its bound: try again
    errors.InsufficientStorage: 507,  # the disk is full
    errors.ServerError: 500,
    errors.ConfigError: 500,
    errors.CairnError: 500,
}


def _expected(cls: type[CairnError]) -> int:
    if cls in EXPECTED_STATUS:
        return EXPECTED_STATUS[cls]
    for family, status in [
        (errors.InvalidInput, 400),
        (errors.NotFound, 404),
        (errors.Conflict, 409),
    ]:
        if issubclass(cls, family):
            return status
    raise AssertionError(f"no expected status for {cls.__name__}")


def test_the_walk_finds_every_error_class() -> None:
    assert len(EVERY_ERROR) == len(errors.__all__) - 1  # all but error_class_for


@pytest.mark.parametrize("cls", EVERY_ERROR, ids=lambda c: c.__name__)
def test_every_error_maps_to_its_status(cls: type[CairnError]) -> None:
    status = status_for(cls("something went wrong", detail="x"))
    assert status == _expected(cls)
    if issubclass(cls, CLIENT_FAMILIES):
        assert 400 <= status < 500, cls.__name__
    else:
        assert status >= 500 or issubclass(cls, errors.DigestMismatch), cls.__name__


def test_an_error_of_an_unknown_subclass_takes_its_familys_status() -> None:
    class Newcomer(errors.ModelNotFound):
        code = "newcomer"

    assert status_for(Newcomer("x")) == 404


def _response(
    status: int, content: bytes, content_type: str = "application/json"
) -> httpx.Response:
    request = httpx.Request("GET", "http://registry.test/api/v1/models/default/m")
    return httpx.Response(
        status, content=content, headers={"content-type": content_type}, request=request
    )


def _server_response(exc: CairnError) -> httpx.Response:
    """What the server sends for ``exc``, as the SDK receives it."""
    sent = error_response(status_for(exc), exc.code, exc.message, exc.details)
    assert sent.headers["cairn-error-code"] == exc.code
    return _response(sent.status_code, bytes(sent.body))


@pytest.mark.parametrize("cls", EVERY_ERROR, ids=lambda c: c.__name__)
def test_the_sdk_raises_the_class_the_server_raised(cls: type[CairnError]) -> None:
    sent = cls("it broke", ref="default/m:1", count=3)
    with pytest.raises(CairnError) as raised:
        raise_for_error(_server_response(sent))
    received = raised.value
    assert type(received) is cls
    assert received.code == cls.code
    assert (received.message, received.details) == ("it broke", {"ref": "default/m:1", "count": 3})


def test_the_sdk_keeps_a_code_it_does_not_know() -> None:
    body = {"error": {"code": "quota_exceeded", "message": "too many models", "details": {}}}
    with pytest.raises(CairnError) as raised:
        raise_for_error(_response(429, json.dumps(body).encode()))
    assert type(raised.value) is CairnError
    assert (raised.value.code, raised.value.message) == ("quota_exceeded", "too many models")


@pytest.mark.parametrize(
    ("status", "content", "expected"),
    [
        (500, b"<html>Internal Server Error</html>", errors.ServerError),
        (502, b"", errors.ServerError),
        (503, b'{"detail": "overloaded"}', errors.ServerError),
        (404, b"not json", CairnError),
        (400, b'{"error": "flat string"}', CairnError),
        (409, b'{"error": {"message": "no code"}}', CairnError),
    ],
)
def test_a_body_without_the_error_shape_still_raises(
    status: int, content: bytes, expected: type[CairnError]
) -> None:
    with pytest.raises(CairnError) as raised:
        raise_for_error(_response(status, content))
    assert type(raised.value) is expected
    assert str(status) in raised.value.message


def test_a_success_raises_nothing() -> None:
    for status in (200, 201, 204, 206, 304):
        raise_for_error(_response(status, b""))
