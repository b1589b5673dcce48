"""MLflow's registered models: create, get, search, update, rename, delete, tags, aliases,
latest versions per stage. A registered model is a Cairn model in the MLflow namespace."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response

from cairn.api.bodies import StrictBodyRoute, ok
from cairn.api.deps import Admin, Body, Deployer, Reader, Svc, Writer
from cairn.api.mlflow import MLFLOW_PREFIX
from cairn.api.mlflow import wire as w
from cairn.services.mlflow_search import Search

router = APIRouter(
    route_class=StrictBodyRoute, prefix=MLFLOW_PREFIX + "/registered-models", tags=["mlflow"]
)
RM = "registered_model"


@router.post("/create")
def create_registered_model(svc: Svc, actor: Writer, body: Body) -> Response:
    name = w.model_name(w.body_field(body, "name"))
    fields = {
        "description": w.body_field(body, "description", required=False) or "",
        "tags": w.tags_of(body.get("tags")),
    }
    model = svc.models.create(actor, svc.mlflow.namespace, name, fields)
    return ok({RM: w.registered_model(model)})


@router.get("/get")
def get_registered_model(svc: Svc, actor: Reader, name: str) -> Response:
    return ok({RM: w.drawn(svc.mlflow.registered(actor, w.model_name(name)))})


@router.get("/search")
def search_registered_models(
    svc: Svc,
    actor: Reader,
    filter: str | None = None,
    max_results: int | None = None,
    order_by: list[str] = Query(default=[]),
    page_token: str | None = None,
) -> Response:
    """Names and tags as MLflow filters them, ordered by name unless ``order_by`` says."""
    search = Search(filter, max_results, tuple(order_by), page_token)
    found = svc.mlflow_search.registered_models(actor, search)
    out: dict[str, Any] = {"registered_models": [w.drawn(m) for m in found.items]}
    if found.next_page_token:
        out["next_page_token"] = found.next_page_token
    return ok(out)


@router.patch("/update")
def update_registered_model(svc: Svc, actor: Writer, body: Body) -> Response:
    name = w.model_name(w.body_field(body, "name"))
    description = w.body_field(body, "description", required=False) or ""
    return ok({RM: w.drawn(svc.mlflow.describe(actor, name, description))})


@router.post("/rename")
def rename_registered_model(svc: Svc, actor: Writer, body: Body) -> Response:
    name = w.model_name(w.body_field(body, "name"))
    new_name = w.model_name(w.body_field(body, "new_name"))
    return ok({RM: w.drawn(svc.mlflow.rename(actor, name, new_name))})


@router.delete("/delete")
def delete_registered_model(svc: Svc, actor: Admin, body: Body) -> Response:
    """Delete a registered model and its versions, as MLflow does (each version under the
    rules of ``delete_model_version``; one refused, nothing is deleted)."""
    name = w.model_name(w.body_field(body, "name"))
    svc.mlflow.writes.delete_model(actor, svc.mlflow.namespace, name)
    return ok({})


@router.post("/set-tag")
def set_registered_model_tag(svc: Svc, actor: Writer, body: Body) -> Response:
    name = w.model_name(w.body_field(body, "name"))
    value = w.body_field(body, "value", required=False) or ""
    svc.models.set_tag(actor, svc.mlflow.namespace, name, w.body_field(body, "key"), value)
    return ok({})


@router.delete("/delete-tag")
def delete_registered_model_tag(svc: Svc, actor: Writer, body: Body) -> Response:
    name = w.model_name(w.body_field(body, "name"))
    svc.models.delete_tag(actor, svc.mlflow.namespace, name, w.body_field(body, "key"))
    return ok({})


@router.post("/alias")
def set_registered_model_alias(svc: Svc, actor: Deployer, body: Body) -> Response:
    name = w.model_name(w.body_field(body, "name"))
    number = w.version_number(w.body_field(body, "version"))
    svc.aliases.set(actor, svc.mlflow.namespace, name, w.body_field(body, "alias"), number)
    return ok({})


@router.get("/alias")
def get_model_version_by_alias(svc: Svc, actor: Reader, name: str, alias: str) -> Response:
    version = svc.mlflow.version_by_alias(actor, w.model_name(name), alias)
    return ok({"model_version": w.model_version(version)})


@router.delete("/alias")
def delete_registered_model_alias(svc: Svc, actor: Deployer, body: Body) -> Response:
    """Delete an alias; deleting one that does not exist is not an error (as in MLflow)."""
    name = w.model_name(w.body_field(body, "name"))
    svc.mlflow.delete_alias(actor, name, w.body_field(body, "alias"))
    return ok({})


@router.post("/get-latest-versions")
def get_latest_versions(svc: Svc, actor: Reader, body: Body) -> Response:
    """The newest version in each stage (only the ``stages`` named, when some are)."""
    name = w.model_name(w.body_field(body, "name"))
    stages = w.stage_names(w.body_field(body, "stages", required=False))
    versions = svc.mlflow.latest_versions(actor, name, stages)
    return ok({"model_versions": [w.model_version(v) for v in versions]})


@router.get("/get-latest-versions")
def get_latest_versions_by_query(
    svc: Svc, actor: Reader, name: str, stages: list[str] = Query(default=[])
) -> Response:
    """The newest version in each stage, as ``POST`` answers it, with the query's values."""
    versions = svc.mlflow.latest_versions(actor, w.model_name(name), stages or None)
    return ok({"model_versions": [w.model_version(v) for v in versions]})
