"""What a version says about itself: provenance, schema, metrics, params, tags.

The shapes are strict (unknown keys are refused, so a typo never silently drops data) but
small: every field is optional, and how complete a version's metadata is becomes a score
rather than a gate (see ``completeness``).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, TypeVar

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from cairn.domain.digests import parse_digest
from cairn.domain.names import check_tag
from cairn.errors import InvalidDigest, InvalidMetadata

Text = Annotated[str, StringConstraints(max_length=4096)]
Key = Annotated[str, StringConstraints(min_length=1, max_length=250, pattern=r"^[^\x00-\x1f]+$")]
T = TypeVar("T")
DESCRIPTION_MAX = 100_000
CARD_MAX = 1_000_000
MAX_ENTRIES = 10_000
_MLFLOW_DIGEST = re.compile(r"mlflow:[\x21-\x7e]{1,64}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class CodeInfo(_Strict):
    repository: Text | None = None
    commit: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{7,64}$")] | None = None
    branch: Text | None = None
    dirty: bool | None = None
    path: Text | None = None


class DatasetInfo(_Strict):
    uri: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    digest: str | None = None
    role: Annotated[str, StringConstraints(max_length=64)] | None = None

    @field_validator("digest")
    @classmethod
    def _digest(cls, value: str | None) -> str | None:
        if value is not None and _MLFLOW_DIGEST.fullmatch(value):
            return value  # MLflow's dataset digest (of a sample): kept as the run logged it
        try:
            return None if value is None else parse_digest(value)
        except InvalidDigest as exc:  # pydantic reports ValueError with the field's location
            raise ValueError(exc.message) from exc


class EnvironmentInfo(_Strict):
    python: Text | None = None
    platform: Text | None = None
    packages: dict[Key, Text] = Field(default_factory=dict, max_length=MAX_ENTRIES)


class RunInfo(_Strict):
    id: Text | None = None
    experiment: Text | None = None
    url: Text | None = None


class ParentInfo(_Strict):
    ref: Annotated[str, StringConstraints(min_length=1, max_length=400)]
    relation: Annotated[str, StringConstraints(max_length=64)] = "derived_from"


class Provenance(_Strict):
    code: CodeInfo | None = None
    datasets: list[DatasetInfo] = Field(default_factory=list, max_length=1000)
    environment: EnvironmentInfo | None = None
    run: RunInfo | None = None
    parents: list[ParentInfo] = Field(default_factory=list, max_length=100)
    extra: dict[Key, Any] = Field(default_factory=dict, max_length=1000)


class TensorSpec(_Strict):
    name: Text | None = None
    type: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    shape: list[int] | None = Field(default=None, max_length=32)

    @field_validator("shape")
    @classmethod
    def _shape(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and any(d < -1 for d in value):
            raise ValueError("a dimension is a size from 0, or -1 for any")
        return value


class IOSchema(_Strict):
    """A model's inputs and outputs, as a version's ``schema`` describes them."""

    inputs: list[TensorSpec] = Field(default_factory=list, max_length=10_000)
    outputs: list[TensorSpec] = Field(default_factory=list, max_length=10_000)


def _explain(exc: ValidationError, where: str) -> InvalidMetadata:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in (where, *first["loc"]))
    return InvalidMetadata(f"{loc}: {first['msg']}", field=loc, errors=exc.error_count())


def parse_provenance(raw: object) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        parsed = Provenance.model_validate(raw)
    except ValidationError as exc:
        raise _explain(exc, "provenance") from exc
    dumped: dict[str, Any] = parsed.model_dump(exclude_none=True, exclude_defaults=True)
    return storable(dumped, "provenance")


def storable(value: T, field: str) -> T:
    """``value`` if every string in it can be stored as text by every database: no NUL, no
    lone surrogate. Callers in-process reach this without the HTTP layer's JSON checks."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item or not _encodable(item):
                raise InvalidMetadata(f"{field} holds a NUL or an unpaired surrogate", field=field)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return value


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_io_schema(raw: object) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        parsed = IOSchema.model_validate(raw)
    except ValidationError as exc:
        raise _explain(exc, "schema") from exc
    dumped: dict[str, Any] = parsed.model_dump(exclude_none=True)
    return storable(dumped, "schema")


