"""MLflow's tracking state: experiments, runs, logged models and the files logged under them.

Cairn keeps just what the MLflow client needs to log a model and then register it. Every
change is authorised in the MLflow namespace (``CAIRN_MLFLOW_NAMESPACE``) and audited, without
an event: subscribers hear of the version registered from these files, not of each file.
An uploaded file is streamed into the blob store, hashed as it goes, and recorded as its path
→ digest + size; the bytes are stored once, whatever the number of versions made from them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from cairn.domain.manifest import FileEntry
from cairn.domain.tracking import (
    ArtifactEntry,
    Experiment,
    LoggedModel,
    NewExperiment,
    NewLoggedModel,
    NewRun,
    Run,
    RunChange,
    RunOutput,
    artifact_path,
    children,
    experiment_number,
    experiment_of,
    plain_text,
    upload_path,
)
from cairn.errors import ExperimentExists, InvalidInput, TrackingNotFound
from cairn.services.auth import Actor, Permission, authorize
from cairn.services.blobs import BlobRead, BlobService
from cairn.services.resolve import namespace_key
from cairn.services.run_data import ENDED, complete_versions
from cairn.services.uow import Database, UnitOfWork
from cairn.storage.blobs import BlobStore
from cairn.storage.sql.store import MetadataStore


class TrackingService:
    def __init__(self, db: Database, store: BlobStore, blobs: BlobService, namespace: str) -> None:
        self.db = db
        self.store = store
        self.blobs = blobs
        self.namespace = namespace

    # Experiments

    def create_experiment(self, actor: Actor, new: NewExperiment) -> Experiment:
        with self._write(actor) as uow:
            created = uow.store.tracking.insert_experiment(new.name, dict(new.tags), uow.now)
            if created is None:
                raise ExperimentExists(f"Experiment '{new.name}' already exists.", name=new.name)
            uow.record("mlflow.experiment.create", new.name, event=False, id=created.id)
            return created

    def experiment(
        self, actor: Actor, *, experiment_id: str | None = None, name: str | None = None
    ) -> Experiment:
        with self._read(actor) as store:
            if name is not None:
                found = store.tracking.experiment(name=plain_text(name, "an experiment name"))
                what = f"name={name}"
            else:
                found = store.tracking.experiment(experiment_id=experiment_number(experiment_id))
                what = f"id={experiment_id}"
        if found is None:
            raise TrackingNotFound(f"Could not find experiment with {what}")
        return found

    # Runs

    def create_run(self, actor: Actor, new: NewRun) -> Run:
        run_id = uuid.uuid4().hex
        name = new.name or f"run-{run_id[:8]}"
        values = {
            "id": run_id,
            "experiment_id": new.experiment_id,
            "name": name,
            "user_id": new.user_id or actor.name,
            "status": "RUNNING",
            "start_time": new.start_time,
            "end_time": None,
            "lifecycle_stage": "active",
            "tags": {**new.tags, "mlflow.runName": name},
            "outputs": [],
            "params": {},
            "metrics": {},
            "inputs": [],
        }
        with self._write(actor) as uow:
            if new.experiment_id == 0:  # where MLflow's client logs when none is set
                uow.store.tracking.ensure_default_experiment(uow.now)
            experiment = experiment_in(uow.store, new.experiment_id)
            if experiment.lifecycle_stage != "active":
                raise InvalidInput(
                    f"The experiment {experiment.id} must be in the 'active' state. "
                    f"Current state is {experiment.lifecycle_stage}."
                )
            uow.store.tracking.insert_run(values)
            uow.record("mlflow.run.create", run_id, event=False, experiment=new.experiment_id)
            return _found_run(uow.store, run_id)

    def run(self, actor: Actor, run_id: str | None) -> Run:
        with self._read(actor) as store:
            return _found_run(store, plain_text(run_id, "a run id", required=True))

    def update_run(self, actor: Actor, change: RunChange) -> Run:
        values: dict[str, Any] = {}
        if change.status is not None:
            values["status"] = change.status
        if change.end_time is not None:
            values["end_time"] = change.end_time
        if change.name:
            values["name"] = change.name
        with self._write(actor) as uow:
            before = _found_run(uow.store, change.run_id, lock=True)
            if values:
                uow.store.tracking.update_run(change.run_id, values)
            uow.record("mlflow.run.update", change.run_id, event=False, **values)
            after = _found_run(uow.store, change.run_id)
            if after.status in ENDED and before.status not in ENDED:
                complete_versions(uow, after)
            return after

    def log_outputs(self, actor: Actor, run_id: str, models: list[RunOutput]) -> None:
        """Record that the run produced these logged models (each once, the first step kept)."""
        with self._write(actor) as uow:
            run = _found_run(uow.store, run_id, lock=True)
            known = {o["model_id"] for o in run.outputs}
            added = [
                {"model_id": m.model_id, "step": m.step} for m in models if m.model_id not in known
            ]
            uow.store.tracking.update_run(run_id, {"outputs": [*run.outputs, *added]})
            uow.record("mlflow.run.outputs", run_id, event=False, models=len(added))

    # Logged models

    def create_logged_model(self, actor: Actor, new: NewLoggedModel) -> LoggedModel:
        model_id = f"m-{uuid.uuid4().hex}"
        values = {
            "id": model_id,
            "experiment_id": new.experiment_id,
            "name": new.name or model_id,
            "source_run_id": new.source_run_id,
            "status": "LOGGED_MODEL_PENDING",
            "model_type": new.model_type,
            "tags": new.tags,
            "params": new.params,
        }
        with self._write(actor) as uow:
            experiment_in(uow.store, new.experiment_id)
            if new.source_run_id is not None:
                _found_run(uow.store, new.source_run_id)
            uow.store.tracking.insert_logged_model(
                {**values, "created_at": uow.now, "updated_at": uow.now}
            )
            uow.record("mlflow.model.create", model_id, event=False, experiment=new.experiment_id)
            return _found_model(uow.store, model_id)

    def logged_model(self, actor: Actor, model_id: str) -> LoggedModel:
        with self._read(actor) as store:
            return _found_model(store, plain_text(model_id, "a model id", required=True))

    def update_logged_model(self, actor: Actor, model_id: str, status: str) -> LoggedModel:
        with self._write(actor) as uow:
            _found_model(uow.store, model_id, lock=True)
            uow.store.tracking.update_logged_model(
                model_id, {"status": status, "updated_at": uow.now}
            )
            uow.record("mlflow.model.update", model_id, event=False, status=status)
            return _found_model(uow.store, model_id)

    def set_logged_model_tags(self, actor: Actor, model_id: str, tags: Mapping[str, str]) -> None:
        with self._write(actor) as uow:
            found = _found_model(uow.store, model_id, lock=True)
            update_model_tags(uow, found, tags)

    def search_logged_models(
        self, actor: Actor, experiment_ids: list[int], name: str | None, offset: int, limit: int
    ) -> list[LoggedModel]:
        with self._read(actor) as store:
            return store.tracking.logged_models(experiment_ids, name, offset, limit)

    # Artifact files

    def put_artifact(self, actor: Actor, path: object, chunks: Iterable[bytes]) -> FileEntry:
        """Store one uploaded file at ``path`` (replacing any file there)."""
        checked = upload_path(path)
        experiment_id = experiment_of(checked)
        authorize(actor, Permission.WRITE, self.namespace)  # before reading any byte
        with self._read(actor) as store:
            experiment_in(store, experiment_id)
        stat = self.store.put(chunks)
        with self._write(actor) as uow:
            uow.store.blobs.add(stat.digest, stat.size, uow.now)
            uow.store.tracking.put_artifact(checked, experiment_id, stat.digest, stat.size, uow.now)
            uow.record(
                "mlflow.artifact.put", checked, event=False, digest=stat.digest, size=stat.size
            )
        return FileEntry(checked, stat.size, stat.digest)

    def read_artifact(self, actor: Actor, path: object) -> BlobRead:
        checked = artifact_path(path)
        with self._read(actor) as store:
            found = store.tracking.artifact(checked) if checked else None
        if found is None:
            raise TrackingNotFound(f"No artifact at {checked!r}", path=checked)
        return self.blobs.read_named(*found)

    def list_artifacts(self, actor: Actor, path: object) -> list[ArtifactEntry]:
        """The direct children of folder ``path``; none for a file or a missing path."""
        checked = artifact_path(path)
        files = self.files(actor, checked)
        return children("", [(f.path, f.size) for f in files])

    def files(self, actor: Actor, prefix: str) -> list[FileEntry]:
        """Every file below folder ``prefix``, with paths relative to it."""
        if not prefix:
            return []  # the root holds experiments' folders only, never listed whole
        try:
            experiment_id = experiment_of(prefix)
        except InvalidInput:
            return []  # every file is under an experiment's folder: nothing is here
        with self._read(actor) as store:
            rows = store.tracking.artifacts_under(experiment_id, prefix)
        cut = len(prefix) + 1
        return [FileEntry(path[cut:], size, digest) for path, digest, size in rows]

    def _write(self, actor: Actor) -> AbstractContextManager[UnitOfWork]:
        return self.db.write(actor, Permission.WRITE, self.namespace)

    def _read(self, actor: Actor) -> AbstractContextManager[MetadataStore]:
        return self.db.read(actor, self.namespace)


def link_logged_files(uow: UnitOfWork, namespace: str, files: list[FileEntry]) -> None:
    """Inside a registration from logged files: link their blobs into ``namespace`` (the MLflow
    namespace), whose tracking store received their bytes; this also covers files logged before
    namespaces held blobs, or under another ``CAIRN_MLFLOW_NAMESPACE``. Only digests some
    logged file has are linked."""
    logged = uow.store.tracking.logged_digests([f.digest for f in files])
    uow.store.blobs.link(namespace_key(namespace), logged, uow.now)


def update_model_tags(uow: UnitOfWork, model: LoggedModel, tags: Mapping[str, str]) -> None:
    """Merge ``tags`` into a logged model's tags inside ``uow``."""
    merged = {**model.tags, **tags}
    uow.store.tracking.update_logged_model(model.id, {"tags": merged, "updated_at": uow.now})
    uow.record("mlflow.model.tag", model.id, event=False, keys=sorted(tags))


def _found_run(store: MetadataStore, run_id: str, *, lock: bool = False) -> Run:
    found = store.tracking.run(run_id, lock=lock)
    if found is None:
        raise TrackingNotFound(f"Run with id={run_id} not found", run=run_id[:100])
    return found


def _found_model(store: MetadataStore, model_id: str, *, lock: bool = False) -> LoggedModel:
    found = store.tracking.logged_model(model_id, lock=lock)
    if found is None:
        raise TrackingNotFound(f"Logged model with ID '{model_id}' not found", model=model_id)
    return found


def experiment_in(store: MetadataStore, experiment_id: int) -> Experiment:
    found = store.tracking.experiment(experiment_id=experiment_id)
    if found is None:
        raise TrackingNotFound(f"No Experiment with id={experiment_id} exists")
    return found
