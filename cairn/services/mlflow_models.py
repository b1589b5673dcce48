"""MLflow's model registry on Cairn's: versions born from logged files, stages as states, and
every version's files served as a folder the MLflow client can download.

A version registered through MLflow is an ordinary Cairn version: the files its ``source``
names (already stored as blobs when the client uploaded them) become its manifest, and
``VersionService.register`` checks, scans, audits and numbers it like any other. Where it came
from (source, run, logged model) is kept in its immutable provenance.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from cairn.domain.manifest import FileEntry, parse_manifest
from cairn.domain.metadata import parse_provenance
from cairn.domain.names import check_alias, check_name
from cairn.domain.numbers import parse_id
from cairn.domain.records import Model, Version
from cairn.domain.references import Reference, parse_selector
from cairn.domain.registrations import Registration, VersionMetadata
from cairn.domain.run_provenance import with_run
from cairn.domain.tracking import (
    VERSION_TREE,
    ArtifactEntry,
    LoggedModel,
    artifact_path,
    children,
    plain_text,
)
from cairn.errors import AliasNotFound, InvalidInput, TrackingNotFound
from cairn.services.aliases import AliasService
from cairn.services.auth import Actor
from cairn.services.blobs import BlobRead, BlobService
from cairn.services.imports import ImportService
from cairn.services.lifecycle import LifecycleService
from cairn.services.mlflow_writes import MlflowWrites
from cairn.services.models import ModelService
from cairn.services.registrations import RegistrationHook
from cairn.services.resolve import get_model
from cairn.services.run_data import note_running_run
from cairn.services.tracking import (
    TrackingService,
    link_logged_files,
    update_model_tags,
)
from cairn.services.uow import UnitOfWork
from cairn.services.versions import VersionService

# MLflow's deprecated stages, as Cairn's lifecycle states (both ways; stages match any case).
STATE_TO_STAGE = {
    "registered": "None",
    "staging": "Staging",
    "production": "Production",
    "archived": "Archived",
}
STAGE_TO_STATE = {stage.lower(): state for state, stage in STATE_TO_STAGE.items()}
MODEL_VERSIONS_TAG = "mlflow.modelVersions"


@dataclass(frozen=True, slots=True)
class Source:
    """The files a version source names, and the run and logged model it came from."""

    files: list[FileEntry]
    run_id: str | None
    model: LoggedModel | None
    parent: str | None = None  # the registered version a models:/ source names (a copy)


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    """A registered model as MLflow shows it: with its newest version in each stage (oldest
    stage first) and its aliases."""

    model: Model
    latest: list[Version]
    aliases: dict[str, int]


def mlflow_origin(v: Version) -> dict[str, Any]:
    """What MLflow said about the version's origin when it was registered through MLflow."""
    found = v.provenance.get("extra", {}).get("mlflow", {})
    return found if isinstance(found, dict) else {}


def version_source(v: Version) -> str:
    """The version's MLflow ``source``: what it was registered from, else its Cairn tree."""
    return str(mlflow_origin(v).get("source") or MlflowModels.tree_uri(v))


def version_run_id(v: Version) -> str:
    return str(mlflow_origin(v).get("run_id") or v.provenance.get("run", {}).get("id") or "")


