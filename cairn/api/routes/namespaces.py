"""Namespaces."""

from __future__ import annotations

from fastapi import APIRouter, Response

from cairn.api import wire
from cairn.api.deps import Body, Caller, Reg, reading
from cairn.api.routes import API_PREFIX
from cairn.errors import InvalidInput

router = APIRouter(prefix=API_PREFIX + "/namespaces", tags=["namespaces"])


@router.get("")
async def list_namespaces(reg: Reg, actor: Caller) -> Response:
    found = await reading(reg, reg.namespaces.all, actor)
    return wire.ok({"items": [wire.namespace(ns) for ns in found]})


@router.post("", status_code=201)
def create_namespace(reg: Reg, actor: Caller, body: Body) -> Response:
    if not isinstance(body, dict) or set(body) - {"name", "description"}:
        raise InvalidInput("a namespace is {name, description}")
    name, description = body.get("name"), body.get("description", "")
    return wire.ok(wire.namespace(reg.namespaces.create(actor, name, description)), 201)


@router.get("/{namespace}")
async def get_namespace(reg: Reg, actor: Caller, namespace: str) -> Response:
    return wire.ok(wire.namespace(await reading(reg, reg.namespaces.get, actor, namespace)))


@router.put("/{namespace}/required-fields")
def set_required_fields(reg: Reg, actor: Caller, namespace: str, body: Body) -> Response:
    fields = body.get("required_fields") if isinstance(body, dict) else None
    return wire.ok(wire.namespace(reg.namespaces.set_required_fields(actor, namespace, fields)))
