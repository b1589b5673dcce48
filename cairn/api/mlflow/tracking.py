"""The part of MLflow's tracking API its client needs to log a model: experiments, runs and
logged models (``cairn.services.tracking``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from cairn.api.bodies import StrictBodyRoute, ok
from cairn.api.deps import Body, Reader, Svc, Writer
from cairn.api.mlflow import MLFLOW_PREFIX, parse
from cairn.api.mlflow import wire as w

router = APIRouter(route_class=StrictBodyRoute, prefix=MLFLOW_PREFIX, tags=["mlflow"])


@router.get("/experiments/get-by-name")
def experiment_by_name(svc: Svc, actor: Reader, experiment_name: str) -> Response:
    found = svc.tracking.experiment(actor, name=experiment_name)
    return ok({"experiment": w.experiment(found)})


@router.post("/experiments/create")
def create_experiment(svc: Svc, actor: Writer, body: Body) -> Response:
    """Artifacts of every experiment live in Cairn: an ``artifact_location`` is not taken."""
    created = svc.tracking.create_experiment(actor, parse.new_experiment(body))
    return ok({"experiment_id": str(created.id)})


@router.get("/experiments/get")
def get_experiment(svc: Svc, actor: Reader, experiment_id: str) -> Response:
    found = svc.tracking.experiment(actor, experiment_id=experiment_id)
    return ok({"experiment": w.experiment(found)})


@router.post("/runs/create")
def create_run(svc: Svc, actor: Writer, body: Body) -> Response:
    return ok({"run": w.run(svc.tracking.create_run(actor, parse.new_run(body)))})


@router.get("/runs/get")
def get_run(
    svc: Svc, actor: Reader, run_id: str | None = None, run_uuid: str | None = None
) -> Response:
    return ok({"run": w.run(svc.tracking.run(actor, run_id or run_uuid))})


@router.post("/runs/update")
def update_run(svc: Svc, actor: Writer, body: Body) -> Response:
    found = svc.tracking.update_run(actor, parse.run_change(body))
    return ok({"run_info": w.run(found)["info"]})


@router.post("/runs/outputs")
def log_outputs(svc: Svc, actor: Writer, body: Body) -> Response:
    svc.tracking.log_outputs(actor, *parse.run_outputs(body))
    return ok({})


@router.post("/logged-models")
def create_logged_model(svc: Svc, actor: Writer, body: Body) -> Response:
    found = svc.tracking.create_logged_model(actor, parse.new_logged_model(body))
    return ok({"model": w.logged_model(found)})


@router.post("/logged-models/search")
def search_logged_models(svc: Svc, actor: Reader, body: Body) -> Response:
    """Logged models of some experiments, newest first, optionally ``name = '…'``."""
    search = w.logged_model_search(body)
    found = svc.mlflow_search.logged_models(actor, parse.experiment_ids(body), search)
    out: dict[str, Any] = {"models": [w.logged_model(m) for m in found.items]}
    if found.next_page_token:
        out["next_page_token"] = found.next_page_token
    return ok(out)


@router.get("/logged-models/{model_id}")
def get_logged_model(svc: Svc, actor: Reader, model_id: str) -> Response:
    return ok({"model": w.logged_model(svc.tracking.logged_model(actor, model_id))})


@router.patch("/logged-models/{model_id}")
def finalize_logged_model(svc: Svc, actor: Writer, model_id: str, body: Body) -> Response:
    found = svc.tracking.update_logged_model(actor, model_id, parse.logged_model_status(body))
    return ok({"model": w.logged_model(found)})


@router.patch("/logged-models/{model_id}/tags")
def set_logged_model_tags(svc: Svc, actor: Writer, model_id: str, body: Body) -> Response:
    svc.tracking.set_logged_model_tags(actor, model_id, parse.logged_model_tags(body))
    return ok({})
