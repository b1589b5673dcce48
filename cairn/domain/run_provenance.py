"""What a version registered from an MLflow run takes from that run: its params, its final
metrics (the latest value of each), its tags, its code (from MLflow's ``mlflow.source.*``
tags) and the datasets it logged (URI and MLflow's digest, the input's context as the role).

What the registration itself says wins: a run's values fill only what the request left out.
Values Cairn's metadata cannot hold are left out rather than refusing the version: metrics
that are not finite (NaN, infinities), a commit that is not hex, a dataset without a URI.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from typing import Any

from cairn.domain.metadata import MAX_ENTRIES
from cairn.domain.registrations import VersionMetadata
from cairn.domain.run_data import stored_point
from cairn.domain.tracking import Run

CONTEXT_TAG = "mlflow.data.context"
DIGEST_PREFIX = "mlflow:"  # MLflow's dataset digest: a hash of a sample, not of the content
_COMMIT = re.compile(r"[0-9a-f]{7,64}")
_CODE_TAGS = {
    "mlflow.source.git.repoURL": "repository",
    "mlflow.source.git.branch": "branch",
    "mlflow.source.name": "path",
}
_URI_KEYS = ("uri", "url", "path", "source")


def with_run(
    metadata: VersionMetadata,
    provenance: dict[str, Any],
    run: Run,
    model_params: dict[str, str] | None = None,
) -> VersionMetadata:
    """``metadata`` with ``provenance`` (not yet parsed) and what ``run`` adds to both; the
    params of the logged model registered, if any, join the run's."""
    params = metadata.params or run_params(run, model_params)
    metrics = metadata.metrics or final_metrics(run)
    out = dict(provenance)
    datasets = [d for d in (dataset_of(i) for i in run.inputs) if d is not None]
    if datasets and "datasets" not in out:
        out["datasets"] = datasets
    code = code_of(run.tags)
    if code and "code" not in out:
        out["code"] = code
    extra = dict(out.get("extra", {}))
    mlflow = dict(extra.get("mlflow", {}))
    if run.tags:
        mlflow["run_tags"] = dict(run.tags)
    if run.inputs:
        mlflow["datasets"] = [
            {k: i[k] for k in ("name", "digest", "source_type", "source") if i.get(k)}
            for i in run.inputs
        ]
    extra["mlflow"] = mlflow
    out["extra"] = extra
    return replace(metadata, params=params, metrics=metrics, provenance=out)


def run_params(run: Run, model_params: dict[str, str] | None = None) -> dict[str, str]:
    """The run's params (and a logged model's), as many as a version holds."""
    merged = {**(model_params or {}), **run.params}
    return dict(sorted(merged.items())[:MAX_ENTRIES])


def final_metrics(run: Run) -> dict[str, float]:
    """Each metric's latest value, if finite."""
    out: dict[str, float] = {}
    for key, held in sorted(run.metrics.items()):
        value = stored_point(key, held).value
        if math.isfinite(value) and len(out) < MAX_ENTRIES:
            out[key] = value
    return out


def code_of(tags: dict[str, str]) -> dict[str, Any]:
    """Where the run's code came from, as MLflow's client tags it."""
    code: dict[str, Any] = {
        field: tags[tag][:4096] for tag, field in _CODE_TAGS.items() if tags.get(tag)
    }
    commit = tags.get("mlflow.source.git.commit", "")
    if _COMMIT.fullmatch(commit):
        code["commit"] = commit
    return code


def dataset_of(logged: dict[str, Any]) -> dict[str, Any] | None:
    """A logged dataset as a provenance dataset: the URI its source names (else the dataset's
    name under ``mlflow-dataset:``), MLflow's digest, and its context as the role."""
    uri = source_uri(str(logged.get("source", ""))) or f"mlflow-dataset:{logged['name']}"
    out: dict[str, Any] = {"uri": uri[:4096]}
    digest = str(logged.get("digest", ""))
    if digest:
        out["digest"] = DIGEST_PREFIX + digest
    role = str(logged.get("tags", {}).get(CONTEXT_TAG, ""))
    if role:
        out["role"] = role[:64]
    return out


def source_uri(source: str) -> str:
    """The URI in an MLflow dataset source (JSON such as ``{"url": …}``), if it has one."""
    try:
        parsed = json.loads(source)
    except ValueError:
        return ""
    if not isinstance(parsed, dict):
        return ""
    for key in _URI_KEYS:
        if isinstance(parsed.get(key), str) and parsed[key]:
            return str(parsed[key])
    return ""
