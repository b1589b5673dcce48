"""The rule of ``cairn.api.running`` holds in every route: an ``async def`` route never calls a
service directly (it would run blocking code on the event loop); it hands the call to
``reading``, ``gated``, ``writing``, ``consume_body`` or ``run_in_threadpool``."""

from __future__ import annotations

import ast
from pathlib import Path

import cairn.api
from cairn.api import deps, running

API = Path(cairn.api.__file__).parent
# Service calls that do no I/O at all, which the rule lets run in place.
IN_MEMORY = {"reg.server.answer"}  # an HMAC with a key read at start-up


def _rooted_at_reg(node: ast.expr) -> bool:
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name) and node.id == "reg"


def _direct_service_calls(route: ast.AsyncFunctionDef) -> list[str]:
    found: list[str] = []
    lambdas = {
        id(n) for lam in ast.walk(route) if isinstance(lam, ast.Lambda) for n in ast.walk(lam)
    }
    for node in ast.walk(route):
        if (
            isinstance(node, ast.Call)
            and id(node) not in lambdas
            and _rooted_at_reg(node.func)
            and ast.unparse(node.func) not in IN_MEMORY
        ):
            found.append(f"line {node.lineno}: {ast.unparse(node.func)}")
    return found


def _is_route(fn: ast.AsyncFunctionDef) -> bool:
    return any(
        isinstance(d, ast.Call)
        and isinstance(d.func, ast.Attribute)
        and isinstance(d.func.value, ast.Name)
        and d.func.value.id == "router"
        for d in fn.decorator_list
    )


def test_no_async_route_calls_a_service_on_the_event_loop() -> None:
    offenders = []
    for module in sorted(API.rglob("*.py")):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if isinstance(fn, ast.AsyncFunctionDef) and _is_route(fn):
                offenders += [
                    f"{module.relative_to(API)} {fn.name} {c}" for c in _direct_service_calls(fn)
                ]
    assert offenders == []


def test_routes_find_the_helpers_where_they_always_did() -> None:
    assert (deps.reading, deps.gated, deps.writing) == (
        running.reading,
        running.gated,
        running.writing,
    )
