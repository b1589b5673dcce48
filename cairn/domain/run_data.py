"""What a training script logs into an MLflow run: params, metrics, tags and dataset inputs,
checked with MLflow's rules and limits so that a request MLflow's server refuses is refused
here too, with MLflow's message.

- Keys (params, metrics, tags) are 1-250 characters of letters, digits and ``_-. :/``, and
  must not read as another path (``a/../b``, ``/a``, ``./a``).
- A param is written once: logging it again with the same value changes nothing, with
  another value is refused.
- A batch holds at most 1000 metrics, 100 params and 100 tags, 1000 entries in all.
- Metric values are doubles, ``NaN`` and the infinities included (proto JSON writes those as
  the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``); a metric's latest value is the one
  with the highest step, then timestamp, then value, as MLflow picks it.
"""

from __future__ import annotations

import json
import math
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from cairn.errors import InvalidInput

KEY_MAX = 250
PARAM_VALUE_MAX = 6000
TAG_VALUE_MAX = 8000
METRICS_PER_BATCH = 1000
PARAMS_TAGS_PER_BATCH = 100
ENTITIES_PER_BATCH = 1000
DATASETS_PER_REQUEST = 1000
DATASET_NAME_MAX = 500
DATASET_DIGEST_MAX = 36
DATASET_SCHEMA_MAX = 1_048_575
DATASET_SOURCE_MAX = 65_535
DATASET_PROFILE_MAX = 16_777_215
INPUT_TAG_KEY_MAX = 255
INPUT_TAG_VALUE_MAX = 500
_KEY = re.compile(r"[/\w.\- :]*")
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
RUN_NAME_TAG = "mlflow.runName"


@dataclass(frozen=True, slots=True)
class MetricPoint:
    key: str
    value: float
    timestamp: int
    step: int

    def rank(self) -> tuple[int, int, float]:
        """What makes a point a metric's latest: step, then timestamp, then value (NaN as 0)."""
        return self.step, self.timestamp, 0.0 if math.isnan(self.value) else self.value


@dataclass(frozen=True, slots=True)
class RunData:
    """One log request: a batch, or a single param, metric or tag."""

    metrics: list[MetricPoint] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DatasetInput:
    """A dataset a run read, as MLflow describes it, and the input's tags (its context)."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: str = ""
    profile: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "digest": self.digest,
            "source_type": self.source_type,
            "source": self.source,
            "schema": self.schema,
            "profile": self.profile,
            "tags": self.tags,
        }


def invalid_value(path: str, value: object, message: str = "") -> InvalidInput:
    """MLflow's wording for a value it refuses."""
    shown = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)[:300]
    tail = f": {message}" if message else "."
    return InvalidInput(f"Invalid value {shown} for parameter '{path}' supplied{tail}")


def check_key(raw: object, path: str) -> str:
    """A param, metric or tag key as MLflow allows it."""
    if raw is None or raw == "":
        raise InvalidInput(f"Missing value for required parameter '{path}'.")
    if not isinstance(raw, str) or not _KEY.fullmatch(raw):
        raise invalid_value(
            path,
            raw,
            "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), "
            "spaces ( ), colon(:) and slashes (/).",
        )
    norm = posixpath.normpath(raw)
    if norm != raw or norm == "." or norm.startswith(("..", "/")):
        raise invalid_value(
            path,
            raw,
            "Names may be treated as files in certain cases, and must not resolve to other "
            f"names when treated as such. This name would resolve to {norm!r}",
        )
    if len(raw) > KEY_MAX:
        raise InvalidInput(f"'{path}' exceeds the maximum length of {KEY_MAX} characters")
    return raw


def check_text(raw: object, path: str, limit: int, *, required: bool = True) -> str:
    """A string value of at most ``limit`` characters, without NUL."""
    if raw is None:
        if required:
            raise InvalidInput(f"Missing value for required parameter '{path}'.")
        return ""
    if not isinstance(raw, str):
        raise invalid_value(path, raw, "a string is expected")
    if len(raw) > limit:
        raise InvalidInput(f"'{path}' exceeds the maximum length of {limit} characters")
    if "\x00" in raw:
        raise InvalidInput(f"'{path}' cannot contain NUL (0x00) characters")
    return raw


def whole(raw: object, path: str, *, default: int | None = None, low: int = -(2**63)) -> int:
    """A 64-bit integer, as a JSON number or its decimal string (proto JSON's int64)."""
    if raw is None and default is not None:
        return default
    text = str(raw) if isinstance(raw, (int, str)) and not isinstance(raw, bool) else ""
    digits = text.removeprefix("-")
    if not digits.isascii() or not digits.isdigit() or not low <= int(text) < 2**63:
        raise invalid_value(path, raw, "a whole number (64-bit integer) is expected")
    return int(text)


def metric_value(raw: object, path: str) -> float:
    if raw is None:
        raise InvalidInput(f"Missing value for required parameter '{path}'.")
    if isinstance(raw, str) and raw in _NON_FINITE:
        return _NON_FINITE[raw]
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise invalid_value(
            path, raw, "Please specify value as a valid double (64-bit floating point)"
        )
    try:
        return float(raw)
    except OverflowError:  # an integer past any double
        raise invalid_value(path, str(raw)[:40], "a double is expected") from None


