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

from cairn.domain.numbers import ID_MAX, parse_id
from cairn.domain.paths import check_path
from cairn.errors import InvalidInput

# ``_cairn/versions/<namespace>/<model>/<number>/<file path>``: a version's manifest as a tree.
VERSION_TREE = "_cairn/versions"
TEXT_MAX = 1000
TAG_VALUE_MAX = 100_000  # MLflow's own tags (the model's version list) grow long
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
    params: dict[str, str] = field(default_factory=dict)
    # The latest value per key: {key: {"value", "timestamp", "step"}} (see domain.run_data)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    inputs: list[dict[str, Any]] = field(default_factory=list)  # dataset inputs

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
class NewExperiment:
    name: str
    tags: dict[str, str]


@dataclass(frozen=True, slots=True)
class ExperimentSearch:
    """An MLflow experiment search: ``stages`` are the lifecycle stages its view type takes."""

    stages: list[str]
    filter: str | None = None
    max_results: int | None = None
    order_by: tuple[str, ...] = ()
    page_token: str | None = None


@dataclass(frozen=True, slots=True)
class NewRun:
    """A run to start; an empty ``name`` or ``user_id`` is left for the service to choose."""

    experiment_id: int
    name: str
    user_id: str
    start_time: int
    tags: dict[str, str]


@dataclass(frozen=True, slots=True)
class RunChange:
    """What an update changes in a run: ``None`` (or an empty name) leaves it as it is."""

    run_id: str
    status: str | None
    end_time: int | None
    name: str


@dataclass(frozen=True, slots=True)
class RunOutput:
    """A logged model a run produced, at a step."""

    model_id: str
    step: int


@dataclass(frozen=True, slots=True)
class NewLoggedModel:
    """A logged model to create; an empty ``name`` makes its id its name."""

    experiment_id: int
    name: str
    source_run_id: str | None
    model_type: str
    tags: dict[str, str]
    params: dict[str, str]


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


def plain_text(raw: object, what: str, *, required: bool = False) -> str:
    """A short identifier or name from a request: a string of at most ``TEXT_MAX`` characters
    without NUL ('' when absent and not ``required``)."""
    if raw is None or raw == "":
        if required:
            raise InvalidInput(f"{what} is required")
        return ""
    if not isinstance(raw, str) or len(raw) > TEXT_MAX or "\x00" in raw:
        raise InvalidInput(f"{what} is a string of at most {TEXT_MAX} characters")
    return raw


def experiment_number(raw: object) -> int:
    """An experiment id (0 is MLflow's "Default"), as a number or its decimal string."""
    found = 0 if raw in ("0", 0) and not isinstance(raw, bool) else parse_id(raw)
    if found is None:
        raise InvalidInput(
            f"an experiment id is a whole number from 0 to {ID_MAX}, not {str(raw)[:40]!r}"
        )
    return found


def ms(at: datetime) -> int:
    """A time as MLflow's integer milliseconds."""
    return int(at.timestamp() * 1000)


def millis(raw: object, what: str) -> int:
    """A time in integer milliseconds, as a number or its decimal string."""
    text = str(raw) if isinstance(raw, (str, int)) and not isinstance(raw, bool) else ""
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise InvalidInput(f"{what} is a time in integer milliseconds")
    return int(text)


def tag_map(raw: object) -> dict[str, str]:
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
        out[plain_text(tag["key"], "a tag key", required=True)] = value
    return out
