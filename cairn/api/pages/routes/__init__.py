"""The pages' routes, one module per group of pages (see ``cairn.api.pages``)."""

from __future__ import annotations

from cairn.api.pages.routes import audit, docs, governance, home, models, search, sign_in

ROUTERS = (home, sign_in, models, governance, search, audit, docs)
