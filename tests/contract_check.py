"""Holding routes to the OpenAPI document they publish.

A functional test drives a route for real, then asks two questions of the document the same
app serves at ``/api/v1/openapi.json``:

- ``declared(doc, method, path)``: does the operation declare its request body (when it takes
  one) and a response schema that is not ``{}`` for its success status? It answers the
  operation, for further checks.
- ``check_response(doc, method, path, response)``: does the body the route really answered
  validate against the schema the document declares for that status? The schema is closed
  first (``additionalProperties: false`` on every object that lists its properties and says
  nothing of others), so a key the route sends but the document does not name fails too.

``path`` is the document's template (``/api/v1/namespaces/{namespace}/policy``), not a URL.
"""

from __future__ import annotations

import copy
from typing import Any

import httpx
from jsonschema import Draft202012Validator

Document = dict[str, Any]


def declared(doc: Document, method: str, path: str, *, body: bool) -> dict[str, Any]:
    """The operation, after asserting that it declares a request body if ``body`` (and none
    otherwise) and a non-empty schema for each success response."""
    operation: dict[str, Any] = doc["paths"][path][method.lower()]
    where = f"{method.upper()} {path}"
    if body:
        schema = operation.get("requestBody", {}).get("content", {}).get("application/json")
        assert schema and schema.get("schema"), f"{where} declares no request body"
        assert operation["requestBody"].get("required"), f"{where}: its body is not required"
    else:
        assert "requestBody" not in operation, f"{where} declares a body it does not take"
    successes = {k: v for k, v in operation["responses"].items() if k.startswith("2")}
    assert successes, f"{where} declares no success response"
    for status, response in successes.items():
        if status == "204":
            continue
        for media, content in response.get("content", {}).items():
            assert content.get("schema"), f"{where} {status} {media}: empty schema"
        assert response.get("content"), f"{where} {status}: no content declared"
    return operation


def check_response(doc: Document, method: str, path: str, response: httpx.Response) -> Any:
    """The response's JSON body, after asserting that it validates against the (closed)
    schema the document declares for its status and media type."""
    operation = doc["paths"][path][method.lower()]
    where = f"{method.upper()} {path} {response.status_code}"
    declared_response = operation["responses"].get(str(response.status_code))
    assert declared_response is not None, f"{where}: status not in the document"
    media = response.headers["content-type"].split(";")[0].strip()
    content = declared_response.get("content", {}).get(media)
    assert content is not None, f"{where}: {media} not declared"
    body = response.json()
    schema = {**content["schema"], "components": _closed(doc.get("components", {}))}
    errors = sorted(Draft202012Validator(schema).iter_errors(body), key=str)
    assert not errors, f"{where}: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]
    )
    return body


def _closed(components: dict[str, Any]) -> dict[str, Any]:
    closed = copy.deepcopy(components)
    _close(closed)
    return closed


def _close(node: Any) -> None:
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _close(value)
    elif isinstance(node, list):
        for value in node:
            _close(value)
