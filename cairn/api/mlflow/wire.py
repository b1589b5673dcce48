"""MLflow's JSON shapes (proto JSON, snake_case) drawn from Cairn's records.

What the client relies on: ``version`` is a JSON string, times are integer milliseconds,
``status`` is always present (without it the client waits for a registration to finish), tags
are lists of ``{key, value}``, and empty lists are left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cairn.domain.names import check_name
from cairn.domain.numbers import ID_MAX, parse_id
from cairn.domain.records import Model, Version
from cairn.domain.run_data import MetricPoint, metric_json
from cairn.domain.tracking import ArtifactEntry, Experiment, LoggedModel, Run
from cairn.errors import InvalidInput, InvalidName
from cairn.services.mlflow_models import (
    STATE_TO_STAGE,
    RegisteredModel,
    version_run_id,
    version_source,
)
from cairn.services.mlflow_search import Search


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in sorted(tags.items())]


def model_version(v: Version, *, with_aliases: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": v.model,
        "version": str(v.number),
        "creation_timestamp": ms(v.created_at),
        "last_updated_timestamp": ms(v.updated_at),
        "current_stage": STATE_TO_STAGE.get(v.state, "None"),
        "description": v.description,
        "source": version_source(v),
        "run_id": version_run_id(v),
        "status": "READY",
        "run_link": "",
    }
    if v.tags:
        out["tags"] = tag_list(v.tags)
    if with_aliases and v.aliases:
        out["aliases"] = sorted(v.aliases)
    return out


def registered_model(
    m: Model, latest: list[Version] | None = None, aliases: Mapping[str, int] | None = None
) -> dict[str, Any]:
    """A registered model; ``latest`` and ``aliases`` as a search or a get shows them."""
    out: dict[str, Any] = {
        "name": m.name,
        "creation_timestamp": ms(m.created_at),
        "last_updated_timestamp": ms(m.updated_at),
    }
    if m.description:
        out["description"] = m.description
    if latest:
        out["latest_versions"] = [model_version(v, with_aliases=False) for v in latest]
    if m.tags:
        out["tags"] = tag_list(m.tags)
    if aliases:
        out["aliases"] = [{"alias": a, "version": str(n)} for a, n in sorted(aliases.items())]
    return out


def drawn(found: RegisteredModel) -> dict[str, Any]:
    return registered_model(found.model, found.latest, found.aliases)


def experiment(e: Experiment) -> dict[str, Any]:
    out: dict[str, Any] = {
        "experiment_id": str(e.id),
        "name": e.name,
        "artifact_location": f"mlflow-artifacts:/{e.artifact_root}",
        "lifecycle_stage": e.lifecycle_stage,
        "creation_time": ms(e.created_at),
        "last_update_time": ms(e.updated_at),
    }
    if e.tags:
        out["tags"] = tag_list(e.tags)
    return out


def run(r: Run) -> dict[str, Any]:
    info: dict[str, Any] = {
        "run_id": r.id,
        "run_uuid": r.id,
        "run_name": r.name,
        "experiment_id": str(r.experiment_id),
        "user_id": r.user_id,
        "status": r.status,
        "start_time": r.start_time,
        "artifact_uri": f"mlflow-artifacts:/{r.artifact_root}",
        "lifecycle_stage": r.lifecycle_stage,
    }
    if r.end_time is not None:
        info["end_time"] = r.end_time
    out: dict[str, Any] = {"info": info, "data": {}, "inputs": {}}
    if r.metrics:
        out["data"]["metrics"] = [{"key": k, **p} for k, p in sorted(r.metrics.items())]
    if r.params:
        out["data"]["params"] = tag_list(r.params)
    if r.tags:
        out["data"]["tags"] = tag_list(r.tags)
    if r.inputs:
        out["inputs"]["dataset_inputs"] = [dataset_input(d) for d in r.inputs]
    if r.outputs:
        out["outputs"] = {"model_outputs": r.outputs}
    return out


def dataset_input(d: Mapping[str, Any]) -> dict[str, Any]:
    dataset = {k: d[k] for k in ("name", "digest", "source_type", "source", "schema", "profile")}
    out: dict[str, Any] = {"dataset": {k: v for k, v in dataset.items() if v}}
    if d.get("tags"):
        out["tags"] = tag_list(d["tags"])
    return out


def metric(p: MetricPoint) -> dict[str, Any]:
    return {"key": p.key, "value": metric_json(p.value), "timestamp": p.timestamp, "step": p.step}


def logged_model(m: LoggedModel) -> dict[str, Any]:
    info: dict[str, Any] = {
        "model_id": m.id,
        "experiment_id": str(m.experiment_id),
        "name": m.name,
        "creation_timestamp_ms": ms(m.created_at),
        "last_updated_timestamp_ms": ms(m.updated_at),
        "artifact_uri": f"mlflow-artifacts:/{m.artifact_root}",
        "status": m.status,
        "model_type": m.model_type,
    }
    if m.source_run_id:
        info["source_run_id"] = m.source_run_id
    if m.tags:
        info["tags"] = tag_list(m.tags)
    if m.params:
        info["params"] = tag_list(m.params)
    return {"info": info, "data": {}}


def artifact_listing(entries: list[ArtifactEntry]) -> dict[str, Any]:
    if not entries:
        return {}
    files = []
    for e in entries:
        item: dict[str, Any] = {"path": e.name, "is_dir": e.is_dir}
        if e.size is not None:
            item["file_size"] = e.size
        files.append(item)
    return {"files": files}


# Request values


def model_name(raw: object) -> str:
    """An MLflow registered model name, as spelled, checked in Cairn's grammar."""
    if isinstance(raw, str) and ("/" in raw or ":" in raw):  # MLflow's own rule and words
        raise InvalidName(
            f"Invalid model name '{raw[:200]}'. Names cannot contain '/' or ':'.",
            kind="registered model name",
        )
    try:
        return check_name(raw, kind="registered model name")
    except InvalidName as exc:
        raise InvalidName(
            f"{exc.message}; Cairn names MLflow's registered models in its own grammar "
            f"(got {str(raw)[:130]!r})",
            **exc.details,
        ) from exc


