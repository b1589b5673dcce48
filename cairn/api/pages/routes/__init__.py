"""The pages' routes, one module per group of pages (see ``cairn.api.pages``)."""

from __future__ import annotations

from cairn.api.pages.routes import governance, home, models, sign_in

ROUTERS = (home, sign_in, models, governance)
