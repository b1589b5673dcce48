"""MLflow's tracking request bodies (proto JSON, snake_case) read into Cairn's typed values.

Each parser checks one body the way MLflow's client sends it and answers the frozen value the
tracking service takes; a body it cannot read is an ``InvalidInput`` (400
``INVALID_PARAMETER_VALUE``), never a 500.
"""

from __future__ import annotations

from typing import Any

from cairn.api.mlflow.wire import body_field, tags_of
from cairn.domain.tracking import (
    MODEL_STATUSES,
    RUN_STATUSES,
    NewExperiment,
    NewLoggedModel,
    NewRun,
    RunChange,
    RunOutput,
    experiment_number,
    millis,
    plain_text,
    tag_map,
)
from cairn.errors import InvalidInput


def new_experiment(body: Any) -> NewExperiment:
    """Artifacts of every experiment live in Cairn: an ``artifact_location`` is refused."""
    if body_field(body, "artifact_location", required=False):
        raise InvalidInput("Cairn keeps experiments' artifacts itself: leave artifact_location out")
    tags = tags_of(body.get("tags"))
    return NewExperiment(plain_text(body_field(body, "name"), "an experiment name"), tags)


def new_run(body: Any) -> NewRun:
    experiment_id = experiment_number(body_field(body, "experiment_id"))
    tags = tag_map(body.get("tags"))
    name = plain_text(body.get("run_name") or tags.get("mlflow.runName"), "a run name")
    start = body.get("start_time")
    return NewRun(
        experiment_id=experiment_id,
        name=name,
        user_id=plain_text(body.get("user_id"), "a user id"),
        start_time=0 if start is None else millis(start, "start_time"),
        tags=tags,
    )


def run_change(body: Any) -> RunChange:
    """``run_id`` (or the older ``run_uuid``) and the status, end time or name to set."""
    raw_id = body_field(body, "run_id", required=False) or body_field(body, "run_uuid")
    status = body.get("status")
    if status is not None and (not isinstance(status, str) or status not in RUN_STATUSES):
        raise InvalidInput(f"a run status is one of {', '.join(sorted(RUN_STATUSES))}")
    end = body.get("end_time")
    return RunChange(
        status=status,
        end_time=None if end is None else millis(end, "end_time"),
        name=plain_text(body.get("run_name") or None, "a run name"),
        run_id=plain_text(raw_id, "a run id", required=True),
    )


def run_outputs(body: Any) -> tuple[str, list[RunOutput]]:
    """The run and the logged models it produced (``[{"model_id", "step"}]``)."""
    run_id = body_field(body, "run_id")
    models = body.get("models") or []
    if not isinstance(models, list) or not all(
        isinstance(m, dict) and isinstance(m.get("model_id"), str) for m in models
    ):
        raise InvalidInput('models is a list of {"model_id", "step"}')
    outputs = [
        RunOutput(plain_text(m["model_id"], "a model id", required=True), _step(m.get("step")))
        for m in models
    ]
    return plain_text(run_id, "a run id", required=True), outputs


def new_logged_model(body: Any) -> NewLoggedModel:
    experiment_id = experiment_number(body_field(body, "experiment_id"))
    raw_run = body.get("source_run_id")
    return NewLoggedModel(
        experiment_id=experiment_id,
        source_run_id=plain_text(raw_run, "a run id") if raw_run else None,
        name=plain_text(body.get("name"), "a model name"),
        model_type=plain_text(body.get("model_type"), "a model type"),
        tags=tag_map(body.get("tags")),
        params=tag_map(body.get("params")),
    )


def experiment_ids(body: Any) -> list[int]:
    """The experiments a logged-model search looks in: at least one."""
    raw = body_field(body, "experiment_ids", required=False)
    if not isinstance(raw, list) or not raw:
        raise InvalidInput("experiment_ids is a non-empty list of experiment ids")
    return [experiment_number(e) for e in raw]


def logged_model_status(body: Any) -> str:
    status = body_field(body, "status")
    if not isinstance(status, str) or status not in MODEL_STATUSES:
        raise InvalidInput(f"a logged model's status is one of {', '.join(MODEL_STATUSES)}")
    return status


def logged_model_tags(body: Any) -> dict[str, str]:
    return tag_map(body_field(body, "tags"))


def _step(raw: object) -> int:
    """A step as MLflow sends it: a whole number, or its decimal string (proto JSON's int64)."""
    if raw is None or raw == "":
        return 0
    text = str(raw) if isinstance(raw, (int, str)) and not isinstance(raw, bool) else ""
    digits = text.removeprefix("-")
    if not digits.isascii() or not digits.isdigit() or len(digits) > 18:
        raise InvalidInput("a model's step is a whole number")
    return int(text)
