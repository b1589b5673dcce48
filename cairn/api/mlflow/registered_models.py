"""MLflow's registered models: create, get, search, update, rename, delete, tags, aliases,
latest versions per stage. A registered model is a Cairn model in the MLflow namespace."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response

from cairn.api import wire as cairn_wire
from cairn.api.bodies import StrictBodyRoute
from cairn.api.deps import Admin, Body, Deployer, Reader, Reg, Writer
from cairn.api.mlflow import MLFLOW_PREFIX
from cairn.api.mlflow import wire as w
from cairn.domain.mlflow_filters import parse_mlflow_filter, to_cairn
from cairn.domain.names import normalize_alias
from cairn.domain.records import Model
from cairn.domain.references import Reference
from cairn.errors import AliasNotFound, InvalidInput
from cairn.services.auth import Actor
from cairn.services.registry import Registry

router = APIRouter(
    route_class=StrictBodyRoute, prefix=MLFLOW_PREFIX + "/registered-models", tags=["mlflow"]
)
RM = "registered_model"
SEARCH_MAX = 1000  # the largest page
MATCHES_MAX = 10_000  # the most matches a search sorts
_RM_FIELDS = frozenset({"name", "tag"})
_ORDER = {
    "name": lambda m: m.name,
    "creation_timestamp": lambda m: m.created_at,
    "last_updated_timestamp": lambda m: m.updated_at,
}


def drawn(reg: Registry, actor: Actor, models: list[Model]) -> list[dict[str, Any]]:
    """The registered models, each with its latest version per stage and its aliases."""
    extras = reg.mlflow.stages_and_aliases(actor, models)
    return [
        w.registered_model(m, latest, aliases)
        for m, (latest, aliases) in zip(models, extras, strict=True)
    ]


@router.post("/create")
def create(reg: Reg, actor: Writer, body: Body) -> Response:
    name = w.model_name(w.body_field(body, "name"))
    fields = {
        "description": w.body_field(body, "description", required=False) or "",
        "tags": w.tags_of(body.get("tags")),
    }
    model = reg.models.create(actor, reg.mlflow.namespace, name, fields)
    return cairn_wire.ok({RM: w.registered_model(model)})


@router.get("/get")
def get(reg: Reg, actor: Reader, name: str) -> Response:
    model = reg.models.get(actor, reg.mlflow.namespace, w.model_name(name))
    return cairn_wire.ok({RM: drawn(reg, actor, [model])[0]})


@router.get("/search")
def search(
    reg: Reg,
    actor: Reader,
    filter: str | None = None,
    max_results: int | None = None,
    order_by: list[str] = Query(default=[]),
    page_token: str | None = None,
) -> Response:
    """Names and tags as MLflow filters them, ordered by name unless ``order_by`` says."""
    text = to_cairn(parse_mlflow_filter(filter, _RM_FIELDS))
    found: list[Model] = []
    cursor: str | None = None
    while True:  # sorted by name here, so every match is read (within MATCHES_MAX)
        page = reg.models.page(actor, reg.mlflow.namespace, text, cursor, None)
        found.extend(page.items)
        if page.next_cursor is None:
            break
        if len(found) >= MATCHES_MAX:
            raise InvalidInput(
                f"more than {MATCHES_MAX} registered models match: narrow the filter"
            )
        cursor = page.next_cursor
    items = w.ordered(found, [*order_by, "name ASC"] if order_by else ["name ASC"], _ORDER)
    chunk, token = w.page_of(items, max_results, page_token, 100, SEARCH_MAX)
    out: dict[str, Any] = {"registered_models": drawn(reg, actor, chunk)}
    if token:
        out["next_page_token"] = token
    return cairn_wire.ok(out)


@router.patch("/update")
def update(reg: Reg, actor: Writer, body: Body) -> Response:
    name = w.model_name(w.body_field(body, "name"))
    fields = {"description": w.body_field(body, "description", required=False) or ""}
    model = reg.models.update(actor, reg.mlflow.namespace, name, fields)
    return cairn_wire.ok({RM: drawn(reg, actor, [model])[0]})


@router.post("/rename")
def rename(reg: Reg, actor: Writer, body: Body) -> Response:
    name = w.model_name(w.body_field(body, "name"))
    new_name = w.model_name(w.body_field(body, "new_name"))
    model = reg.models.rename(actor, reg.mlflow.namespace, name, new_name)
    return cairn_wire.ok({RM: drawn(reg, actor, [model])[0]})


@router.delete("/delete")
def delete(reg: Reg, actor: Admin, body: Body) -> Response:
    """Delete a registered model without versions (Cairn never deletes versions in bulk)."""
    reg.models.delete(actor, reg.mlflow.namespace, w.model_name(w.body_field(body, "name")))
    return cairn_wire.ok({})


@router.post("/set-tag")
def set_tag(reg: Reg, actor: Writer, body: Body) -> Response:
    name = w.model_name(w.body_field(body, "name"))
    value = w.body_field(body, "value", required=False) or ""
    reg.models.set_tag(actor, reg.mlflow.namespace, name, w.body_field(body, "key"), value)
    return cairn_wire.ok({})


@router.delete("/delete-tag")
def delete_tag(reg: Reg, actor: Writer, body: Body) -> Response:
    name = w.model_name(w.body_field(body, "name"))
    reg.models.delete_tag(actor, reg.mlflow.namespace, name, w.body_field(body, "key"))
    return cairn_wire.ok({})


@router.post("/alias")
def set_alias(reg: Reg, actor: Deployer, body: Body) -> Response:
    name = w.model_name(w.body_field(body, "name"))
    number = w.version_number(w.body_field(body, "version"))
    reg.aliases.set(actor, reg.mlflow.namespace, name, w.body_field(body, "alias"), number)
    return cairn_wire.ok({})


@router.get("/alias")
def get_by_alias(reg: Reg, actor: Reader, name: str, alias: str) -> Response:
    model = w.model_name(name)
    reg.models.get(actor, reg.mlflow.namespace, model)  # an unknown model is a 404
    try:
        ref = Reference(reg.mlflow.namespace, model, alias=normalize_alias(alias))
    except InvalidInput as exc:  # a name no alias can have names none
        raise AliasNotFound(f"Registered model alias {alias[:130]} not found.") from exc
    version = reg.versions.get(actor, ref, with_files=False)
    return cairn_wire.ok({"model_version": w.model_version(version)})


@router.delete("/alias")
def delete_alias(reg: Reg, actor: Deployer, body: Body) -> Response:
    """Delete an alias; deleting one that does not exist is not an error (as in MLflow)."""
    name = w.model_name(w.body_field(body, "name"))
    try:
        reg.aliases.delete(actor, reg.mlflow.namespace, name, w.body_field(body, "alias"))
    except AliasNotFound:
        reg.models.get(actor, reg.mlflow.namespace, name)  # but an unknown model is a 404
    return cairn_wire.ok({})


@router.post("/get-latest-versions")
def latest_versions(reg: Reg, actor: Reader, body: Body) -> Response:
    name = w.model_name(w.body_field(body, "name"))
    stages = w.body_field(body, "stages", required=False)
    return _latest(reg, actor, name, stages)


@router.get("/get-latest-versions")
def latest_versions_by_get(
    reg: Reg, actor: Reader, name: str, stages: list[str] = Query(default=[])
) -> Response:
    return _latest(reg, actor, w.model_name(name), stages)


def _latest(reg: Registry, actor: Actor, name: str, stages: object) -> Response:
    if stages is not None and (
        not isinstance(stages, list) or not all(isinstance(s, str) for s in stages)
    ):
        raise InvalidInput("stages is a list of stage names")
    reg.models.get(actor, reg.mlflow.namespace, name)
    versions = reg.mlflow.latest_per_stage(actor, name, stages or None)
    return cairn_wire.ok({"model_versions": [w.model_version(v) for v in versions]})
