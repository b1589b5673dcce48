"""Every path the SDK builds (``cairn.wire.paths``) is a route the app mounts, and reaches it
with the values it was given, however they are spelled: the builders cannot drift from the
routes, and no name is taken for another route."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from starlette.routing import Match

from cairn.api.app import api_routes
from cairn.api.routes import API_PREFIX
from cairn.domain.references import Reference
from cairn.wire import paths

# A value for each parameter a builder takes, each needing escapes of its own (a space,
# letters outside ASCII, '?', '#', '%', '/' in a tag key), none equal to another.
SAMPLES: dict[str, Any] = {
    "ns": "risk team ü",
    "name": "fraud #1?",
    "alias_name": "champ%20ion",
    "selector": "@champion",
    "key": "team/owner: x?y#z",
    "digest": "sha256:" + "ab" * 32,
    "session_id": "session 1",
    "validation": "virus scan",
    "token_id": "tok en",
    "role": "approver",
    "request_id": 42,
    "verdict": "approve",
    "webhook_id": 7,
    "delivery_id": 9,
    "ref": Reference("risk team ü", "fraud #1?", alias="champ%20ion"),
}
CONSTANTS = {
    name: value
    for name, value in vars(paths).items()
    if name.isupper() and isinstance(value, str) and name != "API_PREFIX"
}


def builders() -> dict[str, Callable[..., str]]:
    return {
        name: fn
        for name, fn in vars(paths).items()
        if inspect.isfunction(fn)
        and fn.__module__ == paths.__name__
        and name not in ("segment", "selector_of")
    }


def reached(path: str) -> dict[str, Any] | None:
    """The path parameters of the first route ``path`` reaches, decoded as the server
    decodes a URL before it matches one; None if it reaches none."""
    scope = {"type": "http", "method": "GET", "path": unquote(API_PREFIX + path)}
    for route in api_routes():
        match, child = route.matches(scope)
        if match is not Match.NONE:
            found: dict[str, Any] = child["path_params"]
            return found
    return None


def expected_values(name: str, args: list[Any]) -> list[str]:
    values: list[str] = []
    for arg in args:
        if isinstance(arg, Reference):
            values += [arg.namespace, arg.model]
            if name != "model_of":  # a model's path names no version
                values.append(paths.selector_of(arg))
        else:
            values.append(str(arg))
    return sorted(values)


def test_every_fixed_path_is_a_route() -> None:
    assert len(CONSTANTS) > 10
    for name, path in CONSTANTS.items():
        assert reached(path) == {}, (name, path)


def test_every_builder_reaches_its_route_with_the_values_it_was_given() -> None:
    assert len(builders()) > 40
    for name, build in builders().items():
        args = [SAMPLES[p] for p in inspect.signature(build).parameters]
        path = build(*args)
        assert "?" not in path and "#" not in path and " " not in path, (name, path)
        params = reached(path)
        assert params is not None, f"{name}: {path} reaches no route"
        assert sorted(str(v) for v in params.values()) == expected_values(name, args), (name, path)


def test_a_version_selector_keeps_its_at_and_a_number_or_latest_reach_the_same_route() -> None:
    for selector in (3, "latest", "@champion"):
        path = paths.version("risk", "fraud", selector)
        assert path.endswith(f"/versions/{selector}")
        assert reached(path) == {"namespace": "risk", "model": "fraud", "selector": str(selector)}
    assert paths.version_of(Reference("risk", "fraud", number=3)).endswith("/versions/3")
    assert paths.version_of(Reference("risk", "fraud")).endswith("/versions/latest")


def test_a_slash_in_a_tag_key_stays_in_the_key() -> None:
    path = paths.version_tag("risk", "fraud", 1, "team/owner")
    assert path.endswith("/tags/team%2Fowner")
    assert reached(path) == {
        "namespace": "risk",
        "model": "fraud",
        "selector": "1",
        "key": "team/owner",
    }
    assert reached(paths.model_tag("risk", "fraud", "a/b/c")) == {
        "namespace": "risk",
        "model": "fraud",
        "key": "a/b/c",
    }
