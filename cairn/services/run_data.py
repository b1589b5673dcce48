"""What training scripts log into MLflow runs (params, metrics, tags, dataset inputs), runs'
lifecycle (delete, restore) and run search, on ``cairn.services.tracking``'s records.

Each request is checked whole before its one write transaction, so a refused request (a
param re-logged with another value, a batch over MLflow's limits, a run that is deleted)
writes nothing. Runs are changed under their row lock: two writers never lose each other's
params or tags. Changes are audited without an event, like the rest of MLflow's tracking.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from cairn.domain.metadata import DEFAULT_REQUIRED_FIELDS, completeness
from cairn.domain.mlflow_paging import offset_token, page_size, token_offset
from cairn.domain.records import Version
from cairn.domain.references import parse_reference
from cairn.domain.registrations import VersionMetadata
from cairn.domain.run_data import (
    RUN_NAME_TAG,
    DatasetInput,
    MetricPoint,
    RunData,
    latest_metrics,
    merged_inputs,
    new_params,
    stored_point,
)
from cairn.domain.run_filters import RUN_FIELDS, matches, parse_filter, parse_order, sort
from cairn.domain.run_provenance import final_metrics, run_params
from cairn.domain.tracking import Run
from cairn.errors import InvalidInput, TrackingNotFound
from cairn.services.auth import Actor, Permission
from cairn.services.builtin_validations import COMPLETENESS, BuiltinValidations, Outcome
from cairn.services.resolve import get_model, get_version
from cairn.services.uow import Database, UnitOfWork
from cairn.storage.sql.store import MetadataStore

RUN_PAGE_MAX = 50_000  # MLflow's own largest page of runs
RUN_MATCHES_MAX = 50_000  # the most runs one search reads and sorts
HISTORY_PAGE_MAX = 25_000
VIEW_TYPES = {"ACTIVE_ONLY": ["active"], "DELETED_ONLY": ["deleted"], "ALL": ["active", "deleted"]}
VIEW_NUMBERS = {1: "ACTIVE_ONLY", 2: "DELETED_ONLY", 3: "ALL"}
ENDED = frozenset({"FINISHED", "FAILED", "KILLED"})
_DEFAULT_ORDER = [("attribute", "start_time", True), ("attribute", "run_id", False)]


@dataclass(frozen=True, slots=True)
class RunSearch:
    experiment_ids: list[int]
    filter: str | None = None
    view_type: str = "ACTIVE_ONLY"
    max_results: int | None = None
    order_by: tuple[str, ...] = ()
    page_token: str | None = None


@dataclass(frozen=True, slots=True)
class RunPage:
    runs: list[Run]
    next_page_token: str | None = None


class RunDataService:
    def __init__(self, db: Database, namespace: str) -> None:
        self.db = db
        self.namespace = namespace

    def log(self, actor: Actor, run_id: str, data: RunData) -> None:
        """Params (each written once), metrics and tags, all or none."""
        with self._write(actor) as uow:
            run = _active_run(uow.store, run_id)
            values: dict[str, Any] = {}
            added = new_params(run_id, run.params, data.params)
            if added:
                values["params"] = {**run.params, **added}
            if data.metrics:
                values["metrics"] = latest_metrics(run.metrics, data.metrics)
                uow.store.tracking.add_metrics(run_id, _unseen(uow.store, run_id, data.metrics))
            if data.tags:
                values["tags"] = {**run.tags, **data.tags}
                if data.tags.get(RUN_NAME_TAG):  # MLflow's run name is this tag too
                    values["name"] = data.tags[RUN_NAME_TAG]
            if values:
                uow.store.tracking.update_run(run_id, values)
            uow.record(
                "mlflow.run.log",
                run_id,
                event=False,
                params=sorted(added),
                metrics=len(data.metrics),
                tags=sorted(data.tags),
            )

    def delete_tag(self, actor: Actor, run_id: str, key: str) -> None:
        with self._write(actor) as uow:
            run = _active_run(uow.store, run_id)
            if key not in run.tags:
                raise TrackingNotFound(f"No tag with name: {key} in run with id {run_id}")
            tags = {k: v for k, v in run.tags.items() if k != key}
            uow.store.tracking.update_run(run_id, {"tags": tags})
            uow.record("mlflow.run.untag", run_id, event=False, key=key)

    def log_inputs(self, actor: Actor, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        with self._write(actor) as uow:
            run = _active_run(uow.store, run_id)
            inputs = merged_inputs(run.inputs, list(datasets))
            uow.store.tracking.update_run(run_id, {"inputs": inputs})
            names = sorted({d.name for d in datasets})
            uow.record("mlflow.run.inputs", run_id, event=False, datasets=names)

    def metric_history(
        self,
        actor: Actor,
        run_id: str,
        key: str,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> tuple[list[MetricPoint], str | None]:
        """A page of a metric's values in the order they were logged, and the next token."""
        size = page_size(max_results, HISTORY_PAGE_MAX, HISTORY_PAGE_MAX)
        offset = token_offset(page_token)
        with self._read(actor) as store:
            _found_run(store, run_id)
            found = store.tracking.metric_history(run_id, key, offset, size + 1)
        more = len(found) > size
        return found[:size], offset_token(offset + size) if more else None

    def set_lifecycle(self, actor: Actor, run_id: str, stage: str) -> None:
        """Delete (``deleted``) or restore (``active``) a run; its data is kept either way."""
        with self._write(actor) as uow:
            _found_run(uow.store, run_id, lock=True)
            uow.store.tracking.update_run(run_id, {"lifecycle_stage": stage})
            action = "mlflow.run.delete" if stage == "deleted" else "mlflow.run.restore"
            uow.record(action, run_id, event=False)

    def search(self, actor: Actor, search: RunSearch) -> RunPage:
        """Runs of some experiments that match an MLflow filter, in ``order_by`` (newest start
        first by default), a page at a time."""
        clauses = parse_filter(search.filter, RUN_FIELDS)
        order = [*parse_order(search.order_by, RUN_FIELDS), *_DEFAULT_ORDER]
        size = page_size(search.max_results, 1000, RUN_PAGE_MAX)
        offset = token_offset(search.page_token)
        if search.view_type not in VIEW_TYPES:
            raise InvalidInput("run_view_type is ACTIVE_ONLY, DELETED_ONLY or ALL")
        with self._read(actor) as store:
            found = store.tracking.runs(
                search.experiment_ids, VIEW_TYPES[search.view_type], RUN_MATCHES_MAX + 1
            )
        if len(found) > RUN_MATCHES_MAX:
            raise InvalidInput(
                f"these experiments hold more than {RUN_MATCHES_MAX} runs: search fewer"
            )
        matching = sort([r for r in found if matches(clauses, r, run_field)], order, run_field)
        more = offset + size < len(matching)
        page = matching[offset : offset + size]
        return RunPage(page, offset_token(offset + size) if more else None)

    def _write(self, actor: Actor) -> AbstractContextManager[UnitOfWork]:
        return self.db.write(actor, Permission.WRITE, self.namespace)

    def _read(self, actor: Actor) -> AbstractContextManager[MetadataStore]:
        return self.db.read(actor, self.namespace)


