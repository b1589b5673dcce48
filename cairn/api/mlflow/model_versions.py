"""MLflow's model versions: create (a Cairn registration), get, search, update, delete, tags,
stage transitions and the download URI. Versions are numbered by Cairn and sent as strings."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response

from cairn.api.bodies import StrictBodyRoute, ok
from cairn.api.deps import Admin, Body, Reader, Svc, Writer
from cairn.api.mlflow import MLFLOW_PREFIX
from cairn.api.mlflow import wire as w
from cairn.domain.references import Reference
from cairn.domain.registrations import parse_metadata
from cairn.services.container import Services
from cairn.services.mlflow_search import Search

router = APIRouter(
    route_class=StrictBodyRoute, prefix=MLFLOW_PREFIX + "/model-versions", tags=["mlflow"]
)
MV = "model_version"


def _ref(svc: Services, name: object, version: object) -> Reference:
    return Reference(svc.mlflow.namespace, w.model_name(name), number=w.version_number(version))


@router.post("/create")
def create_model_version(svc: Svc, actor: Writer, body: Body) -> Response:
    """Register the files ``source`` names as a new version of an existing registered model."""
    name = w.model_name(w.body_field(body, "name"))
    metadata = parse_metadata(
        description=body.get("description") or None, tags=w.tags_of(body.get("tags"))
    )
    source = w.body_field(body, "source")
    run_id, model_id = body.get("run_id"), body.get("model_id")
    version = svc.mlflow.register(actor, name, source, run_id, model_id, metadata)
    return ok({MV: w.model_version(version)})


@router.get("/get")
def get_model_version(svc: Svc, actor: Reader, name: str, version: str) -> Response:
    found = svc.versions.get(actor, _ref(svc, name, version), with_files=False)
    return ok({MV: w.model_version(found)})


@router.get("/search")
def search_model_versions(
    svc: Svc,
    actor: Reader,
    filter: str | None = None,
    max_results: int | None = None,
    order_by: list[str] = Query(default=[]),
    page_token: str | None = None,
) -> Response:
    """Versions as MLflow filters them, newest first unless ``order_by`` says; a search in
    another order sorts at most 10,000 matches (more: a 400 asking for a narrower filter)."""
    search = Search(filter, max_results, tuple(order_by), page_token)
    found = svc.mlflow_search.model_versions(actor, search)
    out: dict[str, Any] = {"model_versions": [w.model_version(v) for v in found.items]}
    if found.next_page_token:
        out["next_page_token"] = found.next_page_token
    return ok(out)


@router.patch("/update")
def update_model_version(svc: Svc, actor: Writer, body: Body) -> Response:
    ref = _ref(svc, w.body_field(body, "name"), w.body_field(body, "version"))
    description = w.body_field(body, "description", required=False) or ""
    found = svc.versions.update(actor, ref, {"description": description})
    return ok({MV: w.model_version(found)})


@router.delete("/delete")
def delete_model_version(svc: Svc, actor: Admin, body: Body) -> Response:
    """Delete a version and its aliases, as MLflow does, unless the policy protects one of them
    or the version was deployed (``INVALID_STATE`` naming the rule)."""
    ref = _ref(svc, w.body_field(body, "name"), w.body_field(body, "version"))
    svc.mlflow.writes.delete_version(actor, ref)
    return ok({})


@router.post("/set-tag")
def set_model_version_tag(svc: Svc, actor: Writer, body: Body) -> Response:
    ref = _ref(svc, w.body_field(body, "name"), w.body_field(body, "version"))
    value = w.body_field(body, "value", required=False) or ""
    svc.versions.set_tag(actor, ref, w.body_field(body, "key"), value)
    return ok({})


@router.delete("/delete-tag")
def delete_model_version_tag(svc: Svc, actor: Writer, body: Body) -> Response:
    ref = _ref(svc, w.body_field(body, "name"), w.body_field(body, "version"))
    svc.versions.delete_tag(actor, ref, w.body_field(body, "key"))
    return ok({})


@router.post("/transition-stage")
def transition_model_version_stage(svc: Svc, actor: Writer, body: Body) -> Response:
    """MLflow's deprecated stages, moved as Cairn's lifecycle states (policy applies)."""
    name = w.model_name(w.body_field(body, "name"))
    number = w.version_number(w.body_field(body, "version"))
    archive = w.flag(body, "archive_existing_versions")
    found = svc.mlflow.transition(actor, name, number, w.body_field(body, "stage"), archive)
    return ok({MV: w.model_version(found)})


@router.get("/get-download-uri")
def get_model_version_download_uri(svc: Svc, actor: Reader, name: str, version: str) -> Response:
    """Where the client downloads the version's files: Cairn's tree of the version's manifest,
    for versions registered through MLflow and pushed with ``cairn push`` alike."""
    found = svc.versions.get(actor, _ref(svc, name, version), with_files=False)
    return ok({"artifact_uri": svc.mlflow.tree_uri(found)})
