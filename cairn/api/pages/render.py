"""Drawing a page: the Jinja environment and ``page()``.

Autoescaping is on for every template, so a value a user wrote (a name, a tag, a
description) is text wherever it lands; only ``markdown`` (sanitised HTML) is marked safe.
Undefined names fail loudly instead of drawing as nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from cairn.api.pages.session import Viewer

templates = Environment(
    loader=PackageLoader("cairn.api.pages", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def page(
    request: Request, template: str, viewer: Viewer | None, status: int = 200, **context: Any
) -> HTMLResponse:
    """``template`` drawn for ``viewer`` (None: nobody signed in, as on the sign-in page)."""
    html = templates.get_template(template).render(
        viewer=viewer, path=request.url.path, query=str(request.url.query), **context
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def size(n: int | None) -> str:
    """Bytes for a person: ``1.4 MB``."""
    if n is None:
        return ""
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"


def when(moment: datetime | None) -> str:
    """A time as UTC, to the minute (the full time is in the element's title)."""
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def short(digest: str | None, keep: int = 12) -> str:
    """``sha256:0123456789ab…``: enough to tell digests apart on a page."""
    if not digest:
        return ""
    algorithm, _, hexpart = digest.partition(":")
    return f"{algorithm}:{hexpart[:keep]}…" if hexpart else digest[:keep]


def number(value: float | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return f"{value:.6g}"


templates.filters.update(size=size, when=when, iso=iso, short=short, number=number)
