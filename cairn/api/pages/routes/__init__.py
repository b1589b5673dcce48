"""The pages' routes, one module per group of pages (see ``cairn.api.pages``)."""

from __future__ import annotations

from cairn.api.pages.routes import (
    audit,
    compare,
    docs,
    governance,
    home,
    models,
    search,
    sign_in,
    versions,
)

ROUTERS = (home, sign_in, models, versions, compare, governance, search, audit, docs)