class MlflowModels:
    def __init__(
        self,
        namespace: str,
        models: ModelService,
        versions: VersionService,
        lifecycle: LifecycleService,
        tracking: TrackingService,
        blobs: BlobService,
        aliases: AliasService,
        imports: ImportService,
    ) -> None:
        self.namespace = namespace
        self.models = models
        self.versions = versions
        self.lifecycle = lifecycle
        self.tracking = tracking
        self.blobs = blobs
        self.aliases = aliases
        self.writes = MlflowWrites(versions.db, lifecycle)
        self.imports = imports

    def register(
        self,
        actor: Actor,
        name: str,
        source: object,
        run_id: object,
        model_id: object,
        metadata: VersionMetadata,
    ) -> Version:
        """A new version of ``name`` holding the files ``source`` names (``models:/<id>``,
        ``models:/<name>/<version>``, ``runs:/<run>/<path>`` or ``mlflow-artifacts:/<path>``).
        Every check that can refuse it runs before its one write transaction."""
        self.models.get(actor, self.namespace, name)  # MLflow registers into existing models
        found = self._source(actor, source, run_id, model_id)
        if not found.files:
            raise InvalidInput(f"the source {source!r} holds no files Cairn has received")
        origin = {
            "source": source,
            "run_id": found.run_id,
            "model_id": found.model and found.model.id,
        }
        provenance: dict[str, Any] = {"extra": {"mlflow": {k: v for k, v in origin.items() if v}}}
        if found.parent:  # copy_model_version: the copy descends from its source (lineage)
            provenance["parents"] = [{"ref": found.parent, "relation": "copied_from"}]
        meta = replace(metadata, provenance=provenance)
        if found.run_id:  # the run's params, metrics, tags, code and datasets come along
            run = self.tracking.run(actor, found.run_id)
            provenance["run"] = {"id": run.id, "experiment": str(run.experiment_id)}
            meta = with_run(metadata, provenance, run, found.model.params if found.model else None)
        registration = Registration(
            parse_manifest([f.to_dict() for f in found.files]),
            replace(meta, provenance=parse_provenance(meta.provenance)),
        )
        hook = _FromLoggedFiles(self.namespace, found.files, found.model, found.run_id)
        return self.versions.register(actor, self.namespace, name, registration, hook).version

    def transition(
        self, actor: Actor, name: str, number: int, stage: object, archive_existing: bool
    ) -> Version:
        """Move a version to the state MLflow's ``stage`` corresponds to (policy applies);
        ``archive_existing`` archives the other versions in that state, in the same
        transaction (``cairn.services.mlflow_writes``)."""
        if not isinstance(stage, str) or stage.lower() not in STAGE_TO_STATE:
            raise InvalidInput(
                f"Invalid Model Version stage: {str(stage)[:100]}. Value must be one of None, "
                "Staging, Production, Archived."
            )
        ref = Reference(self.namespace, name, number=number)
        self.writes.transition(actor, ref, STAGE_TO_STATE[stage.lower()], archive_existing)
        return self.versions.get(actor, ref, with_files=False)

    # Registered models, each drawn with its newest version per stage and its aliases

    def registered(self, actor: Actor, name: str) -> RegisteredModel:
        return self.registered_of(actor, [self.models.get(actor, self.namespace, name)])[0]

    def describe(self, actor: Actor, name: str, description: str) -> RegisteredModel:
        model = self.models.update(actor, self.namespace, name, {"description": description})
        return self.registered_of(actor, [model])[0]

    def rename(self, actor: Actor, name: str, new_name: str) -> RegisteredModel:
        model = self.models.rename(actor, self.namespace, name, new_name)
        return self.registered_of(actor, [model])[0]

    def registered_of(self, actor: Actor, models: list[Model]) -> list[RegisteredModel]:
        """Each of ``models`` (of this namespace) with its newest version in each stage and its
        aliases, read for all of them at once (a page of a registered-model search)."""
        ids = [m.id for m in models]
        with self.versions.db.read(actor, self.namespace) as store:
            newest = store.versions.newest_per_state_of(ids)
            named = store.models.aliases_of(ids)
        return [RegisteredModel(m, newest.get(m.id, []), named.get(m.id, {})) for m in models]

    def latest_versions(
        self, actor: Actor, name: str, stages: list[str] | None = None
    ) -> list[Version]:
        """The newest version in each stage (only ``stages``, when given), oldest stage first."""
        with self.versions.db.read(actor, self.namespace) as store:
            model = get_model(store, self.namespace, name)  # an unknown model is a 404 first
            if stages and any(s.lower() not in STAGE_TO_STATE for s in stages):
                raise InvalidInput("stages are None, Staging, Production or Archived")
            newest = store.versions.newest_per_state(model.id)
        wanted = {STAGE_TO_STATE[s.lower()] for s in stages} if stages else None
        return [v for v in newest if wanted is None or v.state in wanted]

    def version_by_alias(self, actor: Actor, name: str, alias: str) -> Version:
        self.models.get(actor, self.namespace, name)  # an unknown model is a 404
        try:
            ref = Reference(self.namespace, name, alias=check_alias(alias))
        except InvalidInput as exc:  # a name no alias can have names none
            raise AliasNotFound(f"Registered model alias {alias[:130]} not found.") from exc
        return self.versions.get(actor, ref, with_files=False)

    def delete_alias(self, actor: Actor, name: str, alias: str) -> None:
        """Deleting an alias that does not exist is not an error (as in MLflow)."""
        try:
            self.aliases.delete(actor, self.namespace, name, alias)
        except AliasNotFound:
            self.models.get(actor, self.namespace, name)  # but an unknown model is a 404

    # The version tree: ``_cairn/versions/<namespace>/<model>/<number>/<path>``

    @staticmethod
    def tree_uri(version: Version) -> str:
        return (
            f"mlflow-artifacts:/{VERSION_TREE}/{version.namespace}/{version.model}/{version.number}"
        )

    def read_artifact(self, actor: Actor, path: str, override: str | None = None) -> BlobRead:
        """A logged file; under the version tree, a version's file, refused for a blocked
        version unless ``override``."""
        if path.startswith(VERSION_TREE + "/"):
            return self.read_tree(actor, path, override)
        return self.tracking.read_artifact(actor, path)

    def list_artifacts(
        self, actor: Actor, path: str, override: str | None = None
    ) -> list[ArtifactEntry]:
        """The direct children of folder ``path``, logged files or the version tree's."""
        if path.startswith(VERSION_TREE + "/"):
            return self.list_tree(actor, path, override)
        return self.tracking.list_artifacts(actor, path)

    def list_tree(
        self, actor: Actor, path: str, override: str | None = None
    ) -> list[ArtifactEntry]:
        version, inner = self._tree_version(actor, path, override)
        if version is None or version.files is None:
            return []
        return children(inner, [(f.path, f.size) for f in version.files])

    def read_tree(self, actor: Actor, path: str, override: str | None = None) -> BlobRead:
        version, inner = self._tree_version(actor, path, override)
        entry = (
            next((f for f in (version.files or ()) if f.path == inner), None) if version else None
        )
        if entry is None:
            raise TrackingNotFound(f"No artifact at {path!r}", path=path[:200])
        return self.blobs.read_named(entry.digest, entry.size)

    def _tree_version(
        self, actor: Actor, path: str, override: str | None
    ) -> tuple[Version | None, str]:
        """The version under ``_cairn/versions/NS/MODEL/N`` and the path inside it; a blocked
        version's files are refused, as on every pull surface, unless ``override``."""
        parts = path[len(VERSION_TREE) + 1 :].split("/", 3) if path.startswith(VERSION_TREE) else []
        number = parse_id(parts[2]) if len(parts) >= 3 else None
        if number is None:  # never a number cut short into another one
            return None, ""
        ref = Reference(parts[0], parts[1], number=number)
        found = self.versions.get(actor, ref, override=override)
        return found, parts[3] if len(parts) == 4 else ""

    def _source(self, actor: Actor, source: object, run_id: object, model_id: object) -> Source:
        source = plain_text(source, "a source")
        run_id = plain_text(run_id, "a run id")
        model_id = plain_text(model_id, "a model id")
        if not source:
            raise InvalidInput("source names the files of the version, as models:/<model id>")
        if source.startswith("models:/"):
            named_part = source.removeprefix("models:/").strip("/")
            if "/" in named_part or "@" in named_part:
                return self._version_source(actor, named_part, run_id, model_id)
            model = self.tracking.logged_model(actor, named_part)
            files = self.tracking.files(actor, model.artifact_root)
            return Source(files, model.source_run_id, model)
        if source.startswith("runs:/"):
            run_part, _, inner = source.removeprefix("runs:/").partition("/")
            return self._run_source(actor, run_part, artifact_path(inner.strip("/")))
        if source.startswith("mlflow-artifacts:"):
            path = source.removeprefix("mlflow-artifacts:").lstrip("/")
            if source.startswith("mlflow-artifacts://"):
                path = path.partition("/")[2]  # the host part names this server
            named: LoggedModel | None = None
            if model_id:
                named = self.tracking.logged_model(actor, model_id)
            given_run = run_id or None
            files = self.tracking.files(actor, artifact_path(path))
            return Source(files, given_run or (named.source_run_id if named else None), named)
        if source.startswith("s3://"):  # fetched only under a prefix the server allows
            files = self.imports.fetch(actor, self.namespace, source)
            return Source(files, run_id or None, None)
        raise InvalidInput(
            f"Cairn registers versions from files it holds: models:/<model id>, "
            f"models:/<name>/<version>, runs:/<run id>/<path>, mlflow-artifacts:/<path>, "
            f"or s3://<bucket>/<prefix> under a prefix it may import from, not {source[:200]!r}"
        )

    def _version_source(self, actor: Actor, named_part: str, run_id: str, model_id: str) -> Source:
        """``models:/<name>/<version>`` (or ``@alias``, ``/latest``): the files of a registered
        version, as MLflow's ``copy_model_version`` names its source. The version is read with
        the caller's rights, before anything is written."""
        name, slash, selector = named_part.partition("/")
        if not slash:
            name, _, alias = named_part.partition("@")
            selector = "@" + alias
        number, alias_name = parse_selector(selector)
        ref = Reference(self.namespace, check_name(name, kind="model"), number, alias_name)
        version = self.versions.get(actor, ref)
        named = self.tracking.logged_model(actor, model_id) if model_id else None
        return Source(list(version.files or []), run_id or None, named, version.ref)

    def _run_source(self, actor: Actor, run_id: str, inner: str) -> Source:
        run = self.tracking.run(actor, run_id)
        prefix = f"{run.artifact_root}/{inner}" if inner else run.artifact_root
        files = self.tracking.files(actor, prefix)
        if files:
            return Source(files, run.id, None)
        # MLflow 3 logs models beside the run: find the run's logged model of that name.
        for model in self.tracking.search_logged_models(
            actor, [run.experiment_id], inner or None, 0, 1000
        ):
            if model.source_run_id == run.id:
                files = self.tracking.files(actor, model.artifact_root)
                return Source(files, run.id, model)
        return Source([], run.id, None)


class _FromLoggedFiles(RegistrationHook[None]):
    """A registration from files logged through MLflow's tracking API: their blobs are linked
    into the namespace first, and the logged model they came from (if any) lists the version,
    as MLflow's server does."""

    def __init__(
        self, namespace: str, files: list[FileEntry], model: LoggedModel | None, run: str | None
    ) -> None:
        self.namespace, self.files, self.model, self.run = namespace, files, model, run

    def link_blobs(self, uow: UnitOfWork) -> None:
        link_logged_files(uow, self.namespace, self.files)

    def within(self, uow: UnitOfWork, model: Model, version: Version) -> None:
        note_running_run(uow, self.run, version)
        logged = (
            None
            if self.model is None
            else uow.store.tracking.logged_model(self.model.id, lock=True)
        )
        if logged is None:
            return
        try:
            listed = json.loads(logged.tags.get(MODEL_VERSIONS_TAG, "[]"))
        except ValueError:
            listed = []
        listed = listed if isinstance(listed, list) else []
        listed.append({"name": version.model, "version": version.number})
        update_model_tags(uow, logged, {MODEL_VERSIONS_TAG: json.dumps(listed)})
