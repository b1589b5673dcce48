"""Namespaces."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from cairn.api import wire
from cairn.api.deps import Admin, Body, Reader, Reg, reading
from cairn.api.routes import API_PREFIX
from cairn.domain.numbers import INDEX_MAX
from cairn.errors import InvalidInput

router = APIRouter(prefix=API_PREFIX + "/namespaces", tags=["namespaces"])
AFTER = Annotated[int | None, Query(ge=-1, le=INDEX_MAX)]  # a leaf index; -1: from the first


@router.get("")
async def list_namespaces(reg: Reg, actor: Reader) -> Response:
    found = await reading(reg, reg.namespaces.all, actor)
    return wire.ok({"items": [wire.namespace(ns) for ns in found]})


@router.post("", status_code=201)
def create_namespace(reg: Reg, actor: Admin, body: Body) -> Response:
    if not isinstance(body, dict) or set(body) - {"name", "description"}:
        raise InvalidInput("a namespace is {name, description}")
    name, description = body.get("name"), body.get("description", "")
    return wire.ok(wire.namespace(reg.namespaces.create(actor, name, description)), 201)


@router.get("/{namespace}")
async def get_namespace(reg: Reg, actor: Reader, namespace: str) -> Response:
    return wire.ok(wire.namespace(await reading(reg, reg.namespaces.get, actor, namespace)))


@router.put("/{namespace}/required-fields")
def set_required_fields(reg: Reg, actor: Admin, namespace: str, body: Body) -> Response:
    fields = body.get("required_fields") if isinstance(body, dict) else None
    return wire.ok(wire.namespace(reg.namespaces.set_required_fields(actor, namespace, fields)))


@router.put("/{namespace}/require-signature")
def require_signature(reg: Reg, actor: Admin, namespace: str, body: Body) -> Response:
    """``{"require_signature": true}``: refuse versions whose signature does not verify."""
    required = body.get("require_signature") if isinstance(body, dict) else None
    return wire.ok(wire.namespace(reg.keys.require_signatures(actor, namespace, required)))


@router.get("/{namespace}/keys")
async def list_keys(reg: Reg, actor: Reader, namespace: str) -> Response:
    found = await reading(reg, reg.keys.list, actor, namespace)
    return wire.ok({"items": [wire.namespace_key(k) for k in found]})


@router.post("/{namespace}/keys", status_code=201)
def add_key(reg: Reg, actor: Admin, namespace: str, body: Body) -> Response:
    """Trust a public key to sign this namespace's models: ``{name, public_key}`` (PEM)."""
    if not isinstance(body, dict) or set(body) != {"name", "public_key"}:
        raise InvalidInput("a key is {name, public_key}")
    added = reg.keys.add(actor, namespace, body["name"], body["public_key"])
    return wire.ok(wire.namespace_key(added), 201)


@router.delete("/{namespace}/keys/{name}", status_code=204)
def remove_key(reg: Reg, actor: Admin, namespace: str, name: str) -> Response:
    reg.keys.remove(actor, namespace, name)
    return Response(status_code=204)


@router.get("/{namespace}/audit/entries", tags=["audit"])
def audit_entries(
    reg: Reg,
    actor: Reader,
    namespace: str,
    subject: str | None = None,
    actor_name: str | None = None,
    action: str | None = None,
    after: AFTER = None,
    limit: int = 100,
) -> Response:
    """The namespace's slice of the audit log, for whoever may read the namespace: its entries
    in log order after leaf index ``after``, each provable in the signed log with
    ``/audit/proofs/inclusion``. Entries above namespaces (principals, roles, tokens, webhooks,
    the log's keys, housekeeping) are in no slice."""
    found = reg.audit.namespace_entries(
        actor, namespace, subject=subject, who=actor_name, action=action, after=after, limit=limit
    )
    return wire.ok({"items": [wire.audit_entry(e) for e in found]})
