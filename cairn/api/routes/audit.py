"""The verifiable audit log: entries, the latest signed checkpoint, inclusion and consistency
proofs, and the key that signs checkpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from cairn.api.bodies import StrictBodyRoute, ok
from cairn.api.deps import Admin, LogIndex, SignedIn, Svc
from cairn.api.routes import API_PREFIX
from cairn.domain.numbers import INDEX_MAX
from cairn.wire.audit import (
    AuditEntry,
    ChainKey,
    Checkpoint,
    ConsistencyProof,
    InclusionProof,
    KeyRotation,
    SigningKey,
)
from cairn.wire.base import Items

router = APIRouter(route_class=StrictBodyRoute, prefix=API_PREFIX + "/audit", tags=["audit"])


@router.get("/entries", response_model=Items[AuditEntry])
def list_audit_entries(
    svc: Svc,
    actor: Admin,
    subject: str | None = None,
    actor_name: str | None = None,
    action: str | None = None,
    after: Annotated[int | None, Query(ge=-1, le=INDEX_MAX)] = None,  # -1: from the first
    limit: int = 100,
) -> Response:
    """Entries in log order after leaf index ``after``; ``subject`` matches a prefix
    (``risk/fraud`` finds the model and its versions)."""
    found = svc.audit.entries(
        actor, subject=subject, who=actor_name, action=action, after=after, limit=limit
    )
    return ok(Items[AuditEntry](items=[AuditEntry.of(e) for e in found]))


@router.get("/checkpoint", response_model=Checkpoint | None)
async def latest_checkpoint(svc: Svc, actor: SignedIn) -> Response:
    """The latest signed checkpoint (tree size and root); every committed entry is in it.
    Null while the log is empty."""
    found = await run_in_threadpool(svc.audit.checkpoint, actor)
    return ok(None if found is None else Checkpoint.of(found))


@router.get("/key", response_model=SigningKey)
def signing_key(svc: Svc, actor: SignedIn) -> Response:
    """The public key that signs checkpoints now (the last of ``/audit/keys``)."""
    chain = svc.audit.key_chain(actor)
    return ok(SigningKey.of(chain[-1]))


@router.get("/keys", response_model=Items[ChainKey])
def list_audit_keys(svc: Svc, actor: SignedIn) -> Response:
    """Every key that has signed checkpoints, oldest first, each after the first with the
    rotation entry (leaf ``index``) that announced it and its predecessor's endorsement."""
    return ok(Items[ChainKey](items=[ChainKey.of(k) for k in svc.audit.key_chain(actor)]))


@router.post("/keys", status_code=201, response_model=KeyRotation)
def rotate_audit_key(svc: Svc, actor: Admin) -> Response:
    """Rotate the checkpoint key (global admins): a new key, announced in the log and endorsed
    by the key in force, which signs the handover checkpoint; later ones use the new key."""
    return ok(KeyRotation.of(svc.audit.rotate_key(actor)), 201)


@router.get("/checkpoints", response_model=Items[Checkpoint])
def list_checkpoints(
    svc: Svc,
    actor: SignedIn,
    after: Annotated[int, Query(ge=0, le=INDEX_MAX)] = 0,
    limit: int = 1000,
) -> Response:
    """Signed checkpoints of sizes above ``after``, smallest first; each names its key."""
    found = svc.audit.checkpoints(actor, after, limit)
    return ok(Items[Checkpoint](items=[Checkpoint.of(c) for c in found]))


@router.get("/proofs/inclusion", response_model=InclusionProof)
def inclusion_proof(svc: Svc, actor: SignedIn, index: LogIndex, size: LogIndex) -> Response:
    """Proof that the entry at leaf ``index`` is in the tree of ``size`` (a signed size)."""
    leaf, proof = svc.audit.inclusion_proof(actor, index, size)
    return ok(InclusionProof(index=index, size=size, leaf_hash=leaf, proof=proof))


@router.get("/proofs/consistency", response_model=ConsistencyProof)
def consistency_proof(svc: Svc, actor: SignedIn, old: LogIndex, new: LogIndex) -> Response:
    """Proof that the tree of size ``new`` extends the tree of size ``old``."""
    proof = svc.audit.consistency_proof(actor, old, new)
    return ok(ConsistencyProof(old_size=old, new_size=new, proof=proof))
