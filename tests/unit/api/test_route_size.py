"""Routes stay thin: parse, call one service method, answer (STYLE.md §1). A route whose body
grows past the budget is holding a rule that belongs in a service, or a parser that belongs
in the edge kit."""

from __future__ import annotations

import ast
import inspect
import textwrap

from fastapi.routing import APIRoute

from cairn.api.app import api_routes, oci_routes
from cairn.api.pages.routes import ROUTERS as PAGE_ROUTERS

# The whole function is held to about twenty lines: its body (after the docstring, which says
# why and may take what it needs) to fifteen, its signature to one line per parameter.
MAX_BODY_LINES = 15


def body_lines(function: object) -> int:
    """Lines of code in ``function``'s body after its docstring (blank and comment lines not
    counted)."""
    source = textwrap.dedent(inspect.getsource(function))  # type: ignore[arg-type]
    tree = ast.parse(source).body[0]
    assert isinstance(tree, ast.FunctionDef | ast.AsyncFunctionDef)
    statements = tree.body
    if isinstance(statements[0], ast.Expr) and isinstance(statements[0].value, ast.Constant):
        statements = statements[1:]
    lines = source.splitlines()[statements[0].lineno - 1 : tree.end_lineno]
    return sum(1 for line in lines if line.strip() and not line.strip().startswith("#"))


def test_every_route_body_is_at_most_fifteen_lines() -> None:
    pages = [r for m in PAGE_ROUTERS for r in m.router.routes if isinstance(r, APIRoute)]
    routes = [*api_routes(), *oci_routes(), *pages]
    assert len(routes) > 100 and len(pages) > 10  # the walk found the routes it is about
    sizes = {f"{r.endpoint.__module__}.{r.name}": body_lines(r.endpoint) for r in routes}
    assert max(sizes.values()) > 5  # the measure sees code
    assert {name: n for name, n in sizes.items() if n > MAX_BODY_LINES} == {}