def parse_metrics(raw: object) -> dict[str, float]:
    """Metrics are finite numbers keyed by name."""
    if raw is None:
        return {}
    entries = _mapping(raw, "metrics")
    out: dict[str, float] = {}
    for key, value in entries.items():
        _key(key, "metrics")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidMetadata(f"metrics.{key} must be a number", field=f"metrics.{key}")
        if (isinstance(value, int) and abs(value) > 2**63) or not math.isfinite(value):
            raise InvalidMetadata(f"metrics.{key} must be finite", field=f"metrics.{key}")
        out[key] = float(value)
    return out


def parse_params(raw: object) -> dict[str, str]:
    """Hyper-parameters, kept as the strings they were given as (numbers are written out)."""
    if raw is None:
        return {}
    entries = _mapping(raw, "params")
    out: dict[str, str] = {}
    for key, value in entries.items():
        _key(key, "params")
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            text = str(value)
            if len(text) > 8192:
                raise InvalidMetadata(f"params.{key} is longer than 8192", field=f"params.{key}")
            out[key] = storable(text, f"params.{key}")
        else:
            raise InvalidMetadata(f"params.{key} must be a string or number", field=f"params.{key}")
    return out


def parse_tags(raw: object) -> dict[str, str]:
    if raw is None:
        return {}
    return dict(check_tag(k, v) for k, v in _mapping(raw, "tags").items())


def parse_text(raw: object, field: str, limit: int = DESCRIPTION_MAX) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str) or len(raw) > limit or "\x00" in raw:
        raise InvalidMetadata(f"{field} is text of at most {limit} characters", field=field)
    return raw


def _mapping(raw: object, field: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise InvalidMetadata(f"{field} must be an object", field=field)
    if len(raw) > MAX_ENTRIES:
        raise InvalidMetadata(f"{field} has more than {MAX_ENTRIES} entries", field=field)
    return raw


def _key(key: object, field: str) -> None:
    if not isinstance(key, str) or not key or len(key) > 250 or any(ord(c) < 32 for c in key):
        raise InvalidMetadata(f"{field} keys are 1-250 printable characters", field=field)


DEFAULT_REQUIRED_FIELDS: tuple[str, ...] = (
    "description",
    "provenance.code.commit",
    "provenance.datasets",
    "provenance.environment.python",
    "params",
    "metrics",
    "schema.inputs",
)


def completeness(document: Mapping[str, Any], required: Sequence[str]) -> tuple[float, list[str]]:
    """The share of ``required`` dotted fields that are present and non-empty, and the missing."""
    missing = [path for path in required if not _present(document, path)]
    if not required:
        return 1.0, []
    return round(1 - len(missing) / len(required), 4), missing


def _present(document: Mapping[str, Any], path: str) -> bool:
    node: Any = document
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return node not in (None, "", [], {})


def check_required_fields(raw: object) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(p, str) and p for p in raw):
        raise InvalidMetadata("required_fields is a list of dotted field names")
    if len(raw) > 100:
        raise InvalidMetadata("required_fields lists at most 100 fields")
    return list(raw)


def request_digest(manifest_digest: str, meta: Mapping[str, Any]) -> str:
    """The digest of a registration as parsed: its manifest's digest and its metadata, in JSON
    with sorted keys. Two requests that say the same thing (in another key order or spacing)
    share it; any other content or metadata changes it. Kept with an idempotency key, so that
    the key replayed with another body is told apart from a retry."""
    document = {"manifest": manifest_digest, **meta}
    return (
        "sha256:" + hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()
    )
