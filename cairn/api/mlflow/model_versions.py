"""MLflow's model versions: create (a Cairn registration), get, search, update, delete, tags,
stage transitions and the download URI. Versions are numbered by Cairn and sent as strings."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response

from cairn.api import wire as cairn_wire
from cairn.api.bodies import StrictBodyRoute
from cairn.api.deps import Admin, Body, Reader, Reg, Writer
from cairn.api.mlflow import MLFLOW_PREFIX
from cairn.api.mlflow import wire as w
from cairn.domain.mlflow_filters import Clause, matches, parse_mlflow_filter, to_cairn
from cairn.domain.records import Version
from cairn.domain.references import Reference
from cairn.errors import InvalidInput
from cairn.services.auth import Actor
from cairn.services.registry import Registry

router = APIRouter(
    route_class=StrictBodyRoute, prefix=MLFLOW_PREFIX + "/model-versions", tags=["mlflow"]
)
MV = "model_version"
SEARCH_MAX = 10_000
_MV_FIELDS = frozenset({"name", "tag", "run_id", "source_path", "version_number"})
_ORDER = {
    "name": lambda v: v.model,
    "version_number": lambda v: v.number,
    "creation_timestamp": lambda v: v.created_at,
    "last_updated_timestamp": lambda v: v.updated_at,
}


def _ref(reg: Registry, name: object, version: object) -> Reference:
    return Reference(reg.mlflow.namespace, w.model_name(name), number=w.version_number(version))


@router.post("/create")
def create(reg: Reg, actor: Writer, body: Body) -> Response:
    """Register the files ``source`` names as a new version of an existing registered model."""
    name = w.model_name(w.body_field(body, "name"))
    extra: dict[str, Any] = {"tags": w.tags_of(body.get("tags"))}
    if body.get("description"):
        extra["description"] = body["description"]
    version = reg.mlflow.register(
        actor,
        name,
        w.body_field(body, "source"),
        body.get("run_id"),
        body.get("model_id"),
        extra,
    )
    return cairn_wire.ok({MV: w.model_version(version)})


@router.get("/get")
def get(reg: Reg, actor: Reader, name: str, version: str) -> Response:
    found = reg.versions.get(actor, _ref(reg, name, version), with_files=False)
    return cairn_wire.ok({MV: w.model_version(found)})


@router.get("/search")
def search(
    reg: Reg,
    actor: Reader,
    filter: str | None = None,
    max_results: int | None = None,
    order_by: list[str] = Query(default=[]),
    page_token: str | None = None,
) -> Response:
    """Versions as MLflow filters them: newest first, paged on Cairn's own cursor; in another
    ``order_by``, sorted here, which takes at most ``SEARCH_MAX`` matches (more: a 400 asking
    for a narrower filter, never a silently short answer)."""
    clauses = parse_mlflow_filter(filter, _MV_FIELDS)
    text = to_cairn(clauses, [f"namespace = '{reg.mlflow.namespace}'"])
    size = w.page_size(max_results, SEARCH_MAX, SEARCH_MAX)
    if order_by:
        found, complete = _matching(reg, actor, text, clauses, SEARCH_MAX)
        if not complete:
            raise InvalidInput(
                f"more than {SEARCH_MAX} versions match: narrow the filter, or leave out "
                "order_by to page through all of them newest first"
            )
        chunk, token = w.page_of(w.ordered(found, order_by, _ORDER), size, page_token, 0, size)
    else:
        chunk, token = _newest_first(reg, actor, text, clauses, size, page_token)
    out: dict[str, Any] = {"model_versions": [w.model_version(v) for v in chunk]}
    if token:
        out["next_page_token"] = token
    return cairn_wire.ok(out)


def _newest_first(
    reg: Registry,
    actor: Actor,
    text: str | None,
    clauses: list[Clause],
    size: int,
    page_token: str | None,
) -> tuple[list[Version], str | None]:
    """One page of ``size`` matches in Cairn's order, and the token of the next (if any)."""
    cursor, skip = w.token_cursor(page_token)
    out: list[Version] = []
    while True:
        page = reg.versions.search(actor, text, cursor, reg.settings.page_size_max)
        matching = [v for v in page.items if matches(clauses, _residual_fields(v))]
        taken = matching[skip : skip + size - len(out)]
        out.extend(taken)
        if skip + len(taken) < len(matching):  # this page has more: continue inside it
            return out, w.cursor_token(cursor, skip + len(taken))
        if page.next_cursor is None:
            return out, None
        cursor, skip = page.next_cursor, 0
        if len(out) == size:
            return out, w.cursor_token(cursor, 0)


