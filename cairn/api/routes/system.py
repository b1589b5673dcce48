"""Health, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from cairn.api.bodies import StrictBodyRoute
from cairn.api.deps import Reg, authenticate
from cairn.api.errors import error_response
from cairn.api.routes import API_PREFIX
from cairn.services.auth import EVERYWHERE, Actor, Permission, authorize

router = APIRouter(route_class=StrictBodyRoute, tags=["system"])


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


@router.get(f"{API_PREFIX}/server")
async def server(reg: Reg, request: Request, challenge: str | None = None) -> dict[str, Any]:
    """Which server this is: its public id and, given a ``challenge``, the proof that it holds
    its data folder's key, bound to the address the connection came in on. The CLI and SDK on
    the same machine send the local admin token only to a server whose proof checks out."""
    answer = reg.server.answer(challenge, request.scope.get("server"))
    return {"id": answer.id, "proof": answer.proof}


@router.get("/metrics")
async def metrics(request: Request, actor: Annotated[Actor, Depends(authenticate)]) -> Response:
    """Prometheus metrics: public unless ``CAIRN_METRICS_PUBLIC`` is false (then admins only)."""
    if not request.app.state.registry.settings.metrics_public:
        authorize(actor, Permission.ADMIN, EVERYWHERE)
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
