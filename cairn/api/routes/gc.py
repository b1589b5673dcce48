"""Blob garbage collection, for global admins: ``POST /gc``."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Response

from cairn.api.bodies import StrictBodyRoute, ok
from cairn.api.deps import Admin, Svc
from cairn.api.routes import API_PREFIX
from cairn.wire.blobs import Blob
from cairn.wire.gc import Collection, CollectionReport

router = APIRouter(route_class=StrictBodyRoute, prefix=API_PREFIX, tags=["gc"])


@router.post("/gc", response_model=CollectionReport)
def collect_garbage(svc: Svc, actor: Admin, body: Collection) -> Response:
    """Delete the blobs no version names that are older than the grace period: ``unreferenced``
    (records no version names) and ``orphaned`` (bytes with no record). A dry run lists them."""
    hours = svc.settings.gc_grace_hours if body.grace_hours is None else body.grace_hours
    report = svc.gc.collect(actor, grace=timedelta(hours=hours), dry_run=body.dry_run)
    return ok(
        CollectionReport(
            dry_run=report.dry_run,
            cutoff=report.cutoff,
            deleted=report.deleted,
            bytes=report.bytes,
            unreferenced=[Blob.of(b) for b in report.unreferenced],
            orphaned=[Blob.of(b) for b in report.orphaned],
        )
    )