def metric_json(value: float) -> float | str:
    """A double as proto JSON writes it (non-finite values as strings)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def metric_point(raw: object, path: str) -> MetricPoint:
    if not isinstance(raw, dict):
        raise invalid_value(path, None, 'a metric is {"key", "value", "timestamp", "step"}')
    return MetricPoint(
        key=check_key(raw.get("key"), f"{path}.key" if path else "key"),
        value=metric_value(raw.get("value"), f"{path}.value" if path else "value"),
        timestamp=whole(raw.get("timestamp"), f"{path}.timestamp" if path else "timestamp", low=0),
        step=whole(raw.get("step"), f"{path}.step" if path else "step", default=0),
    )


def param_pair(key: object, value: object, path: str = "") -> tuple[str, str]:
    at = f"{path}." if path else ""
    return (
        check_key(key, f"{at}key"),
        check_text(value, f"{at}value" if path else "Param value", PARAM_VALUE_MAX),
    )


def tag_pair(key: object, value: object, path: str = "") -> tuple[str, str]:
    at = f"{path}." if path else ""
    return (
        check_key(key, f"{at}key"),
        check_text(value, f"{at}value", TAG_VALUE_MAX),
    )


def batch_limits(metrics: int, params: int, tags: int) -> None:
    """MLflow's limits on one batch, with its message."""
    for what, limit, count in (
        ("metrics", METRICS_PER_BATCH, metrics),
        ("params", PARAMS_TAGS_PER_BATCH, params),
        ("tags", PARAMS_TAGS_PER_BATCH, tags),
        ("metrics, params, and tags", ENTITIES_PER_BATCH, metrics + params + tags),
    ):
        if count > limit:
            raise InvalidInput(
                f"A batch logging request can contain at most {limit} {what}. Got {count} "
                f"{what}. Please split up {what} across multiple requests and try again."
            )


def new_params(run_id: str, logged: dict[str, str], given: dict[str, str]) -> dict[str, str]:
    """The params of ``given`` not yet logged; a logged key given another value is refused."""
    changed = [
        {"key": k, "old_value": logged[k], "new_value": v}
        for k, v in given.items()
        if k in logged and logged[k] != v
    ]
    if len(changed) == 1:
        c = changed[0]
        raise InvalidInput(
            f"Changing param values is not allowed. Param with key='{c['key']}' was already "
            f"logged with value='{c['old_value']}' for run ID='{run_id}'. Attempted logging "
            f"new value '{c['new_value']}'."
        )
    if changed:
        raise InvalidInput(
            f"Changing param values is not allowed. Params were already logged='{changed}' "
            f"for run ID='{run_id}'."
        )
    return {k: v for k, v in given.items() if k not in logged}


def latest_metrics(
    current: dict[str, dict[str, Any]], points: list[MetricPoint]
) -> dict[str, dict[str, Any]]:
    """The run's latest value per key after ``points`` (stored as ``{value, timestamp, step}``,
    the value in proto JSON's spelling)."""
    out = dict(current)
    for p in points:
        held = out.get(p.key)
        if held is None or p.rank() > stored_point(p.key, held).rank():
            out[p.key] = {"value": metric_json(p.value), "timestamp": p.timestamp, "step": p.step}
    return out


def stored_point(key: str, held: dict[str, Any]) -> MetricPoint:
    value = held["value"]
    number = _NON_FINITE[value] if isinstance(value, str) else float(value)
    return MetricPoint(key, number, int(held["timestamp"]), int(held["step"]))


def dataset_input(raw: object, path: str) -> DatasetInput:
    """One of log-inputs' ``datasets``: ``{"tags": [...], "dataset": {name, digest, ...}}``."""
    if not isinstance(raw, dict) or not isinstance(raw.get("dataset"), dict):
        raise invalid_value(path, None, 'a dataset input is {"dataset": {…}, "tags": […]}')
    d = raw["dataset"]
    at = f"{path}.dataset"
    tags_raw = raw.get("tags") or []
    if not isinstance(tags_raw, list) or not all(isinstance(t, dict) for t in tags_raw):
        raise invalid_value(f"{path}.tags", None, 'input tags are a list of {"key", "value"}')
    tags = {
        check_text(t.get("key"), f"{path}.tags.key", INPUT_TAG_KEY_MAX): check_text(
            t.get("value"), f"{path}.tags.value", INPUT_TAG_VALUE_MAX
        )
        for t in tags_raw
    }
    return DatasetInput(
        name=_required(check_text(d.get("name"), f"{at}.name", DATASET_NAME_MAX), f"{at}.name"),
        digest=_required(
            check_text(d.get("digest"), f"{at}.digest", DATASET_DIGEST_MAX), f"{at}.digest"
        ),
        source_type=_required(
            check_text(d.get("source_type"), f"{at}.source_type", KEY_MAX), f"{at}.source_type"
        ),
        source=_required(
            check_text(d.get("source"), f"{at}.source", DATASET_SOURCE_MAX), f"{at}.source"
        ),
        schema=check_text(d.get("schema"), f"{at}.schema", DATASET_SCHEMA_MAX, required=False),
        profile=check_text(d.get("profile"), f"{at}.profile", DATASET_PROFILE_MAX, required=False),
        tags=tags,
    )


def merged_inputs(current: list[dict[str, Any]], given: list[DatasetInput]) -> list[dict[str, Any]]:
    """The run's dataset inputs after ``given``: one per (name, digest), the newest tags kept."""
    out = {(d["name"], d["digest"]): d for d in current}
    for d in given:
        out[(d.name, d.digest)] = d.to_dict()
    return list(out.values())


def _required(value: str, path: str) -> str:
    if not value:
        raise InvalidInput(f"Missing value for required parameter '{path}'.")
    return value
