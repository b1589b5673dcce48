"""The API's docs page (``/api/v1/docs``), drawn from the app's own OpenAPI document. The
document does not change while the app runs, so its drawing is kept in ``app.state`` after
the first request; only the frame around it (who is signed in) is drawn each time."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from cairn.api.pages import DOCS_PATH
from cairn.api.pages.api_docs import outline
from cairn.api.pages.render import page, templates
from cairn.api.pages.session import Viewer, viewer
from cairn.errors import Unauthenticated

router = APIRouter(include_in_schema=False)


@router.get(DOCS_PATH, name="api_docs_page")
def api_docs(request: Request) -> HTMLResponse:
    return page(request, "api_docs.html", optional_viewer(request), body=drawn_docs(request))


def drawn_docs(request: Request) -> Markup:
    state = request.app.state
    drawn: Markup | None = getattr(state, "api_docs_html", None)
    if drawn is None:
        document = request.app.openapi()
        fragment = templates.get_template("api_docs_body.html").render(
            openapi_url=request.app.openapi_url, **outline(document)
        )
        # The fragment is the output of an autoescaping template: every value in it is escaped.
        drawn = state.api_docs_html = Markup(fragment)  # noqa: S704
    return drawn


def optional_viewer(request: Request) -> Viewer | None:
    """The docs are public: anyone may read what the API takes; a session only names its user."""
    try:
        return viewer(request)
    except Unauthenticated:
        return None
