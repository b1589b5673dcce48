"""The web UI: server-rendered pages over the same services and permissions as the API.

Layout::

    pages/
      render.py      the Jinja environment (autoescaping on), filters, ``page()`` answers
      session.py     sign-in cookie → the actor; CSRF-checked form bodies
      security.py    the headers every page carries (a strict Content-Security-Policy)
      errors.py      a refusal drawn as a page (sign-in → the sign-in page)
      charts.py      SVG drawn on the server (no script needed to see a chart)
      routes/        one module per group of pages; a route reads, calls services, renders
      templates/     one template per page, all extending ``base.html``
      static/        Cairn's own small CSS and JavaScript (no CDN, nothing vendored)

Adding a page: a template in ``templates/``, a route in ``routes/`` (registered in
``routes/__init__.ROUTERS``), a browser test in ``tests/browser/``. Pages are plain
``def`` routes: FastAPI runs them in a worker thread, where the services' blocking calls
belong. A form posts ``application/x-www-form-urlencoded`` with the session's CSRF token
(``session.Posted``).
"""

from __future__ import annotations

# The first segment of every page's path (and of the static files'); the API's own paths
# (/api/v1, MLflow's, /v2/) never start with one of these. The API's docs page is a page too.
PAGE_ROOTS = frozenset(
    {
        "",
        "static",
        "sign-in",
        "sign-out",
        "search",
        "namespaces",
        "models",
        "compare",
        "approvals",
        "deployments",
        "audit",
    }
)
DOCS_PATH = "/api/v1/docs"


def is_page_path(path: str) -> bool:
    return path.split("/", 2)[1] in PAGE_ROOTS or path == DOCS_PATH
