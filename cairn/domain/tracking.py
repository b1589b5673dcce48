"""MLflow's tracking records as Cairn keeps them, and where their artifact files live.

The MLflow client stores a logged model's files under ``<experiment>/models/<model id>/artifacts``
and a run's under ``<experiment>/<run id>/artifacts`` (paths relative to the artifact root that
``mlflow-artifacts:/`` names). Cairn records each uploaded file as path → blob digest + size.
Paths under ``VERSION_TREE`` are not stored: they serve the files of Cairn versions by path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cairn.domain.numbers import parse_id
from cairn.domain.paths import check_path
from cairn.errors import InvalidInput

# ``_cairn/versions/<namespace>/<model>/<number>/<file path>``: a version's manifest as a tree.
VERSION_TREE = "_cairn/versions"
RUN_STATUSES = frozenset({"RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"})
MODEL_STATUSES = frozenset(
    {
        "LOGGED_MODEL_STATUS_UNSPECIFIED",
        "LOGGED_MODEL_PENDING",
        "LOGGED_MODEL_READY",
        "LOGGED_MODEL_UPLOAD_FAILED",
    }
)


@dataclass(frozen=True, slots=True)
class Experiment:
    id: int
    name: str
    lifecycle_stage: str
    tags: dict[str, str]
    created_at: datetime
    updated_at: datetime

    @property
    def artifact_root(self) -> str:
        return str(self.id)


@dataclass(frozen=True, slots=True)
class Run:
    id: str
    experiment_id: int
    name: str
    user_id: str
    status: str
    start_time: int
    end_time: int | None
    lifecycle_stage: str
    tags: dict[str, str]
    outputs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def artifact_root(self) -> str:
        return f"{self.experiment_id}/{self.id}/artifacts"


@dataclass(frozen=True, slots=True)
class LoggedModel:
    id: str
    experiment_id: int
    name: str
    source_run_id: str | None
    status: str
    model_type: str
    tags: dict[str, str]
    params: dict[str, str]
    created_at: datetime
    updated_at: datetime

    @property
    def artifact_root(self) -> str:
        return f"{self.experiment_id}/models/{self.id}/artifacts"


@dataclass(frozen=True, slots=True)
class ArtifactEntry:
    """One name in a folder listing: a file (with its size) or a folder."""

    name: str
    is_dir: bool
    size: int | None = None


def artifact_path(raw: object) -> str:
    """An artifact path relative to the artifact root ('' for the root itself), as the path
    rule allows it: refused, never trimmed (``a/b/`` or ``a//b`` would name another file)."""
    if raw is None or raw == "":
        return ""
    if not isinstance(raw, str):
        raise InvalidInput("an artifact path is a string")
    return check_path(raw)


def upload_path(raw: object) -> str:
    """The path of a file to upload: an artifact path under an experiment, never one of the
    version tree, whose files are the registered versions' own."""
    checked = artifact_path(raw)
    if checked.startswith(VERSION_TREE):
        raise InvalidInput("the files of registered versions cannot be changed")
    if not checked:
        raise InvalidInput("name the file to upload: PUT …/artifacts/<path>")
    return checked


def experiment_of(path: str) -> int:
    """The experiment an artifact path belongs to: its first segment."""
    head = path.split("/", 1)[0]
    # Experiment 0 is MLflow's "Default"; ids past 32 bits name none.
    found = 0 if head == "0" else parse_id(head)
    if found is None:
        raise InvalidInput(
            f"artifact paths start with an experiment id, as in 1/models/<id>/artifacts; "
            f"{path[:200]!r} does not",
            path=path[:200],
        )
    return found


def children(prefix: str, files: list[tuple[str, int]]) -> list[ArtifactEntry]:
    """The direct children of folder ``prefix`` among ``files`` (paths below it, with sizes)."""
    base = f"{prefix}/" if prefix else ""
    seen: dict[str, ArtifactEntry] = {}
    for path, size in files:
        if not path.startswith(base):
            continue
        name, slash, _rest = path[len(base) :].partition("/")
        if name and name not in seen:
            seen[name] = ArtifactEntry(name, True) if slash else ArtifactEntry(name, False, size)
    return [seen[n] for n in sorted(seen)]
