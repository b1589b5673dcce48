"""The first page: search, what is in production, what waits for the viewer's approval, and
the namespaces the viewer can read."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from cairn.api.deps import Svc
from cairn.api.pages.render import page
from cairn.api.pages.session import Looking
from cairn.services.auth import Actor, Permission
from cairn.services.container import Services

router = APIRouter(include_in_schema=False)
SHOWN = 20


@router.get("/", name="home_page")
def home(request: Request, svc: Svc, viewer: Looking) -> HTMLResponse:
    return page(request, "home.html", viewer, **overview(svc, viewer.actor))


def overview(svc: Services, actor: Actor) -> dict[str, Any]:
    namespaces = svc.namespaces.all(actor)
    production = svc.versions.search(actor, "state = 'production'", None, SHOWN).items
    pending = [
        request
        for ns in namespaces
        if actor.may(Permission.APPROVE, ns.name)
        for request in svc.lifecycle.requests(actor, ns.name)
        if request.requested_by != actor.name
        and all(a.approver != actor.name for a in request.approvals)
    ]
    return {
        "namespaces": namespaces,
        "production": production,
        "pending": pending[:SHOWN],
        "recent": svc.audit.recent(actor, SHOWN),
    }
