"""MLflow's JSON shapes (proto JSON, snake_case) drawn from Cairn's records.

What the client relies on: ``version`` is a JSON string, times are integer milliseconds,
``status`` is always present (without it the client waits for a registration to finish), tags
are lists of ``{key, value}``, and empty lists are left out.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from cairn.domain.jsonsafe import strict_loads
from cairn.domain.names import normalize_name
from cairn.domain.numbers import ID_MAX, parse_id
from cairn.domain.records import Model, Version
from cairn.domain.tracking import ArtifactEntry, Experiment, LoggedModel, Run
from cairn.errors import InvalidInput, InvalidJSON, InvalidName
from cairn.services.mlflow_models import STATE_TO_STAGE, MlflowModels

T = TypeVar("T")


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in sorted(tags.items())]


def mlflow_origin(v: Version) -> dict[str, Any]:
    """What MLflow said about the version's origin when it was registered through MLflow."""
    found = v.provenance.get("extra", {}).get("mlflow", {})
    return found if isinstance(found, dict) else {}


def version_source(v: Version) -> str:
    """The version's MLflow ``source``: what it was registered from, else its Cairn tree."""
    return str(mlflow_origin(v).get("source") or MlflowModels.tree_uri(v))


def version_run_id(v: Version) -> str:
    return str(mlflow_origin(v).get("run_id") or v.provenance.get("run", {}).get("id") or "")


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
    if r.tags:
        out["data"]["tags"] = tag_list(r.tags)
    if r.outputs:
        out["outputs"] = {"model_outputs": r.outputs}
    return out


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
    """Cairn's name for an MLflow registered model name (lower-cased; Cairn's grammar)."""
    try:
        return normalize_name(raw, kind="registered model name")
    except InvalidName as exc:
        raise InvalidName(
            f"{exc.message}; Cairn keeps MLflow names lower-cased, in the same grammar "
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


# Paging: MLflow's page token is opaque to the client. A search in Cairn's own order carries
# Cairn's cursor and how many matches of that page were sent, base64 of {"cursor", "skip"}; a
# search MLflow orders otherwise, an offset into the sorted matches, base64 of {"offset": n}.


def page_size(max_results: int | None, default: int, limit: int) -> int:
    size = default if max_results is None else max_results
    if not 0 < size <= limit:
        raise InvalidInput(f"max_results is between 1 and {limit}, not {size}")
    return size


def cursor_token(cursor: str | None, skip: int) -> str:
    return base64.b64encode(json.dumps({"cursor": cursor, "skip": skip}).encode()).decode()


def token_cursor(token: object) -> tuple[str | None, int]:
    """``(cursor, skip)`` of a token from ``cursor_token``; ``(None, 0)`` for none."""
    found = _token_fields(token)
    cursor, skip = found.get("cursor"), found.get("skip", 0)
    if not (cursor is None or isinstance(cursor, str)) or not isinstance(skip, int) or skip < 0:
        raise InvalidInput("page_token is not a token this server gave")
    return cursor, skip


def page_of(
    items: list[T], max_results: int | None, token: str | None, default: int, limit: int
) -> tuple[list[T], str | None]:
    size = page_size(max_results, default, limit)
    offset = page_offset(token)
    chunk = items[offset : offset + size]
    more = offset + size < len(items)
    return chunk, page_token(offset + size) if more else None


def page_token(offset: int) -> str:
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def page_offset(token: object) -> int:
    offset = _token_fields(token).get("offset", 0)
    if not isinstance(offset, int) or offset < 0:
        raise InvalidInput("page_token is not a token this server gave")
    return offset


def _token_fields(token: object) -> dict[str, Any]:
    if not token:
        return {}
    if not isinstance(token, str):
        raise InvalidInput("page_token is not a token this server gave")
    try:
        raw = base64.b64decode(token, validate=True)
        found = strict_loads(raw, max_bytes=len(raw))
    except (ValueError, InvalidJSON) as exc:  # binascii.Error, and any non-ASCII text
        raise InvalidInput("page_token is not a token this server gave") from exc
    if not isinstance(found, dict):
        raise InvalidInput("page_token is not a token this server gave")
    return found


def ordered(items: list[T], order_by: list[str], keys: Mapping[str, Callable[[T], Any]]) -> list[T]:
    """``items`` sorted by MLflow ``order_by`` clauses (``"<key> [ASC|DESC]"``), first clause
    first; a key outside ``keys`` is refused."""
    out = list(items)
    for clause in reversed(order_by):
        parts = clause.split()
        key = parts[0].removeprefix("attribute.").removeprefix("attributes.") if parts else ""
        direction = parts[1].upper() if len(parts) > 1 else "ASC"
        if key not in keys or len(parts) > 2 or direction not in ("ASC", "DESC"):
            raise InvalidInput(
                f"Invalid order_by clause {clause[:100]!r}: order by "
                + ", ".join(sorted(keys))
                + " with ASC or DESC"
            )
        out.sort(key=keys[key], reverse=direction == "DESC")
    return out
