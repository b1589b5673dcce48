"""Search: versions or models picked by Cairn's filter language (``cairn.domain.filters``),
a page at a time; a filter that does not parse is shown where it went wrong, with the fields,
operators and examples the language takes."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from cairn.api.deps import Svc
from cairn.api.pages.render import page
from cairn.api.pages.session import Looking
from cairn.errors import InvalidFilter
from cairn.services.auth import Actor
from cairn.services.container import Services

router = APIRouter(include_in_schema=False)
SHOWN = 25
Kind = Literal["versions", "models"]

FIELDS = [
    ("name, namespace, author, description, owner", "text: = != IN LIKE", "name LIKE 'fraud%'"),
    ("number", "= != < <= > >= IN", "number >= 3"),
    ("state", "= != IN", "state IN ('staging', 'production')"),
    ("alias", "= != IN LIKE", "alias = 'champion'"),
    ("created, updated", "< <= > >= (dates)", "created > '2026-01-01'"),
    ("tags.<key>", "text: = != IN LIKE", "tags.team = 'risk'"),
    ("metrics.<key>", "= != < <= > >= IN", "metrics.auc >= 0.9"),
    ("params.<key>", "text: = != IN LIKE", "params.depth = '6'"),
    ("has(<keyed field>)", "present at all", "has(metrics.auc)"),
]
EXAMPLES = [
    "state = 'production' AND metrics.auc > 0.9",
    "namespace = 'risk' AND NOT tags.deprecated = 'yes'",
    "name LIKE '%fraud%' OR alias = 'champion'",
]


@router.get("/search", name="search_page")
def search(
    request: Request,
    svc: Svc,
    viewer: Looking,
    q: str = "",
    kind: Kind = "versions",
    cursor: str | None = None,
) -> HTMLResponse:
    shown: dict[str, Any] = {"q": q, "kind": kind, "fields": FIELDS, "examples": EXAMPLES}
    try:
        found = results(svc, viewer.actor, q, kind, cursor)
    except InvalidFilter as refused:
        return page(request, "search.html", viewer, 400, **shown, **problem(q, refused))
    return page(request, "search.html", viewer, **shown, **found)


def results(svc: Services, actor: Actor, q: str, kind: Kind, cursor: str | None) -> dict[str, Any]:
    if kind == "models":
        listing: Any = svc.models.page(actor, None, q, cursor, SHOWN)
    else:
        listing = svc.versions.search(actor, q, cursor, SHOWN)
    after = listing.next_cursor
    more = urlencode({"q": q, "kind": kind, "cursor": after}) if after else None
    return {"items": listing.items, "next_query": more, "problem": None}


def problem(q: str, refused: InvalidFilter) -> dict[str, Any]:
    """The message, and the filter cut where it went wrong (the position is 0-based)."""
    at = refused.details.get("position")
    at = at if isinstance(at, int) and 0 <= at <= len(q) else None
    cut = None if at is None else (q[:at], q[at : at + 1], q[at + 1 :])
    return {"items": [], "next_query": None, "problem": {"message": refused.message, "cut": cut}}