def _matching(
    reg: Registry, actor: Actor, text: str | None, clauses: list[Clause], most: int
) -> tuple[list[Version], bool]:
    """Up to ``most`` matches, and whether they are all of them."""
    found: list[Version] = []
    cursor: str | None = None
    while True:
        page = reg.versions.search(actor, text, cursor, reg.settings.page_size_max)
        found.extend(v for v in page.items if matches(clauses, _residual_fields(v)))
        if len(found) > most:
            return found[:most], False
        if page.next_cursor is None:
            return found, True
        cursor = page.next_cursor


def _residual_fields(v: Version) -> dict[str, str]:
    return {"run_id": w.version_run_id(v), "source_path": w.version_source(v)}


@router.patch("/update")
def update(reg: Reg, actor: Writer, body: Body) -> Response:
    ref = _ref(reg, w.body_field(body, "name"), w.body_field(body, "version"))
    description = w.body_field(body, "description", required=False) or ""
    found = reg.versions.update(actor, ref, {"description": description})
    return cairn_wire.ok({MV: w.model_version(found)})


@router.delete("/delete")
def delete(reg: Reg, actor: Admin, body: Body) -> Response:
    """Delete a version no alias names (Cairn refuses to delete an aliased one)."""
    reg.versions.delete(actor, _ref(reg, w.body_field(body, "name"), w.body_field(body, "version")))
    return cairn_wire.ok({})


@router.post("/set-tag")
def set_tag(reg: Reg, actor: Writer, body: Body) -> Response:
    ref = _ref(reg, w.body_field(body, "name"), w.body_field(body, "version"))
    value = w.body_field(body, "value", required=False) or ""
    reg.versions.set_tag(actor, ref, w.body_field(body, "key"), value)
    return cairn_wire.ok({})


@router.delete("/delete-tag")
def delete_tag(reg: Reg, actor: Writer, body: Body) -> Response:
    ref = _ref(reg, w.body_field(body, "name"), w.body_field(body, "version"))
    reg.versions.delete_tag(actor, ref, w.body_field(body, "key"))
    return cairn_wire.ok({})


@router.post("/transition-stage")
def transition_stage(reg: Reg, actor: Writer, body: Body) -> Response:
    """MLflow's deprecated stages, moved as Cairn's lifecycle states (policy applies)."""
    name = w.model_name(w.body_field(body, "name"))
    number = w.version_number(w.body_field(body, "version"))
    archive = body.get("archive_existing_versions") or False
    if not isinstance(archive, bool):
        raise InvalidInput("archive_existing_versions is true or false")
    found = reg.mlflow.transition(actor, name, number, w.body_field(body, "stage"), archive)
    return cairn_wire.ok({MV: w.model_version(found)})


@router.get("/get-download-uri")
def download_uri(reg: Reg, actor: Reader, name: str, version: str) -> Response:
    """Where the client downloads the version's files: Cairn's tree of the version's manifest,
    for versions registered through MLflow and pushed with ``cairn push`` alike."""
    found = reg.versions.get(actor, _ref(reg, name, version), with_files=False)
    return cairn_wire.ok({"artifact_uri": reg.mlflow.tree_uri(found)})
