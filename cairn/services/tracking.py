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
from cairn.domain.numbers import ID_MAX, parse_id
from cairn.domain.tracking import (
    MODEL_STATUSES,
    RUN_STATUSES,
    ArtifactEntry,
    Experiment,
    LoggedModel,
    Run,
    artifact_path,
    children,
    experiment_of,
    upload_path,
)
from cairn.errors import ExperimentExists, InvalidInput, TrackingNotFound
from cairn.services.auth import Actor, Permission, authorize
from cairn.services.blobs import BlobRead, BlobService
from cairn.services.resolve import namespace_key
from cairn.services.uow import Database, UnitOfWork
from cairn.storage.blobs import BlobStore
from cairn.storage.sql.store import MetadataStore

TEXT_MAX = 1000
TAG_VALUE_MAX = 100_000  # MLflow's own tags (the model's version list) grow long


class TrackingService:
    def __init__(self, db: Database, store: BlobStore, blobs: BlobService, namespace: str) -> None:
        self.db = db
        self.store = store
        self.blobs = blobs
        self.namespace = namespace

    # Experiments

    def create_experiment(
        self, actor: Actor, name: object, tags: Mapping[str, str], artifact_location: object = None
    ) -> Experiment:
        """Artifacts of every experiment live in Cairn: an ``artifact_location`` is refused."""
        if artifact_location:
            raise InvalidInput(
                "Cairn keeps experiments' artifacts itself: leave artifact_location out"
            )
        name = _text(name, "an experiment name", required=True)
        with self._write(actor) as uow:
            created = uow.store.tracking.insert_experiment(name, dict(tags), uow.now)
            if created is None:
                raise ExperimentExists(f"Experiment '{name}' already exists.", name=name)
            uow.record("mlflow.experiment.create", name, event=False, id=created.id)
            return created

    def experiment(
        self, actor: Actor, *, experiment_id: object = None, name: object = None
    ) -> Experiment:
        with self._read(actor) as store:
            if name is not None:
                found = store.tracking.experiment(name=_text(name, "an experiment name"))
                what = f"name={name}"
            else:
                found = store.tracking.experiment(experiment_id=_number(experiment_id))
                what = f"id={experiment_id}"
        if found is None:
            raise TrackingNotFound(f"Could not find experiment with {what}")
        return found

    # Runs

    def create_run(self, actor: Actor, fields: Mapping[str, Any]) -> Run:
        experiment_id = _number(fields.get("experiment_id"))
        run_id = uuid.uuid4().hex
        tags = _tags(fields.get("tags"))
        name = _text(fields.get("run_name") or tags.get("mlflow.runName"), "a run name")
        values = {
            "id": run_id,
            "experiment_id": experiment_id,
            "name": name or f"run-{run_id[:8]}",
            "user_id": _text(fields.get("user_id"), "a user id") or actor.name,
            "status": "RUNNING",
            "start_time": _millis(fields.get("start_time"), "start_time", default=0),
            "end_time": None,
            "lifecycle_stage": "active",
            "tags": {**tags, "mlflow.runName": name or f"run-{run_id[:8]}"},
            "outputs": [],
        }
        with self._write(actor) as uow:
            _experiment_in(uow.store, experiment_id)
            uow.store.tracking.insert_run(values)
            uow.record("mlflow.run.create", run_id, event=False, experiment=experiment_id)
            return _found_run(uow.store, run_id)

    def run(self, actor: Actor, run_id: object) -> Run:
        with self._read(actor) as store:
            return _found_run(store, _text(run_id, "a run id", required=True))

    def update_run(self, actor: Actor, run_id: object, fields: Mapping[str, Any]) -> Run:
        values: dict[str, Any] = {}
        if fields.get("status") is not None:
            if fields["status"] not in RUN_STATUSES:
                raise InvalidInput(f"a run status is one of {', '.join(sorted(RUN_STATUSES))}")
            values["status"] = fields["status"]
        if fields.get("end_time") is not None:
            values["end_time"] = _millis(fields["end_time"], "end_time")
        if fields.get("run_name"):
            values["name"] = _text(fields["run_name"], "a run name")
        checked = _text(run_id, "a run id", required=True)
        with self._write(actor) as uow:
            _found_run(uow.store, checked, lock=True)
            if values:
                uow.store.tracking.update_run(checked, values)
            uow.record("mlflow.run.update", checked, event=False, **values)
            return _found_run(uow.store, checked)

    def log_outputs(self, actor: Actor, run_id: object, models: object) -> None:
        """Record that the run produced these logged models (``[{"model_id", "step"}]``)."""
        if not isinstance(models, list) or not all(
            isinstance(m, dict) and isinstance(m.get("model_id"), str) for m in models
        ):
            raise InvalidInput('models is a list of {"model_id", "step"}')
        checked = _text(run_id, "a run id", required=True)
        with self._write(actor) as uow:
            run = _found_run(uow.store, checked, lock=True)
            known = {o["model_id"] for o in run.outputs}
            added = [
                {"model_id": m["model_id"], "step": int(m.get("step") or 0)}
                for m in models
                if m["model_id"] not in known
            ]
            uow.store.tracking.update_run(checked, {"outputs": [*run.outputs, *added]})
            uow.record("mlflow.run.outputs", checked, event=False, models=len(added))

    # Logged models

    def create_logged_model(self, actor: Actor, fields: Mapping[str, Any]) -> LoggedModel:
        experiment_id = _number(fields.get("experiment_id"))
        model_id = f"m-{uuid.uuid4().hex}"
        raw_run = fields.get("source_run_id")
        run_id = _text(raw_run, "a run id") if raw_run else None
        values = {
            "id": model_id,
            "experiment_id": experiment_id,
            "name": _text(fields.get("name"), "a model name") or model_id,
            "source_run_id": run_id,
            "status": "LOGGED_MODEL_PENDING",
            "model_type": _text(fields.get("model_type"), "a model type"),
            "tags": _tags(fields.get("tags")),
            "params": _tags(fields.get("params")),
        }
        with self._write(actor) as uow:
            _experiment_in(uow.store, experiment_id)
            if run_id is not None:
                _found_run(uow.store, run_id)
            uow.store.tracking.insert_logged_model(
                {**values, "created_at": uow.now, "updated_at": uow.now}
            )
            uow.record("mlflow.model.create", model_id, event=False, experiment=experiment_id)
            return _found_model(uow.store, model_id)

    def logged_model(self, actor: Actor, model_id: object) -> LoggedModel:
        with self._read(actor) as store:
            return _found_model(store, _text(model_id, "a model id", required=True))

    def update_logged_model(self, actor: Actor, model_id: str, status: object) -> LoggedModel:
        if status not in MODEL_STATUSES:
            raise InvalidInput(f"a logged model's status is one of {', '.join(MODEL_STATUSES)}")
        with self._write(actor) as uow:
            _found_model(uow.store, model_id, lock=True)
            uow.store.tracking.update_logged_model(
                model_id, {"status": status, "updated_at": uow.now}
            )
            uow.record("mlflow.model.update", model_id, event=False, status=status)
            return _found_model(uow.store, model_id)

    def set_logged_model_tags(self, actor: Actor, model_id: str, tags: object) -> None:
        new = _tags(tags)
        with self._write(actor) as uow:
            found = _found_model(uow.store, model_id, lock=True)
            update_model_tags(uow, found, new)

    def search_logged_models(
        self, actor: Actor, experiment_ids: object, name: str | None, offset: int, limit: int
    ) -> list[LoggedModel]:
        if not isinstance(experiment_ids, list) or not experiment_ids:
            raise InvalidInput("experiment_ids is a non-empty list of experiment ids")
        ids = [_number(e) for e in experiment_ids]
        with self._read(actor) as store:
            return store.tracking.logged_models(ids, name, offset, limit)

    # Artifact files

    def put_artifact(self, actor: Actor, path: object, chunks: Iterable[bytes]) -> FileEntry:
        """Store one uploaded file at ``path`` (replacing any file there)."""
        checked = upload_path(path)
        experiment_id = experiment_of(checked)
        authorize(actor, Permission.WRITE, self.namespace)  # before reading any byte
        with self._read(actor) as store:
            _experiment_in(store, experiment_id)
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