def note_running_run(uow: UnitOfWork, run_id: str | None, version: Version) -> None:
    """Inside a registration from a run: if the run is still running, remember the version,
    which takes the run's final metrics when it ends (``complete_versions``)."""
    run = uow.store.tracking.run(run_id) if run_id else None
    if run is not None and run.status not in ENDED:
        uow.store.tracking.add_run_version(run.id, version.id)


def complete_versions(uow: UnitOfWork, run: Run) -> None:
    """Inside the transaction that ends ``run``: the versions registered from it while it ran
    take the params and final metrics it logged since (MLflow's autolog logs its training
    metrics after registering the model). A key a version has keeps its value; completeness is
    scored again, as a new result of the built-in validation; each change is audited."""
    for version_id in uow.store.tracking.run_versions(run.id):
        ref = parse_reference(uow.store.versions.ref_of(version_id))
        version = get_version(uow.store, ref, with_files=False)
        params = {**run_params(run), **version.params}
        metrics = {**final_metrics(run), **version.metrics}
        if params == version.params and metrics == version.metrics:
            continue
        model = get_model(uow.store, version.namespace, version.model)
        required = model.required_fields
        document = VersionMetadata(
            description=version.description,
            tags=version.tags,
            metrics=metrics,
            params=params,
            provenance=version.provenance,
            schema=version.schema,
        ).document()
        score, missing = completeness(
            document, DEFAULT_REQUIRED_FIELDS if required is None else required
        )
        uow.store.versions.update(
            version.id,
            {
                "metrics": metrics,
                "params": params,
                "completeness": score,
                "missing_fields": missing,
                "updated_at": uow.now,
            },
        )
        status = "passed" if not missing else "failed"
        outcome = Outcome(COMPLETENESS, status, {"score": score, "missing": missing})
        BuiltinValidations.record(uow, version.id, [outcome])
        uow.record(
            "version.evaluate",
            version.ref,
            event=False,
            run=run.id,
            metrics=sorted(set(metrics) - set(version.metrics)),
            params=sorted(set(params) - set(version.params)),
        )


def run_field(run: Run, kind: str, key: str) -> Any:
    """A run's value for a filter or sort field (None when it has none)."""
    if kind == "metric":
        held = run.metrics.get(key)
        return None if held is None else stored_point(key, held).value
    if kind == "param":
        return run.params.get(key)
    if kind == "tag":
        return run.tags.get(key)
    attributes: dict[str, Any] = {
        "run_id": run.id,
        "run_name": run.name,
        "status": run.status,
        "user_id": run.user_id,
        "start_time": float(run.start_time),
        "end_time": None if run.end_time is None else float(run.end_time),
    }
    return attributes.get(key)


def _unseen(store: MetadataStore, run_id: str, points: list[MetricPoint]) -> list[MetricPoint]:
    """The points the run does not hold yet: MLflow stores a value logged again at the same
    step and time once (its client logs a step's metrics again when it logs a model)."""
    seen = store.tracking.logged_points(run_id, points)
    out: list[MetricPoint] = []
    for p in points:
        key = (p.key, "NaN" if math.isnan(p.value) else p.value, p.timestamp, p.step)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _found_run(store: MetadataStore, run_id: str, *, lock: bool = False) -> Run:
    found = store.tracking.run(run_id, lock=lock)
    if found is None:
        raise TrackingNotFound(f"Run with id={run_id} not found", run=run_id[:100])
    return found


def _active_run(store: MetadataStore, run_id: str) -> Run:
    """The run, locked for a change of its data: only an active run takes new data."""
    run = _found_run(store, run_id, lock=True)
    if run.lifecycle_stage != "active":
        raise InvalidInput(
            f"The run {run_id} must be in the 'active' state. "
            f"Current state is {run.lifecycle_stage}."
        )
    return run
