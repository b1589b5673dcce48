"""Two versions side by side: metrics (with the difference), params, files and schema.

Files are compared a window at a time, in path order: each side is read one page from the
same path, and the window ends where the shorter read ends, so no file is ever judged "only
in one" because its twin fell on the next page. ``?files=`` carries the window's last path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from cairn.api.deps import Svc
from cairn.api.pages.render import page
from cairn.api.pages.routes.versions import Files, exact, files_of, version_url
from cairn.api.pages.session import Looking
from cairn.domain.cursors import encode_cursor
from cairn.domain.manifest import FileEntry
from cairn.domain.records import Version
from cairn.domain.references import parse_reference
from cairn.errors import InvalidInput
from cairn.services.auth import Actor
from cairn.services.container import Services

router = APIRouter(include_in_schema=False)
FILES_WINDOW = 200


@router.get("/compare", name="compare_page")
def compare_page(
    request: Request, svc: Svc, viewer: Looking, a: str = "", b: str = "", files: str = ""
) -> HTMLResponse:
    if not a and not b:
        return page(request, "compare.html", viewer, a=a, b=b, sides=None)
    if not a or not b:
        raise InvalidInput("name two versions to compare, as a=ns/model:1&b=ns/model:2")
    found = comparison(svc, viewer.actor, a, b, files or None)
    return page(request, "compare.html", viewer, a=a, b=b, **found)


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    a: Any
    b: Any
    note: str = ""

    @property
    def changed(self) -> bool:
        return bool(self.a != self.b)


def comparison(svc: Services, actor: Actor, a: str, b: str, cursor: str | None) -> dict[str, Any]:
    left = svc.versions.get(actor, parse_reference(a), with_files=False)
    right = svc.versions.get(actor, parse_reference(b), with_files=False)
    return {
        "sides": (left, right),
        "urls": [version_url(v.namespace, v.model, v.number) for v in (left, right)],
        "metrics": metric_rows(left.metrics, right.metrics),
        "params": [
            Row(k, left.params.get(k), right.params.get(k)) for k in keys(left.params, right.params)
        ],
        "schema": schema_rows(left.schema, right.schema),
        "files": file_window(svc, actor, left, right, cursor),
        "cursor": cursor,
    }


def keys(*maps: dict[str, Any]) -> list[str]:
    return sorted(set().union(*maps))


def metric_rows(a: dict[str, float], b: dict[str, float]) -> list[Row]:
    """Each metric with how B differs from A: higher or lower, never "better" (whether a
    higher loss is worse is the reader's knowledge, not the registry's)."""
    rows = []
    for key in keys(a, b):
        x, y = a.get(key), b.get(key)
        if x is None or y is None:
            note = "only in A" if y is None else "only in B"
        elif x == y:
            note = "same"
        else:
            note = f"{'higher' if y > x else 'lower'} by {abs(y - x):.6g}"
        rows.append(Row(key, x, y, note))
    return rows


def schema_rows(a: dict[str, Any], b: dict[str, Any]) -> list[Row]:
    """Inputs and outputs, matched by name (by position when a tensor has none)."""
    rows = []
    for kind in ("inputs", "outputs"):
        left, right = tensors(a.get(kind) or []), tensors(b.get(kind) or [])
        for key in sorted(set(left) | set(right)):
            rows.append(Row(f"{kind[:-1]} {key}", left.get(key), right.get(key)))
    return rows


def tensors(specs: list[dict[str, Any]]) -> dict[str, str]:
    found = {}
    for position, spec in enumerate(specs):
        shape = spec.get("shape")
        text = spec["type"] + ("" if shape is None else f" [{', '.join(map(str, shape))}]")
        found[spec.get("name") or f"#{position}"] = text
    return found


@dataclass(frozen=True, slots=True)
class FileWindow:
    rows: list[Row]
    next_cursor: str | None
    blocked: str | None
    same_content: bool


def file_window(
    svc: Services, actor: Actor, left: Version, right: Version, cursor: str | None
) -> FileWindow:
    same = left.manifest_digest == right.manifest_digest
    pages: list[Files] = [
        files_of(svc, actor, exact(v), cursor, FILES_WINDOW) for v in (left, right)
    ]
    blocked = next((f.blocked for f in pages if f.blocked), None)
    if blocked:
        return FileWindow([], None, blocked, same)
    a, b = (f.page for f in pages if f.page is not None)
    ends = [p.items[-1].path for p in (a, b) if p.next_cursor and p.items]
    end = min(ends) if ends else None
    rows = merge(a.items, b.items, end)
    return FileWindow(rows, encode_cursor(end) if end else None, None, same)


def merge(a: list[FileEntry], b: list[FileEntry], end: str | None) -> list[Row]:
    left = {f.path: f for f in a if end is None or f.path <= end}
    right = {f.path: f for f in b if end is None or f.path <= end}
    rows = []
    for path in sorted(set(left) | set(right)):
        x, y = left.get(path), right.get(path)
        if x is None or y is None:
            note = "only in A" if y is None else "only in B"
        else:
            note = "same" if x.digest == y.digest else "changed"
        rows.append(Row(path, x, y, note))
    return rows