def _experiment_in(store: MetadataStore, experiment_id: int) -> Experiment:
    found = store.tracking.experiment(experiment_id=experiment_id)
    if found is None:
        raise TrackingNotFound(f"No Experiment with id={experiment_id} exists")
    return found


def plain_text(raw: object, what: str, *, required: bool = False) -> str:
    """A short identifier or name from a request: a string of at most ``TEXT_MAX`` characters
    without NUL ('' when absent and not ``required``)."""
    return _text(raw, what, required=required)


def _text(raw: object, what: str, *, required: bool = False) -> str:
    if raw is None or raw == "":
        if required:
            raise InvalidInput(f"{what} is required")
        return ""
    if not isinstance(raw, str) or len(raw) > TEXT_MAX or "\x00" in raw:
        raise InvalidInput(f"{what} is a string of at most {TEXT_MAX} characters")
    return raw


def _number(raw: object) -> int:
    found = 0 if raw in ("0", 0) and not isinstance(raw, bool) else parse_id(raw)
    if found is None:
        raise InvalidInput(
            f"an experiment id is a whole number from 0 to {ID_MAX}, not {str(raw)[:40]!r}"
        )
    return found


def _millis(raw: object, what: str, default: int | None = None) -> int:
    if raw is None and default is not None:
        return default
    text = str(raw) if isinstance(raw, (str, int)) and not isinstance(raw, bool) else ""
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise InvalidInput(f"{what} is a time in integer milliseconds")
    return int(text)


def _tags(raw: object) -> dict[str, str]:
    """MLflow's ``[{"key", "value"}]`` as a dict (the last of a repeated key wins)."""
    if raw is None:
        return {}
    if not isinstance(raw, list) or len(raw) > 1000:
        raise InvalidInput('tags are a list of {"key", "value"}')
    out: dict[str, str] = {}
    for tag in raw:
        if not isinstance(tag, dict) or not isinstance(tag.get("key"), str):
            raise InvalidInput('each tag is {"key": "…", "value": "…"}')
        value = tag.get("value")
        value = "" if value is None else value if isinstance(value, str) else str(value)
        if len(value) > TAG_VALUE_MAX or "\x00" in value:
            raise InvalidInput(f"a tag value is at most {TAG_VALUE_MAX} characters, without NUL")
        out[_text(tag["key"], "a tag key", required=True)] = value
    return out
