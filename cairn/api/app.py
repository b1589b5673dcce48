"""The application factory: ``create_app(registry)`` wires the routes, errors and metrics."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI

import cairn
from cairn.api.errors import install_error_handlers
from cairn.api.metrics import Metrics, MetricsMiddleware
from cairn.api.routes import API_PREFIX, blobs, models, namespaces, system, versions
from cairn.config import load_settings
from cairn.services.registry import Registry

HOUSEKEEPING_SECONDS = 600.0
log = logging.getLogger("cairn.server")


def create_app(registry: Registry) -> FastAPI:
    """An app serving ``registry``. The caller owns the registry and closes it."""
    app = FastAPI(
        title="Cairn",
        version=cairn.__version__,
        description="A self-hosted, auditable model registry.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.registry = registry
    app.state.metrics = Metrics()
    # Most-used routes first: the router tries routes in order.
    for module in (versions, blobs, models, namespaces):
        app.include_router(module.router)
    app.include_router(system.router)
    install_error_handlers(app)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    return app


def app_from_environment() -> FastAPI:
    """The factory uvicorn calls in each worker (``cairn server --workers N``): settings come
    from the documented ``CAIRN_*`` variables, read here, at start-up."""
    settings = load_settings()
    registry = Registry.open(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        housekeeping = asyncio.create_task(_housekeeping(registry))
        yield
        housekeeping.cancel()
        registry.close()

    app = create_app(registry)
    app.router.lifespan_context = lifespan
    return app


async def _housekeeping(registry: Registry, every: float = HOUSEKEEPING_SECONDS) -> None:
    while True:
        try:
            await anyio.to_thread.run_sync(registry.maintain)
        except Exception:  # housekeeping must never take the server down; it logs and retries
            log.exception("housekeeping failed")
        await asyncio.sleep(every)
