"""The API's docs, drawn on the server from the app's own OpenAPI document: operations grouped
by tag, each with its parameters, an outline of its body's JSON schema (``$ref`` resolved into
``components``), its responses with their error codes, and the security scheme. No script: the
document is the single source, so the page cannot drift from what the API answers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

METHODS = ("get", "post", "put", "patch", "delete", "head")
DEPTH_MAX = 4  # an outline shows nested objects this deep, then names them
ROWS_MAX = 300  # a schema bigger than this is cut (with a note), not drawn whole
_CODE = re.compile(r"``(.+?)``|`([^`]+)`")


@dataclass
class Row:
    """One field of a schema outline, ``depth`` levels inside the body."""

    depth: int
    name: str
    type: str
    required: bool
    description: list[list[tuple[str, bool]]]


@dataclass
class Operation:
    method: str
    path: str
    anchor: str
    summary: str
    description: list[list[tuple[str, bool]]]
    parameters: list[Row]
    body: list[Row] | None
    body_type: str
    responses: list[tuple[str, list[list[tuple[str, bool]]], str, list[Row]]]
    secured: bool


@dataclass
class Tag:
    name: str
    operations: list[Operation] = field(default_factory=list)


def prose(text: str | None) -> list[list[tuple[str, bool]]]:
    """Paragraphs of (text, is_code) runs: the document's Markdown code spans, nothing more
    (every run is escaped where it is drawn)."""
    paragraphs = []
    for part in re.split(r"\n\s*\n", text or ""):
        part = " ".join(part.split())
        if not part:
            continue
        runs: list[tuple[str, bool]] = []
        last = 0
        for found in _CODE.finditer(part):
            runs.append((part[last : found.start()], False))
            runs.append((found.group(1) or found.group(2), True))
            last = found.end()
        runs.append((part[last:], False))
        paragraphs.append([run for run in runs if run[0]])
    return paragraphs


class Outliner:
    """Schemas as rows, resolving ``#/components/schemas/…`` references."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})

    def resolve(self, schema: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
        ref = schema.get("$ref")
        if not isinstance(ref, str):
            return None, schema
        name = ref.rsplit("/", 1)[-1]
        return name, self.schemas.get(name, {})

    def type_of(self, schema: dict[str, Any]) -> str:
        name = self.resolve(schema)[0]
        if name:
            return name
        if "const" in schema:
            return repr(schema["const"])
        if "enum" in schema:
            return "one of " + ", ".join(repr(v) for v in schema["enum"])
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return " or ".join(dict.fromkeys(self.type_of(s) for s in schema[key]))
        kind = schema.get("type", "any")
        if kind == "array":
            return "array of " + self.type_of(schema.get("items", {}))
        if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
            return "object of " + self.type_of(schema["additionalProperties"])
        extra = schema.get("format") or (
            "pattern " + schema["pattern"] if "pattern" in schema else ""
        )
        return f"{kind} ({extra})" if extra else str(kind)

    def rows(self, schema: dict[str, Any]) -> list[Row]:
        """The fields of ``schema`` (an object, or a reference to one), nested objects inside."""
        found: list[Row] = []
        self._fields(schema, 0, (), found)
        if len(found) > ROWS_MAX:
            found = found[:ROWS_MAX]
            found.append(Row(0, "…", "(cut: the schema is larger)", False, []))
        return found

    def _fields(
        self, schema: dict[str, Any], depth: int, seen: tuple[str, ...], into: list[Row]
    ) -> None:
        name, resolved = self.resolve(self._inner(schema))
        if name in seen or depth > DEPTH_MAX or len(into) > ROWS_MAX:
            return
        path = (*seen, name) if name else seen
        required = set(resolved.get("required", ()))
        for key, sub in resolved.get("properties", {}).items():
            into.append(
                Row(
                    depth,
                    key,
                    self.type_of(sub),
                    key in required,
                    prose(sub.get("description") or self.resolve(sub)[1].get("description")),
                )
            )
            self._fields(sub, depth + 1, path, into)

    def _inner(self, schema: dict[str, Any]) -> dict[str, Any]:
        """The object a field holds, through ``anyOf`` (the first object or reference in it)
        and arrays (their items)."""
        for key in ("anyOf", "oneOf"):
            for option in schema.get(key, ()):
                if "$ref" in option or option.get("type") in ("object", "array"):
                    return self._inner(option)
        if schema.get("type") == "array":
            return self._inner(schema.get("items", {}))
        return schema


def outline(document: dict[str, Any]) -> dict[str, Any]:
    """What the docs page draws: the tags in the document's order, each with its operations,
    and the security schemes."""
    outliner = Outliner(document)
    tags: dict[str, Tag] = {}
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            tag = (op.get("tags") or ["other"])[0]
            tags.setdefault(tag, Tag(tag)).operations.append(_operation(outliner, path, method, op))
    schemes = [
        (name, scheme.get("type", ""), scheme.get("scheme", ""), prose(scheme.get("description")))
        for name, scheme in document.get("components", {}).get("securitySchemes", {}).items()
    ]
    info = document.get("info", {})
    return {
        "title": info.get("title", "API"),
        "version": info.get("version", ""),
        "intro": prose(info.get("description")),
        "tags": list(tags.values()),
        "schemes": schemes,
    }


def _operation(outliner: Outliner, path: str, method: str, op: dict[str, Any]) -> Operation:
    parameters = [
        Row(
            0,
            f"{p.get('name', '')} ({p.get('in', '')})",
            outliner.type_of(p.get("schema", {})),
            bool(p.get("required")),
            prose(p.get("description") or p.get("schema", {}).get("description")),
        )
        for p in op.get("parameters", ())
    ]
    body_schema = _json_schema(op.get("requestBody", {}))
    responses = []
    for status, answer in sorted(op.get("responses", {}).items()):
        schema = _json_schema(answer)
        kind = outliner.type_of(schema) if schema else ""
        rows = outliner.rows(schema) if schema and status.startswith("2") else []
        responses.append((status, prose(answer.get("description")), kind, rows))
    return Operation(
        method=method.upper(),
        path=path,
        anchor=str(op.get("operationId") or f"{method}-{path}"),
        summary=str(op.get("summary", "")),
        description=prose(op.get("description")),
        parameters=parameters,
        body=outliner.rows(body_schema) if body_schema else None,
        body_type=outliner.type_of(body_schema) if body_schema else "",
        responses=responses,
        secured=bool(op.get("security")),
    )


def _json_schema(part: dict[str, Any]) -> dict[str, Any] | None:
    content = part.get("content", {})
    for media in ("application/json", *content):
        if media in content:
            schema = content[media].get("schema")
            return schema if isinstance(schema, dict) else None
    return None