def version_number(raw: object) -> int:
    number = parse_id(raw)
    if number is None:
        raise InvalidInput(f"a version is a whole number from 1 to {ID_MAX}, not {str(raw)[:40]!r}")
    return number


def body_field(body: object, key: str, *, required: bool = True) -> Any:
    if not isinstance(body, dict):
        raise InvalidInput("the request body is a JSON object")
    value = body.get(key)
    if required and (value is None or value == ""):
        raise InvalidInput(f"Missing value for required parameter '{key}'.")
    return value


def tags_of(raw: object) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, list) or not all(
        isinstance(t, dict) and isinstance(t.get("key"), str) for t in raw
    ):
        raise InvalidInput('tags are a list of {"key", "value"}')
    return {t["key"]: t.get("value") or "" for t in raw}


def flag(body: object, key: str) -> bool:
    value = body_field(body, key, required=False) or False
    if not isinstance(value, bool):
        raise InvalidInput(f"{key} is true or false")
    return value


def stage_names(raw: object) -> list[str] | None:
    """MLflow's ``stages`` (``None`` for every stage)."""
    if raw is not None and (not isinstance(raw, list) or not all(isinstance(s, str) for s in raw)):
        raise InvalidInput("stages is a list of stage names")
    return raw or None


def logged_model_search(body: object) -> Search:
    """The filter, page size and page token of a logged-model search (its order is Cairn's)."""
    filter_text = body_field(body, "filter", required=False)
    size = body_field(body, "max_results", required=False) or None
    token = body_field(body, "page_token", required=False) or None
    if not (filter_text is None or isinstance(filter_text, str)):
        raise InvalidInput("filter is a string")
    if not (size is None or type(size) is int):
        raise InvalidInput("max_results is a whole number")
    if not (token is None or isinstance(token, str)):
        raise InvalidInput("page_token is not a token this server gave for this search")
    return Search(filter_text, size, (), token)
