"""The application factory: ``create_app(registry)`` wires the routes, errors and metrics."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, suppress

import anyio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

import cairn
from cairn.api.bodies import StrictBodyRoute
from cairn.api.deps import PERMISSION_MARK
from cairn.api.errors import install_error_handlers
from cairn.api.hosts import HostAllowList, allowed_hosts
from cairn.api.metrics import Metrics, MetricsMiddleware
from cairn.api.mlflow import artifacts, model_versions, registered_models, runs, tracking
from cairn.api.mlflow.errors import is_mlflow_path, mlflow_error
from cairn.api.oci import blobs as oci_blobs
from cairn.api.oci import manifests as oci_manifests
from cairn.api.oci.errors import is_oci_path, oci_error
from cairn.api.openapi import check_operation_ids, install_document, operation_id
from cairn.api.pages import is_page_path
from cairn.api.pages import routes as pages
from cairn.api.pages.errors import page_error
from cairn.api.pages.security import PageHeaders
from cairn.api.routes import (
    API_PREFIX,
    audit,
    blobs,
    gc,
    identity,
    imports,
    lifecycle,
    models,
    namespaces,
    system,
    versions,
    webhooks,
)
from cairn.api.webhook_transport import GuardedTransport
from cairn.config import Settings, load_settings
from cairn.domain.webhooks import parse_allow_list
from cairn.services.container import Services

HOUSEKEEPING_SECONDS = 600.0
WORK_SECONDS = 2.0  # pending scans, audit checkpoints, webhook deliveries
# While a round finds work, the next follows this soon: a backlog drains at once, and under a
# stream of writes each round takes a batch rather than contending for the writer lock (and a
# commit's fsync) with the requests after every single one.
BUSY_SECONDS = 0.2
log = logging.getLogger("cairn.server")


def create_app(services: Services) -> FastAPI:
    """An app serving ``services``' API and pages. The caller owns the services and closes
    them."""
    app = FastAPI(
        title="Cairn",
        version=cairn.__version__,
        description="A self-hosted, auditable model registry.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # the pages draw the document themselves (no script from a CDN)
        redoc_url=None,
        # A URL is answered as it is spelled: ".../aliases/" (an empty alias) is a 404, not a
        # redirect to the listing, on every surface (/api/v1, MLflow, /v2/).
        redirect_slashes=False,
        generate_unique_id_function=operation_id,
    )
    app.state.services = services
    if services.webhooks.transport is None:
        allow = parse_allow_list(services.settings.webhook_allow)
        services.webhooks.transport = GuardedTransport(allow)
    app.state.metrics = Metrics()
    check_permissions_declared()
    check_routes_read_strictly()
    check_operation_ids(api_routes())
    for module in (*ROUTERS, *OCI_ROUTERS, *pages.ROUTERS):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(packages=[("cairn.api.pages", "static")]), name="static")
    install_document(app, PUBLIC_ROUTES)
    install_error_handlers(
        app,
        [(is_mlflow_path, mlflow_error), (is_oci_path, oci_error), (is_page_path, page_error)],
    )
    origins = [o.strip() for o in services.settings.cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Idempotency-Key",
                "Upload-Offset",
                "Cairn-Override",
            ],
            expose_headers=["Cairn-Digest", "Location", "Upload-Offset"],
        )
    app.add_middleware(HostAllowList, hosts=allowed_hosts(services.settings))
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(PageHeaders)
    return app


# Routes anyone may call: the process's health, which server it is (a public id, and a proof
# only a client that reads the server's data folder can check), and (when CAIRN_METRICS_PUBLIC)
# its metrics.
PUBLIC_ROUTES = frozenset({"/healthz", "/readyz", "/metrics", "/api/v1/server"})


# Most-used first: the router tries routes in order.
ROUTERS = (
    versions,
    imports,
    blobs,
    models,
    namespaces,
    lifecycle,
    identity,
    audit,
    gc,
    webhooks,
    system,
    # MLflow's REST API (``cairn.api.mlflow``), at the server's root.
    model_versions,
    registered_models,
    tracking,
    runs,
    artifacts,
)
# The OCI Distribution API under /v2/: outside Cairn's API document, held to the same rule.
OCI_ROUTERS = (oci_manifests, oci_blobs)


def api_routes() -> Iterator[APIRoute]:
    """Every route of the API, with its full path (the routers carry their prefixes)."""
    for module in ROUTERS:
        for route in module.router.routes:
            if isinstance(route, APIRoute):
                yield route


def declared_permission(route: APIRoute) -> str | None:
    """The permission a route declares through ``api.deps.needs``, if any."""
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        mark = getattr(dependency.call, PERMISSION_MARK, None)
        if mark is not None:
            return str(mark)
        pending.extend(dependency.dependencies)
    return None


def oci_routes() -> Iterator[APIRoute]:
    for module in OCI_ROUTERS:
        for route in module.router.routes:
            if isinstance(route, APIRoute):
                yield route


def check_permissions_declared() -> None:
    """Refuse to build an app with a route that states no permission: such a route would
    rely on its service alone, and one forgotten check would open it to anyone."""
    for route in api_routes():
        if route.path not in PUBLIC_ROUTES and declared_permission(route) is None:
            raise RuntimeError(f"route {route.path} declares no permission")
    for route in oci_routes():
        if route.path not in oci_manifests.PUBLIC and declared_permission(route) is None:
            raise RuntimeError(f"route {route.path} declares no permission")


def check_routes_read_strictly() -> None:
    """Refuse a route whose body would be read by FastAPI's lenient JSON reader: every
    router is made with ``route_class=StrictBodyRoute`` (see ``api.bodies``)."""
    for route in (*api_routes(), *oci_routes()):
        if route.body_field is not None and not isinstance(route, StrictBodyRoute):
            raise RuntimeError(f"route {route.path} reads its body without StrictBodyRoute")


def app_from_environment() -> FastAPI:
    """The factory uvicorn calls in each worker (``cairn server --workers N``): settings come
    from the documented ``CAIRN_*`` variables, read here, at start-up."""
    return serving_app(load_settings())


def serving_app(settings: Settings) -> FastAPI:
    """The app a server process serves: its own services, and the background rounds
    (housekeeping, pending work) running for as long as it does."""
    services = Services.open(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stopping = asyncio.Event()
        tasks = [
            asyncio.create_task(_every(HOUSEKEEPING_SECONDS, services.maintain, stopping)),
            asyncio.create_task(_every(WORK_SECONDS, services.work, stopping)),
        ]
        yield
        # Not cancelled: a round runs in a worker thread, which a cancelled task would leave
        # running on after the services below are closed (its connections then made in a
        # pool nobody closes). Each loop ends once its round in hand is done.
        stopping.set()
        await asyncio.gather(*tasks)
        services.close()

    app = create_app(services)
    app.router.lifespan_context = lifespan
    return app


async def _every(seconds: float, job: Callable[[], object], stopping: asyncio.Event) -> None:
    """Run ``job`` in a worker thread now and again after ``seconds`` — at once while it
    reports that it found work (any non-zero count), so a backlog drains without waiting —
    until ``stopping`` is set. It never takes the server down: a failure is logged and the
    next round comes."""
    while not stopping.is_set():
        busy = False
        try:
            done = await anyio.to_thread.run_sync(job)
            busy = isinstance(done, dict) and any(v for k, v in done.items() if k != "audit_size")
        except Exception:
            log.exception("background work failed")
        with suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), BUSY_SECONDS if busy else seconds)
