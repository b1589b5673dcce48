"""The verifiable audit log: entries, the latest signed checkpoint, inclusion and consistency
proofs, and the key that signs checkpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from cairn.api import wire
from cairn.api.bodies import StrictBodyRoute
from cairn.api.deps import Admin, LogIndex, Reg, SignedIn
from cairn.api.routes import API_PREFIX
from cairn.domain.numbers import INDEX_MAX

router = APIRouter(route_class=StrictBodyRoute, prefix=API_PREFIX + "/audit", tags=["audit"])


@router.get("/entries")
def list_entries(
    reg: Reg,
    actor: Admin,
    subject: str | None = None,
    actor_name: str | None = None,
    action: str | None = None,
    after: Annotated[int | None, Query(ge=-1, le=INDEX_MAX)] = None,  # -1: from the first
    limit: int = 100,
) -> Response:
    """Entries in log order after leaf index ``after``; ``subject`` matches a prefix
    (``risk/fraud`` finds the model and its versions)."""
    found = reg.audit.entries(
        actor, subject=subject, who=actor_name, action=action, after=after, limit=limit
    )
    return wire.ok({"items": [wire.audit_entry(e) for e in found]})


@router.get("/checkpoint")
async def latest_checkpoint(reg: Reg, actor: SignedIn) -> Response:
    """The latest signed checkpoint (tree size and root); every committed entry is in it."""
    found = await run_in_threadpool(reg.audit.checkpoint, actor)
    return wire.ok(None if found is None else wire.checkpoint(found))


@router.get("/key")
def signing_key(reg: Reg, actor: SignedIn) -> Response:
    """The public key that signs checkpoints now (the last of ``/audit/keys``)."""
    chain = reg.audit.key_chain(actor)
    return wire.ok({"key_id": chain[-1]["key_id"], "public_key": chain[-1]["public_key"]})


@router.get("/keys")
def key_chain(reg: Reg, actor: SignedIn) -> Response:
    """Every key that has signed checkpoints, oldest first, each after the first with the
    rotation entry (leaf ``index``) that announced it and its predecessor's endorsement."""
    return wire.ok({"items": reg.audit.key_chain(actor)})


@router.post("/keys", status_code=201)
def rotate_key(reg: Reg, actor: Admin) -> Response:
    """Rotate the checkpoint key (global admins): a new key, announced in the log and endorsed
    by the key in force, which signs the handover checkpoint; later ones use the new key."""
    rotation = reg.audit.rotate_key(actor)
    return wire.ok({"index": rotation.index, **rotation.payload()}, 201)


@router.get("/checkpoints")
def list_checkpoints(
    reg: Reg,
    actor: SignedIn,
    after: Annotated[int, Query(ge=0, le=INDEX_MAX)] = 0,
    limit: int = 1000,
) -> Response:
    """Signed checkpoints of sizes above ``after``, smallest first; each names its key."""
    found = reg.audit.checkpoints(actor, after, limit)
    return wire.ok({"items": [wire.checkpoint(c) for c in found]})


@router.get("/proofs/inclusion")
def inclusion_proof(reg: Reg, actor: SignedIn, index: LogIndex, size: LogIndex) -> Response:
    leaf, proof = reg.audit.inclusion_proof(actor, index, size)
    return wire.ok({"index": index, "size": size, "leaf_hash": leaf, "proof": proof})


@router.get("/proofs/consistency")
def consistency_proof(reg: Reg, actor: SignedIn, old: LogIndex, new: LogIndex) -> Response:
    proof = reg.audit.consistency_proof(actor, old, new)
    return wire.ok({"old_size": old, "new_size": new, "proof": proof})
