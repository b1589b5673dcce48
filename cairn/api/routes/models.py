"""Models, their tags and their aliases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response

from cairn.api import wire
from cairn.api.bodies import StrictBodyRoute
from cairn.api.deps import Admin, Body, Deployer, Reader, Reg, Writer, reading
from cairn.api.routes import API_PREFIX
from cairn.domain.names import normalize_alias
from cairn.domain.references import model_ref
from cairn.errors import InvalidInput

router = APIRouter(route_class=StrictBodyRoute, prefix=API_PREFIX, tags=["models"])
MODEL = "/models/{namespace}/{model}"


@router.get("/models")
async def list_models(
    reg: Reg,
    actor: Reader,
    namespace: str | None = None,
    filter: str | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Response:
    """Models, oldest first, optionally in one namespace and matching a filter."""
    page = await reading(reg, reg.models.page, actor, namespace, filter, cursor, limit)
    return wire.ok(wire.page(page, wire.model))


@router.post("/models/{namespace}", status_code=201)
def create_model(reg: Reg, actor: Writer, namespace: str, body: Body) -> Response:
    if not isinstance(body, dict):
        raise InvalidInput("a model is a JSON object with at least a name")
    return wire.ok(wire.model(reg.models.create(actor, namespace, body.get("name"), body)), 201)


@router.get(MODEL)
async def get_model(reg: Reg, actor: Reader, namespace: str, model: str) -> Response:
    return wire.ok(wire.model(await reading(reg, reg.models.get, actor, namespace, model)))


@router.patch(MODEL)
def update_model(reg: Reg, actor: Writer, namespace: str, model: str, body: Body) -> Response:
    return wire.ok(wire.model(reg.models.update(actor, namespace, model, body)))


@router.delete(MODEL, status_code=204)
def delete_model(reg: Reg, actor: Admin, namespace: str, model: str) -> Response:
    reg.models.delete(actor, namespace, model)
    return Response(status_code=204)


@router.put(MODEL + "/tags/{key:path}", status_code=204)
def set_model_tag(
    reg: Reg, actor: Writer, namespace: str, model: str, key: str, body: Body
) -> Response:
    reg.models.set_tag(actor, namespace, model, key, tag_value(body))
    return Response(status_code=204)


@router.delete(MODEL + "/tags/{key:path}", status_code=204)
def delete_model_tag(reg: Reg, actor: Writer, namespace: str, model: str, key: str) -> Response:
    reg.models.delete_tag(actor, namespace, model, key)
    return Response(status_code=204)


@router.get(MODEL + "/aliases")
async def list_aliases(reg: Reg, actor: Reader, namespace: str, model: str) -> Response:
    return wire.ok({"aliases": await reading(reg, reg.aliases.current, actor, namespace, model)})


@router.get(MODEL + "/aliases/{alias}")
async def resolve_alias(
    reg: Reg, actor: Reader, namespace: str, model: str, alias: str, at: str | None = None
) -> Response:
    """The version the alias names now, or named at the time ``at`` (ISO 8601, with zone)."""
    if at is None:
        ref = model_ref(namespace, model, alias=normalize_alias(alias))
    else:
        when = parse_time(at)
        number = await reading(reg, reg.aliases.at, actor, namespace, model, alias, when)
        ref = model_ref(namespace, model, number=number)
    return wire.ok(wire.version(await reading(reg, reg.versions.get, actor, ref, with_files=False)))


@router.put(MODEL + "/aliases/{alias}")
def set_alias(
    reg: Reg, actor: Deployer, namespace: str, model: str, alias: str, body: Body
) -> Response:
    """``{"version": N, "override"?: "reason"}``: a blocked version is refused (409
    ``version_blocked``) unless an admin of the namespace gives a reason to override it."""
    number = body.get("version") if isinstance(body, dict) else None
    if type(number) is not int or number < 1:
        raise InvalidInput('set an alias with {"version": <number>}')
    found = reg.aliases.set(actor, namespace, model, alias, number, body.get("override"))
    return wire.ok(wire.version(found))


@router.delete(MODEL + "/aliases/{alias}", status_code=204)
def delete_alias(reg: Reg, actor: Deployer, namespace: str, model: str, alias: str) -> Response:
    reg.aliases.delete(actor, namespace, model, alias)
    return Response(status_code=204)


@router.get(MODEL + "/alias-history")
async def alias_history(
    reg: Reg, actor: Reader, namespace: str, model: str, alias: str | None = None
) -> Response:
    """Every move of the model's aliases (or of one), oldest first."""
    events = await reading(reg, reg.aliases.history, actor, namespace, model, alias)
    return wire.ok({"items": [wire.alias_event(e) for e in events]})


def parse_time(raw: str) -> datetime:
    try:
        return datetime.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidInput("a time is ISO 8601, e.g. 2026-03-03T14:00:00Z", value=raw[:60]) from exc


def tag_value(body: Any) -> str:
    if not isinstance(body, dict) or set(body) != {"value"}:
        raise InvalidInput('a tag is set with {"value": "..."}')
    value = body["value"]
    if not isinstance(value, str):
        raise InvalidInput("a tag value is a string")
    return value
