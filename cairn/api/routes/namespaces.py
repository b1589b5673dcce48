"""Namespaces."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from cairn.api.bodies import StrictBodyRoute, ok
from cairn.api.deps import Admin, Reader, Svc, reading
from cairn.api.params import NamespaceName
from cairn.api.routes import API_PREFIX
from cairn.domain.numbers import INDEX_MAX
from cairn.wire.audit import AuditEntry
from cairn.wire.base import Items
from cairn.wire.namespaces import (
    Namespace,
    NamespaceKey,
    NewKey,
    NewNamespace,
    RequiredFields,
    RequireSignature,
)

router = APIRouter(
    route_class=StrictBodyRoute, prefix=API_PREFIX + "/namespaces", tags=["namespaces"]
)
AFTER = Annotated[int | None, Query(ge=-1, le=INDEX_MAX)]  # a leaf index; -1: from the first


@router.get("", response_model=Items[Namespace])
async def list_namespaces(svc: Svc, actor: Reader) -> Response:
    found = await reading(svc, svc.namespaces.all, actor)
    return ok(Items[Namespace](items=[Namespace.of(ns) for ns in found]))


@router.post("", status_code=201, response_model=Namespace)
def create_namespace(svc: Svc, actor: Admin, body: NewNamespace) -> Response:
    return ok(Namespace.of(svc.namespaces.create(actor, body.name, body.description)), 201)


@router.get("/{namespace}", response_model=Namespace)
async def get_namespace(svc: Svc, actor: Reader, namespace: NamespaceName) -> Response:
    return ok(Namespace.of(await reading(svc, svc.namespaces.get, actor, namespace)))


@router.put("/{namespace}/required-fields", response_model=Namespace)
def set_required_fields(
    svc: Svc, actor: Admin, namespace: NamespaceName, body: RequiredFields
) -> Response:
    changed = svc.namespaces.set_required_fields(actor, namespace, body.required_fields)
    return ok(Namespace.of(changed))


@router.put("/{namespace}/require-signature", response_model=Namespace)
def require_signature(
    svc: Svc, actor: Admin, namespace: NamespaceName, body: RequireSignature
) -> Response:
    """Refuse (or accept again) versions whose signature does not verify."""
    changed = svc.keys.require_signatures(actor, namespace, body.require_signature)
    return ok(Namespace.of(changed))


@router.get("/{namespace}/keys", response_model=Items[NamespaceKey])
async def list_keys(svc: Svc, actor: Reader, namespace: NamespaceName) -> Response:
    found = await reading(svc, svc.keys.list, actor, namespace)
    return ok(Items[NamespaceKey](items=[NamespaceKey.of(k) for k in found]))


@router.post("/{namespace}/keys", status_code=201, response_model=NamespaceKey)
def add_key(svc: Svc, actor: Admin, namespace: NamespaceName, body: NewKey) -> Response:
    """Trust a public key (PEM) to sign this namespace's models."""
    return ok(NamespaceKey.of(svc.keys.add(actor, namespace, body.name, body.public_key)), 201)


@router.delete("/{namespace}/keys/{name}", status_code=204)
def remove_key(svc: Svc, actor: Admin, namespace: NamespaceName, name: str) -> Response:
    svc.keys.remove(actor, namespace, name)
    return Response(status_code=204)


@router.get("/{namespace}/audit/entries", tags=["audit"], response_model=Items[AuditEntry])
def list_namespace_audit_entries(
    svc: Svc,
    actor: Reader,
    namespace: NamespaceName,
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
    found = svc.audit.namespace_entries(
        actor, namespace, subject=subject, who=actor_name, action=action, after=after, limit=limit
    )
    return ok(Items[AuditEntry](items=[AuditEntry.of(e) for e in found]))
