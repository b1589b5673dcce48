"""Records drawn as JSON for the wire. The shapes are the API's contract (see the README).

Times stay ``datetime`` objects until ``ok`` renders them: orjson writes them as RFC 3339 in
UTC with a ``Z``, faster than formatting each one in Python."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse

from cairn.domain.audit import checkpoint_text, entry_time
from cairn.domain.records import (
    AliasEvent,
    AuditEntry,
    Checkpoint,
    Delivery,
    Model,
    Namespace,
    NamespaceKey,
    Page,
    Principal,
    Token,
    UploadSession,
    Version,
    Webhook,
)
from cairn.services.auth import Actor, Role
from cairn.storage.blobs import BlobStat
from cairn.wire import versions as wire_versions


def namespace(ns: Namespace) -> dict[str, Any]:
    return {
        "name": ns.name,
        "description": ns.description,
        "required_fields": ns.required_fields,
        "require_signature": ns.require_signature,
        "created_at": ns.created_at,
    }


def model(m: Model) -> dict[str, Any]:
    return {
        "namespace": m.namespace,
        "name": m.name,
        "ref": m.ref,
        "description": m.description,
        "card": m.card,
        "owner": m.owner,
        "tags": m.tags,
        "aliases": m.aliases,
        "latest_version": m.latest_number,
        "created_at": m.created_at,
        "updated_at": m.updated_at,
    }


def version(v: Version) -> dict[str, Any]:
    """Kept for the routes not yet given response models; the shape is ``cairn.wire``'s."""
    return wire_versions.Version.of(v).model_dump(mode="python")


def namespace_key(k: NamespaceKey) -> dict[str, Any]:
    return {
        "name": k.name,
        "namespace": k.namespace,
        "public_key": k.public_key,
        "fingerprint": k.fingerprint,
        "added_by": k.added_by,
        "created_at": k.created_at,
    }


def alias_event(e: AliasEvent) -> dict[str, Any]:
    return {
        "alias": e.alias,
        "action": e.action,
        "version": e.number,
        "previous": e.previous_number,
        "actor": e.actor,
        "at": e.at,
    }


def upload(s: UploadSession) -> dict[str, Any]:
    return {"id": s.id, "offset": s.offset, "expires_at": s.expires_at}


def blob(b: BlobStat) -> dict[str, Any]:
    return {"digest": b.digest, "size": b.size}


def audit_entry(e: AuditEntry) -> dict[str, Any]:
    return {
        "index": e.leaf_index,
        "at": entry_time(e.at),  # to the microsecond, as the leaf hashed it
        "actor": e.actor,
        "action": e.action,
        "subject": e.subject,
        "payload": e.payload,
        "request_id": e.request_id,
        "records": e.records,
        "leaf_hash": e.leaf_hash,
    }


def checkpoint(c: Checkpoint) -> dict[str, Any]:
    return {
        "size": c.size,
        "root": c.root,
        "key_id": c.key_id,
        "signature": c.signature,
        "signed_text": checkpoint_text(c.size, c.root).decode(),
        "at": c.at,
    }


def webhook(h: Webhook) -> dict[str, Any]:
    return {
        "id": h.id,
        "namespace": h.namespace,
        "url": h.url,
        "event_types": h.event_types,
        "enabled": h.enabled,
        "disabled_reason": h.disabled_reason,
        "consecutive_failures": h.consecutive_failures,
        "created_by": h.created_by,
        "created_at": h.created_at,
    }


def delivery(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "webhook": d.webhook_id,
        "event": d.event_id,
        "event_type": d.event_type,
        "subject": d.subject,
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at,
        "last_status": d.last_status,
        "last_error": d.last_error,
        "created_at": d.created_at,
        "updated_at": d.updated_at,
        "log": [
            {"at": a.at, "status": a.status, "error": a.error, "duration_ms": a.duration_ms}
            for a in d.log
        ],
    }


def principal(p: Principal) -> dict[str, Any]:
    return {
        "name": p.name,
        "kind": p.kind,
        "description": p.description,
        "disabled": p.disabled,
        "roles": p.roles,
        "created_by": p.created_by,
        "created_at": p.created_at,
    }


def token(t: Token) -> dict[str, Any]:
    """A token as stored: its public id and facts, never its secret."""
    return {
        "token_id": t.token_id,
        "principal": t.principal,
        "name": t.name,
        "scopes": t.scopes,
        "created_by": t.created_by,
        "created_at": t.created_at,
        "expires_at": t.expires_at,
        "last_used_at": t.last_used_at,
        "revoked_at": t.revoked_at,
    }


def actor(a: Actor) -> dict[str, Any]:
    roles = {ns: _role_names(held) for ns, held in sorted(a.roles.items()) if held}
    if a.global_roles:
        roles["*"] = _role_names(a.global_roles)
    scopes = None
    if a.scopes is not None:
        scopes = {ns: _role_names(held) for ns, held in sorted(a.scopes.items())}
    return {"name": a.name, "roles": roles, "token_id": a.token_id, "scopes": scopes}


def _role_names(roles: frozenset[Role]) -> list[str]:
    return sorted(r.value for r in roles)


def page(p: Page[Any], draw: Any) -> dict[str, Any]:
    return {"items": [draw(item) for item in p.items], "next_cursor": p.next_cursor}


class FastJSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_UTC_Z)


def ok(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    """Plain values straight to JSON: returning a response skips FastAPI's model validation and
    ``jsonable_encoder`` walk, which would cost more than the database read behind them."""
    return FastJSON(content, status_code=status, headers=headers)
