"""The part of MLflow's tracking API a training script uses: log params, metrics, tags and
dataset inputs into a run, read a metric's history, search, delete and restore runs; search,
rename, delete, restore and tag experiments (``cairn.services.run_data``,
``cairn.services.experiments``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from cairn.api.bodies import StrictBodyRoute, ok
from cairn.api.deps import Body, Reader, Svc, Writer
from cairn.api.mlflow import MLFLOW_PREFIX
from cairn.api.mlflow import run_bodies as b
from cairn.api.mlflow import wire as w

router = APIRouter(route_class=StrictBodyRoute, prefix=MLFLOW_PREFIX, tags=["mlflow"])


@router.post("/runs/log-parameter")
def log_param(svc: Svc, actor: Writer, body: Body) -> Response:
    svc.run_data.log(actor, b.run_id(body), b.param(body))
    return ok({})


@router.post("/runs/log-metric")
def log_metric(svc: Svc, actor: Writer, body: Body) -> Response:
    svc.run_data.log(actor, b.run_id(body), b.metric(body))
    return ok({})


@router.post("/runs/log-batch")
def log_batch(svc: Svc, actor: Writer, body: Body) -> Response:
    """At most 1000 metrics, 100 params and 100 tags, 1000 entries in all: all or none."""
    svc.run_data.log(actor, b.run_id(body), b.batch(body))
    return ok({})


@router.post("/runs/set-tag")
def set_tag(svc: Svc, actor: Writer, body: Body) -> Response:
    svc.run_data.log(actor, b.run_id(body), b.tag(body))
    return ok({})


@router.post("/runs/delete-tag")
def delete_tag(svc: Svc, actor: Writer, body: Body) -> Response:
    svc.run_data.delete_tag(actor, b.run_id(body), b.tag_key(body))
    return ok({})


@router.post("/runs/log-inputs")
def log_inputs(svc: Svc, actor: Writer, body: Body) -> Response:
    svc.run_data.log_inputs(actor, b.run_id(body), b.datasets(body))
    return ok({})


@router.post("/runs/delete")
def delete_run(svc: Svc, actor: Writer, body: Body) -> Response:
    svc.run_data.set_lifecycle(actor, b.run_id(body), "deleted")
    return ok({})


@router.post("/runs/restore")
def restore_run(svc: Svc, actor: Writer, body: Body) -> Response:
    svc.run_data.set_lifecycle(actor, b.run_id(body), "active")
    return ok({})


@router.post("/runs/search")
def search_runs(svc: Svc, actor: Reader, body: Body) -> Response:
    found = svc.run_data.search(actor, b.run_search(body))
    out: dict[str, Any] = {"runs": [w.run(r) for r in found.runs]}
    if found.next_page_token:
        out["next_page_token"] = found.next_page_token
    return ok(out)


@router.get("/metrics/get-history")
def metric_history(svc: Svc, actor: Reader, request: Request) -> Response:
    """Every value logged for a metric, in the order it was logged (paged past 25,000)."""
    points, token = svc.run_data.metric_history(actor, *b.history(dict(request.query_params)))
    out: dict[str, Any] = {"metrics": [w.metric(p) for p in points]}
    if token:
        out["next_page_token"] = token
    return ok(out)


@router.post("/experiments/search")
def search_experiments(svc: Svc, actor: Reader, body: Body) -> Response:
    found, token = svc.experiments.search(actor, b.experiment_search(body))
    out: dict[str, Any] = {"experiments": [w.experiment(e) for e in found]}
    if token:
        out["next_page_token"] = token
    return ok(out)


@router.post("/experiments/update")
def update_experiment(svc: Svc, actor: Writer, body: Body) -> Response:
    """MLflow's update renames an experiment (the only change it makes)."""
    svc.experiments.rename(actor, *b.rename(body))
    return ok({})


@router.post("/experiments/delete")
def delete_experiment(svc: Svc, actor: Writer, body: Body) -> Response:
    """The experiment and its runs are marked deleted; nothing logged is removed."""
    svc.experiments.set_lifecycle(actor, b.experiment_id(body), "deleted")
    return ok({})


@router.post("/experiments/restore")
def restore_experiment(svc: Svc, actor: Writer, body: Body) -> Response:
    svc.experiments.set_lifecycle(actor, b.experiment_id(body), "active")
    return ok({})


@router.post("/experiments/set-experiment-tag")
def set_experiment_tag(svc: Svc, actor: Writer, body: Body) -> Response:
    svc.experiments.set_tag(actor, *b.experiment_tag(body))
    return ok({})


@router.post("/experiments/delete-experiment-tag")
def delete_experiment_tag(svc: Svc, actor: Writer, body: Body) -> Response:
    svc.experiments.set_tag(actor, b.experiment_id(body), b.tag_key(body), None)
    return ok({})
