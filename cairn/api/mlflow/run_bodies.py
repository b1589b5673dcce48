"""MLflow's run-data and search request bodies read into Cairn's typed values, with MLflow's
rules (``cairn.domain.run_data``): a body MLflow's server refuses is a 400
``INVALID_PARAMETER_VALUE`` here, with its message."""

from __future__ import annotations

from typing import Any

from cairn.api.mlflow.wire import body_field
from cairn.domain.run_data import (
    DATASETS_PER_REQUEST,
    DatasetInput,
    RunData,
    batch_limits,
    check_key,
    check_text,
    dataset_input,
    metric_point,
    param_pair,
    tag_pair,
)
from cairn.domain.tracking import ExperimentSearch, experiment_number, plain_text
from cairn.errors import InvalidInput
from cairn.services.run_data import VIEW_NUMBERS, VIEW_TYPES, RunSearch

EXPERIMENT_IDS_MAX = 1000  # one search's experiments, each a value of one SQL IN list
EXPERIMENT_TAG_MAX = 20_000


def run_id(body: Any) -> str:
    """``run_id``, or the older ``run_uuid`` the client sends beside it."""
    raw = body_field(body, "run_id", required=False) or body_field(body, "run_uuid")
    return plain_text(raw, "a run id", required=True)


def param(body: Any) -> RunData:
    key, value = param_pair(body_field(body, "key", required=False), body.get("value"))
    return RunData(params={key: value})


def metric(body: Any) -> RunData:
    return RunData(metrics=[metric_point(body, "")])


def tag(body: Any) -> RunData:
    key, value = tag_pair(body_field(body, "key", required=False), body.get("value"))
    return RunData(tags={key: value})


def tag_key(body: Any) -> str:
    return check_key(body_field(body, "key", required=False), "key")


def batch(body: Any) -> RunData:
    """A log-batch: MLflow's limits first, then each entry; a key given twice among the params
    is refused, among the tags the last value wins (as in MLflow)."""
    metrics, params, tags = (_list(body, name) for name in ("metrics", "params", "tags"))
    batch_limits(len(metrics), len(params), len(tags))
    pairs = [_pair(p, f"params[{i}]", param_pair) for i, p in enumerate(params)]
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        raise InvalidInput(
            f"Duplicate parameter keys have been submitted: {dupes}. Please ensure the request "
            "contains only one param value per param key."
        )
    return RunData(
        metrics=[metric_point(m, f"metrics[{i}]") for i, m in enumerate(metrics)],
        params=dict(pairs),
        tags=dict(_pair(t, f"tags[{i}]", tag_pair) for i, t in enumerate(tags)),
    )


def datasets(body: Any) -> list[DatasetInput]:
    """log-inputs' datasets; its logged-model inputs are accepted and not kept."""
    found = _list(body, "datasets")
    if len(found) > DATASETS_PER_REQUEST:
        raise InvalidInput(f"a request logs at most {DATASETS_PER_REQUEST} datasets")
    _list(body, "models")
    return [dataset_input(d, f"datasets[{i}]") for i, d in enumerate(found)]


def history(params: dict[str, Any]) -> tuple[str, str, int | None, str | None]:
    """get-history's query: (run id, metric key, max_results, page_token)."""
    raw_size = params.get("max_results")
    size = None if raw_size in (None, "") else _whole(raw_size, "max_results")
    return (
        run_id(params),
        check_key(params.get("metric_key"), "metric_key"),
        size,
        plain_text(params.get("page_token"), "a page token") or None,
    )


def run_search(body: Any) -> RunSearch:
    ids = body_field(body, "experiment_ids", required=False) or []
    if not isinstance(ids, list) or len(ids) > EXPERIMENT_IDS_MAX:
        raise InvalidInput(f"experiment_ids is a list of at most {EXPERIMENT_IDS_MAX} ids")
    return RunSearch(
        experiment_ids=[experiment_number(e) for e in ids],
        filter=_text(body, "filter"),
        view_type=_view(body.get("run_view_type")),
        max_results=_size(body),
        order_by=_order(body),
        page_token=_text(body, "page_token"),
    )


def experiment_search(body: Any) -> ExperimentSearch:
    body_field(body, "filter", required=False)  # the body is an object
    return ExperimentSearch(
        stages=VIEW_TYPES[_view(body.get("view_type"))],
        filter=_text(body, "filter"),
        max_results=_size(body),
        order_by=_order(body),
        page_token=_text(body, "page_token"),
    )


def experiment_id(body: Any) -> int:
    return experiment_number(body_field(body, "experiment_id"))


def experiment_tag(body: Any) -> tuple[int, str, str]:
    """set-experiment-tag: MLflow's tag keys, values of at most 20,000 characters."""
    key = check_key(body_field(body, "key", required=False), "key")
    return experiment_id(body), key, check_text(body.get("value"), "value", EXPERIMENT_TAG_MAX)


def rename(body: Any) -> tuple[int, str]:
    """experiments/update: the experiment and its new name (MLflow's only change there)."""
    experiment_id = experiment_number(body_field(body, "experiment_id"))
    name = body_field(body, "new_name", required=False)
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"Invalid experiment name: '{name}'")
    if len(name) > 500:
        raise InvalidInput("'name' exceeds the maximum length of 500 characters")
    return experiment_id, plain_text(name, "an experiment name")


def _pair(raw: object, path: str, check: Any) -> tuple[str, str]:
    if not isinstance(raw, dict):
        raise InvalidInput(f'{path} is {{"key", "value"}}')
    pair: tuple[str, str] = check(raw.get("key"), raw.get("value"), path)
    return pair


def _list(body: Any, key: str) -> list[Any]:
    found = body_field(body, key, required=False)
    if found is None:
        return []
    if not isinstance(found, list):
        raise InvalidInput(f"{key} is a list")
    return found


def _text(body: Any, key: str) -> str | None:
    found = body.get(key)
    if found is not None and not isinstance(found, str):
        raise InvalidInput(f"{key} is a string")
    return found or None


def _size(body: Any) -> int | None:
    raw = body.get("max_results")
    return None if raw is None else _whole(raw, "max_results")


def _whole(raw: object, what: str) -> int:
    text = str(raw) if isinstance(raw, (int, str)) and not isinstance(raw, bool) else ""
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        raise InvalidInput(f"{what} is a whole number")
    return int(text)


def _order(body: Any) -> tuple[str, ...]:
    raw = body.get("order_by") or []
    if not isinstance(raw, list) or not all(isinstance(o, str) for o in raw):
        raise InvalidInput("order_by is a list of strings")
    return tuple(raw)


def _view(raw: object) -> str:
    """A view type by name or by its proto number (ACTIVE_ONLY when absent)."""
    if raw is None:
        return "ACTIVE_ONLY"
    found = VIEW_NUMBERS.get(raw) if type(raw) is int else raw
    if not isinstance(found, str) or found not in VIEW_TYPES:
        raise InvalidInput("the view type is ACTIVE_ONLY, DELETED_ONLY or ALL")
    return found
