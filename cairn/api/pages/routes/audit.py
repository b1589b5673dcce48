"""The audit log: its entries (the whole log for global admins, a namespace's slice for its
readers), the latest signed checkpoint and a check of it, and one entry with its inclusion
proof, which the page's script verifies in the browser (``static/cairn.js``)."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from cairn.api.deps import Svc
from cairn.api.pages.render import page
from cairn.api.pages.session import Looking
from cairn.domain.audit import checkpoint_signed, entry_document
from cairn.domain.merkle import verify_consistency
from cairn.domain.numbers import INDEX_MAX
from cairn.domain.records import AuditEntry, Checkpoint
from cairn.services.auth import EVERYWHERE, Actor, Permission
from cairn.services.container import Services

router = APIRouter(include_in_schema=False)
SHOWN = 50
FILTERS = ("namespace", "subject", "actor", "action")
After = Annotated[int | None, Query(ge=-1, le=INDEX_MAX)]
Index = Annotated[int, Path(ge=0, le=INDEX_MAX)]


@router.get("/audit", name="audit_page")
def audit_log(request: Request, svc: Svc, viewer: Looking, after: After = None) -> HTMLResponse:
    asked = {k: v.strip() for k, v in request.query_params.items() if k != "after" and v.strip()}
    return page(request, "audit.html", viewer, **log_view(svc, viewer.actor, asked, after))


@router.get("/audit/entries/{index}", name="audit_entry_page")
def audit_entry(request: Request, svc: Svc, viewer: Looking, index: Index) -> HTMLResponse:
    return page(request, "audit_entry.html", viewer, **entry_view(svc, viewer.actor, index))


def log_view(
    svc: Services, actor: Actor, asked: dict[str, str], after: int | None
) -> dict[str, Any]:
    """The entries the filters in ``asked`` pick, the checkpoint, and its check if asked."""
    whole = actor.may(Permission.ADMIN, EVERYWHERE)
    namespace = asked.get("namespace")
    filters = {
        "subject": asked.get("subject"),
        "who": asked.get("actor"),
        "action": asked.get("action"),
    }
    entries: list[AuditEntry] = []
    if namespace:
        entries = svc.audit.namespace_entries(actor, namespace, after=after, limit=SHOWN, **filters)
    elif whole:
        entries = svc.audit.entries(actor, after=after, limit=SHOWN, **filters)
    latest = svc.audit.checkpoint(actor)
    keys = {str(k["key_id"]): k["public_key"] for k in svc.audit.key_chain(actor)}
    asked_check = "verify" in asked and latest is not None
    return {
        "entries": entries,
        "asked": asked,
        "filter_query": urlencode({k: v for k, v in asked.items() if k in FILTERS}),
        "after": after,
        "whole": whole,
        "namespaces": [] if whole else svc.namespaces.all(actor),
        "next_after": entries[-1].leaf_index if len(entries) == SHOWN else None,
        "newest_after": max(-1, latest.size - SHOWN - 1) if latest else None,
        "checkpoint": latest,
        **(checkpoint_check(svc, actor, latest, keys, asked) if asked_check else {"check": None}),
    }


def checkpoint_check(
    svc: Services,
    actor: Actor,
    latest: Checkpoint | None,
    keys: dict[str, str | int | None],
    asked: dict[str, str],
) -> dict[str, Any]:
    """The check of ``latest``: its signature by the published key it names and, if a
    checkpoint seen before is given, that the log only grew since. Done here with the domain's
    functions (``check``, lines of (passed, what)), and again by the page's script from what
    ``browser`` holds (the checkpoint, its key, and the consistency proof)."""
    assert latest is not None
    public = keys.get(latest.key_id)
    signed = isinstance(public, str) and checkpoint_signed(
        public, latest.size, latest.root, latest.signature
    )
    check = [(signed, f"the signature of checkpoint {latest.size} by {latest.key_id}")]
    browser: dict[str, Any] = {"checkpoint": {**proof_checkpoint(latest), "public_key": public}}
    seen_size, seen_root = asked.get("seen_size", ""), asked.get("seen_root", "").lower()
    if seen_size or seen_root:
        proof = consistency(svc, actor, latest, seen_size, seen_root)
        grown = proof is not None and verify_consistency(
            int(seen_size),
            latest.size,
            bytes.fromhex(seen_root),
            bytes.fromhex(latest.root),
            [bytes.fromhex(h) for h in proof],
        )
        what = f"the log only grew since the checkpoint of size {seen_size} seen before"
        check.append((grown, what))
        browser["seen"] = {"size": seen_size, "root": seen_root, "proof": proof}
    verified = all(passed for passed, _ in check)
    return {"check": check, "verified": verified, "browser": browser}


def consistency(
    svc: Services, actor: Actor, latest: Checkpoint, seen_size: str, seen_root: str
) -> list[str] | None:
    """The proof that the log of ``latest`` extends the one of the size seen before; None if
    what was seen cannot be a checkpoint of this log (no size up to the latest, no hex root)."""
    try:
        size = int(seen_size)
        bytes.fromhex(seen_root)
    except ValueError:
        return None
    if not 0 <= size <= latest.size:
        return None
    return svc.audit.consistency_proof(actor, size, latest.size) if size else []


def proof_checkpoint(latest: Checkpoint) -> dict[str, Any]:
    return {
        "size": latest.size,
        "root": latest.root,
        "key_id": latest.key_id,
        "signature": latest.signature,
    }


def entry_view(svc: Services, actor: Actor, index: int) -> dict[str, Any]:
    """One entry, and what the browser needs to prove it is in the latest signed checkpoint."""
    entry = svc.audit.entry(actor, index)
    latest = svc.audit.checkpoint(actor)
    document = entry_document(
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        subject=entry.subject,
        payload=entry.payload,
        request_id=entry.request_id,
        records=entry.records,
    )
    proof = None
    if latest is not None and index < latest.size:
        _, path = svc.audit.inclusion_proof(actor, index, latest.size)
        keys = {k["key_id"]: k["public_key"] for k in svc.audit.key_chain(actor)}
        proof = {
            "document": document,
            "leaf_hash": entry.leaf_hash,
            "index": index,
            "path": path,
            "checkpoint": {**proof_checkpoint(latest), "public_key": keys.get(latest.key_id)},
        }
    return {
        "entry": entry,
        "payload_text": json.dumps(entry.payload, indent=2, sort_keys=True, ensure_ascii=False),
        "records": sorted((entry.records or {}).items()),
        "checkpoint": latest,
        "proof": proof,
    }
