"""Request bodies in, response bodies out: the two ends of every ``/api/v1`` route.

A route declares its body as a ``cairn.wire`` model parameter and its answer as
``response_model``; FastAPI draws both into the OpenAPI document. In between:

- ``StrictBodyRoute`` reads the body with Cairn's strict JSON reader (size cap, duplicate
  keys, NaN, depth: ``cairn.domain.jsonsafe``) *before* FastAPI's own reading, which accepts
  all of those. FastAPI then validates the parsed value against the model; a failure is
  Cairn's 400 ``invalid_input`` with each field's path (``api.errors``), never a 422.
- ``ok`` writes a response model with orjson. Returning a response skips FastAPI's second
  validation of a value that the model already holds.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope

from cairn.api.deps import read_json


class _ReadRequest(Request):
    """A request whose body was read (and parsed) before FastAPI asks for it."""

    def __init__(self, scope: Scope, receive: Receive, raw: bytes, parsed: Any) -> None:
        super().__init__(scope, receive)
        self._raw, self._parsed = raw, parsed

    async def body(self) -> bytes:
        return self._raw

    async def json(self) -> Any:
        return self._parsed


class StrictBodyRoute(APIRoute):
    """Every ``/api/v1`` route: a declared JSON body goes through the strict reader first."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler
        optional = not self.body_field.field_info.is_required()

        async def read_strictly(request: Request) -> Response:
            if optional and request.headers.get("content-length") in (None, "0"):
                return await handler(request)
            raw, parsed = await read_json(request)
            return await handler(_ReadRequest(request.scope, request.receive, raw, parsed))

        return read_strictly


class FastJSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_UTC_Z)


def ok(
    content: BaseModel | dict[str, Any] | None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A response model (or, on routes not yet given one, plain values) as JSON.

    The model is dumped to Python values, which orjson writes: times as RFC 3339 in UTC with
    a ``Z``, faster than pydantic's own JSON writer walks them."""
    if isinstance(content, BaseModel):
        content = content.model_dump(mode="python")
    return FastJSON(content, status_code=status, headers=headers)
