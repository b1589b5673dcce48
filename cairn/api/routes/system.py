"""Health, readiness, the server's identity and Prometheus metrics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from cairn.api.bodies import StrictBodyRoute, ok
from cairn.api.deps import Svc, authenticate
from cairn.api.errors import error_response
from cairn.api.routes import API_PREFIX
from cairn.services.auth import EVERYWHERE, Actor, Permission, authorize
from cairn.wire.system import Health, Readiness, ServerIdentity

router = APIRouter(route_class=StrictBodyRoute, tags=["system"])
NOT_READY = "The database or the blob store does not answer. Code: `not_ready`."
PROMETHEUS_TEXT = {
    "description": "The metrics, in Prometheus's text exposition format.",
    "content": {"text/plain": {"schema": {"type": "string"}}},
}


@router.get("/healthz", response_model=Health)
def healthz() -> Response:
    """The process is up."""
    return ok(Health(status="ok"))


@router.get("/readyz", response_model=Readiness, responses={503: {"description": NOT_READY}})
def readyz(svc: Svc) -> Response:
    """The database answers and the blob store is reachable."""
    try:
        with svc.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        svc.blob_store.stat("sha256:" + "0" * 64)
    except Exception as exc:  # readiness reports any failure; it never raises
        return error_response(503, "not_ready", f"not ready: {type(exc).__name__}")
    return ok(Readiness(status="ready"))


@router.get(f"{API_PREFIX}/server", response_model=ServerIdentity)
async def get_server_identity(svc: Svc, request: Request, challenge: str | None = None) -> Response:
    """Which server this is: its public id and, given a ``challenge``, the proof that it holds
    its data folder's key, bound to the address the connection came in on. The CLI and SDK on
    the same machine send the local admin token only to a server whose proof checks out."""
    answer = svc.server.answer(challenge, request.scope.get("server"))
    return ok(ServerIdentity(id=answer.id, proof=answer.proof))


@router.get("/metrics", response_class=Response, responses={200: PROMETHEUS_TEXT, 401: {}, 403: {}})
async def metrics(request: Request, actor: Annotated[Actor, Depends(authenticate)]) -> Response:
    """Prometheus metrics: public unless ``CAIRN_METRICS_PUBLIC`` is false (then admins only)."""
    if not request.app.state.services.settings.metrics_public:
        authorize(actor, Permission.ADMIN, EVERYWHERE)
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
