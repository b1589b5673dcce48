"""MLflow's experiments beyond creating and reading them (``cairn.services.tracking``):
search, rename, delete and restore (with their runs, as MLflow's server does), and tags.

Each change is authorised in the MLflow namespace and audited without an event, like the
rest of MLflow's tracking state; a refused request writes nothing.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from cairn.domain.mlflow_paging import offset_token, page_size, token_offset
from cairn.domain.run_filters import EXPERIMENT_FIELDS, matches, parse_filter, parse_order, sort
from cairn.domain.tracking import Experiment, ExperimentSearch, ms
from cairn.errors import Conflict, ExperimentExists, InvalidInput, TrackingNotFound
from cairn.services.auth import Actor, Permission
from cairn.services.tracking import experiment_in
from cairn.services.uow import Database, UnitOfWork
from cairn.storage.sql.store import MetadataStore

EXPERIMENTS_MAX = 50_000  # MLflow's largest page of experiments; also the most Cairn sorts
_ORDER = [("attribute", "creation_time", True), ("attribute", "experiment_id", False)]


class ExperimentService:
    def __init__(self, db: Database, namespace: str) -> None:
        self.db = db
        self.namespace = namespace

    def search(self, actor: Actor, search: ExperimentSearch) -> tuple[list[Experiment], str | None]:
        """Experiments matching an MLflow filter, newest first unless ``order_by`` says, a
        page at a time (the token of the next page, or None)."""
        clauses = parse_filter(search.filter, EXPERIMENT_FIELDS)
        order = [*parse_order(search.order_by, EXPERIMENT_FIELDS), *_ORDER]
        size = page_size(search.max_results, 1000, EXPERIMENTS_MAX)
        offset = token_offset(search.page_token)
        with self._read(actor) as store:
            found = store.tracking.experiments(search.stages, EXPERIMENTS_MAX + 1)
        if len(found) > EXPERIMENTS_MAX:
            raise InvalidInput(f"more than {EXPERIMENTS_MAX} experiments: Cairn searches fewer")
        matching = [e for e in found if matches(clauses, e, experiment_field)]
        ordered = sort(matching, order, experiment_field)
        more = offset + size < len(ordered)
        return ordered[offset : offset + size], offset_token(offset + size) if more else None

    def rename(self, actor: Actor, experiment_id: int, new_name: str) -> None:
        with self._write(actor) as uow:
            found = experiment_in(uow.store, experiment_id)
            if found.lifecycle_stage != "active":
                raise Conflict("Cannot rename a non-active experiment.")
            values = {"name": new_name, "updated_at": uow.now}
            if not uow.store.tracking.update_experiment(experiment_id, values):
                raise ExperimentExists(
                    f"Experiment(name={new_name}) already exists.", name=new_name
                )
            uow.record("mlflow.experiment.rename", found.name, event=False, name=new_name)

    def set_lifecycle(self, actor: Actor, experiment_id: int, stage: str) -> None:
        """Delete (``deleted``) or restore (``active``) an experiment and its runs; nothing
        logged is removed."""
        with self._write(actor) as uow:
            found = experiment_in(uow.store, experiment_id)
            other = "active" if stage == "deleted" else "deleted"
            if found.lifecycle_stage == stage:
                return
            values = {"lifecycle_stage": stage, "updated_at": uow.now}
            uow.store.tracking.update_experiment(experiment_id, values)
            moved = uow.store.tracking.move_runs(experiment_id, other, stage)
            action = "delete" if stage == "deleted" else "restore"
            uow.record(f"mlflow.experiment.{action}", found.name, event=False, runs=moved)

    def set_tag(self, actor: Actor, experiment_id: int, key: str, value: str | None) -> None:
        """Set a tag (``value``), or delete it (``None``: a tag it does not have is a 404)."""
        with self._write(actor) as uow:
            found = experiment_in(uow.store, experiment_id)
            if found.lifecycle_stage != "active":
                raise InvalidInput(
                    f"The experiment {experiment_id} must be in the 'active' state. "
                    f"Current state is {found.lifecycle_stage}."
                )
            tags = dict(found.tags)
            if value is not None:
                tags[key] = value
            elif tags.pop(key, None) is None:
                raise TrackingNotFound(
                    f"No tag with name: {key} in experiment with id {experiment_id}"
                )
            uow.store.tracking.update_experiment(
                experiment_id, {"tags": tags, "updated_at": uow.now}
            )
            uow.record("mlflow.experiment.tag", found.name, event=False, key=key)

    def _write(self, actor: Actor) -> AbstractContextManager[UnitOfWork]:
        return self.db.write(actor, Permission.WRITE, self.namespace)

    def _read(self, actor: Actor) -> AbstractContextManager[MetadataStore]:
        return self.db.read(actor, self.namespace)


def experiment_field(e: Experiment, kind: str, key: str) -> Any:
    """An experiment's value for a filter or sort field (None when it has none)."""
    if kind == "tag":
        return e.tags.get(key)
    return {
        "name": e.name,
        "experiment_id": float(e.id),
        "creation_time": float(ms(e.created_at)),
        "last_update_time": float(ms(e.updated_at)),
    }.get(key)
