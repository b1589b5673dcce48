"""Blob garbage collection, for global admins: ``POST /gc``.

The body is ``{"dry_run": bool, "grace_hours": number}``, both optional (a real run, with the
grace of ``CAIRN_GC_GRACE_HOURS``). The answer lists the blobs deleted, or that a dry run
would delete: ``unreferenced`` (rows no version names) and ``orphaned`` (bytes with no row).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Response

from cairn.api import wire
from cairn.api.bodies import StrictBodyRoute
from cairn.api.deps import Admin, Body, Reg
from cairn.api.routes import API_PREFIX
from cairn.errors import InvalidInput
from cairn.services.gc import GcReport

router = APIRouter(route_class=StrictBodyRoute, prefix=API_PREFIX, tags=["gc"])
MAX_GRACE_HOURS = 24 * 365


@router.post("/gc")
def collect_garbage(reg: Reg, actor: Admin, body: Body) -> Response:
    """Delete the blobs no version names that are older than the grace period."""
    dry_run, grace_hours = _parse(body, reg.settings.gc_grace_hours)
    report = reg.gc.collect(actor, grace=timedelta(hours=grace_hours), dry_run=dry_run)
    return wire.ok(_report(report))


def _parse(body: Any, default_grace: float) -> tuple[bool, float]:
    if not isinstance(body, dict) or not set(body) <= {"dry_run", "grace_hours"}:
        raise InvalidInput('ask with {"dry_run": true|false, "grace_hours": N}')
    dry_run = body.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise InvalidInput("dry_run is true or false", field="dry_run")
    grace = body.get("grace_hours", default_grace)
    # bool is an int in Python, but ``true`` hours means nothing.
    if isinstance(grace, bool) or not isinstance(grace, int | float):
        raise InvalidInput("grace_hours is a number of hours", field="grace_hours")
    if not 0 <= grace <= MAX_GRACE_HOURS:
        raise InvalidInput(f"grace_hours is between 0 and {MAX_GRACE_HOURS}", field="grace_hours")
    return dry_run, float(grace)


def _report(report: GcReport) -> dict[str, Any]:
    return {
        "dry_run": report.dry_run,
        "cutoff": report.cutoff,
        "deleted": report.deleted,
        "bytes": report.bytes,
        "unreferenced": [wire.blob(b) for b in report.unreferenced],
        "orphaned": [wire.blob(b) for b in report.orphaned],
    }
