"""Records drawn as JSON for the wire. The shapes are the API's contract (see the README).

Times stay ``datetime`` objects until ``ok`` renders them: orjson writes them as RFC 3339 in
UTC with a ``Z``, faster than formatting each one in Python."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse

from cairn.domain.records import (
    Namespace,
    NamespaceKey,
    Page,
)


def namespace(ns: Namespace) -> dict[str, Any]:
    return {
        "name": ns.name,
        "description": ns.description,
        "required_fields": ns.required_fields,
        "require_signature": ns.require_signature,
        "created_at": ns.created_at,
    }


def namespace_key(k: NamespaceKey) -> dict[str, Any]:
    return {
        "name": k.name,
        "namespace": k.namespace,
        "public_key": k.public_key,
        "fingerprint": k.fingerprint,
        "added_by": k.added_by,
        "created_at": k.created_at,
    }


def page(p: Page[Any], draw: Any) -> dict[str, Any]:
    return {"items": [draw(item) for item in p.items], "next_cursor": p.next_cursor}


class FastJSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_UTC_Z)


def ok(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    """Plain values straight to JSON: returning a response skips FastAPI's model validation and
    ``jsonable_encoder`` walk, which would cost more than the database read behind them."""
    return FastJSON(content, status_code=status, headers=headers)
