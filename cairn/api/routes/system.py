"""Health, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from cairn.api.deps import Reg
from cairn.api.errors import error_response

router = APIRouter(tags=["system"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
def readyz(reg: Reg) -> dict[str, str] | Response:
    """The database answers and the blob store is reachable."""
    try:
        with reg.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        reg.blob_store.stat("sha256:" + "0" * 64)
    except Exception as exc:  # readiness reports any failure; it never raises
        return error_response(503, "not_ready", f"not ready: {type(exc).__name__}")
    return {"status": "ready"}


@router.get("/metrics")
def metrics(request: Request) -> Response:
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
