"""Metadata derived from a version's own files, and how it joins what the user said.

``derive`` turns what ``cairn.domain.model_files`` read into a ``Derived``; ``with_derived``
fills a registration's metadata from it, field by field: whatever the user gave explicitly
wins, and what was derived is recorded under ``provenance.extra.derived`` with the file each
field came from (so a reader can tell a stated schema from one read out of an ``MLmodel``).
What the model files say about the model itself (format, architecture, parameter count,
precision) is kept there too, immutable with the version, for the ModelPack view's config.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationError

from cairn.domain import model_files as mf
from cairn.domain.manifest import FileEntry
from cairn.domain.metadata import EnvironmentInfo, parse_io_schema
from cairn.domain.names import check_tag
from cairn.domain.registrations import VersionMetadata
from cairn.errors import InvalidMetadata, InvalidName

DERIVED = "derived"  # the key under provenance.extra


@dataclass(frozen=True, slots=True)
class Derived:
    schema: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)  # format, architecture, parameters…
    sources: dict[str, str] = field(default_factory=dict)  # a derived field -> its file
    card: str | None = None  # the path of the version's model card, if it has one

    def __bool__(self) -> bool:
        return bool(self.schema or self.environment or self.tags or self.model or self.card)


def derive(
    files: Sequence[FileEntry],
    small: Mapping[str, bytes],
    tensors: Mapping[str, Mapping[str, int]],
) -> Derived:
    """What ``files`` say about the model: ``small`` holds the bytes of the small files
    ``model_files.wanted`` named, ``tensors`` each safetensors file's parameter count by dtype
    (``model_files.read_safetensors_header``), by path."""
    found = mf.wanted(files)
    model: dict[str, Any] = {}
    sources: dict[str, str] = {}
    schema: dict[str, Any] = {}
    environment: dict[str, Any] = {}

    mlmodel = found.mlmodel and small.get(found.mlmodel.path)
    facts = mf.read_mlmodel(mlmodel) if mlmodel else None
    if facts is not None and found.mlmodel is not None:
        where = found.mlmodel.path
        schema = _valid_schema(facts.schema)
        if schema:
            sources["schema"] = where
        flavour = {
            "flavor": facts.flavor,
            "loader": facts.loader,
            "framework_version": facts.framework_version,
            "mlflow_version": facts.mlflow_version,
        }
        model.update({k: v for k, v in flavour.items() if v})

    stated_by: list[str] = []
    for entry in found.environment:
        data = small.get(entry.path)
        stated = mf.read_environment(entry.path, data) if data is not None else {}
        for key in ("python", "packages"):
            if stated.get(key) and key not in environment:
                environment[key] = stated[key]
                stated_by.append(entry.path)
    if "python" not in environment and facts is not None and facts.python:
        environment["python"] = facts.python
        stated_by.append(_mlmodel(found) or "")
    if stated_by:
        sources["provenance.environment"] = ", ".join(dict.fromkeys(stated_by))
    environment = _valid_environment(environment)
    if not environment:
        sources.pop("provenance.environment", None)

    config = found.hf_config and small.get(found.hf_config.path)
    hf = mf.read_hf_config(config) if config else None
    if hf is not None:
        said = {
            "architecture": hf.architecture,
            "model_type": hf.model_type,
            "parameters": hf.parameters,
            "precision": hf.precision,
        }
        model.update({k: v for k, v in said.items() if v})

    counts: dict[str, int] = {}
    for entry in found.safetensors:
        for dtype, n in tensors.get(entry.path, {}).items():
            counts[dtype] = counts.get(dtype, 0) + n
    if counts:  # the weights themselves outrank what a config states
        model["parameters"] = sum(counts.values())
        model["precision"] = mf.precision_of(counts)

    weights = mf.weights_format(files)
    if weights or found.mlmodel is not None:
        model["format"] = weights or "mlflow"
    return Derived(
        schema=schema,
        environment=environment,
        tags=_tags(model),
        model=model,
        sources=sources,
        card=found.card.path if found.card and found.card.size <= mf.SMALL_FILE_MAX else None,
    )


def _mlmodel(found: mf.Wanted) -> str | None:
    return found.mlmodel.path if found.mlmodel else None


def _valid_schema(raw: dict[str, Any]) -> dict[str, Any]:
    try:
        return parse_io_schema(raw) if raw else {}
    except InvalidMetadata:
        return {}


def _valid_environment(raw: dict[str, Any]) -> dict[str, Any]:
    try:
        env = EnvironmentInfo.model_validate(raw)
    except ValidationError:
        return {k: v for k, v in raw.items() if k == "python" and isinstance(v, str)}
    dumped: dict[str, Any] = env.model_dump(exclude_none=True, exclude_defaults=True)
    return dumped


def _tags(model: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in model.items():
        try:
            k, v = check_tag(f"model.{key}", str(value))
        except InvalidName:
            continue
        out[k] = v
    return out


def with_derived(meta: VersionMetadata, derived: Derived) -> VersionMetadata:
    """``meta`` filled from ``derived`` where the user left a field empty. The note of what was
    derived is the server's alone: one the request brings is dropped, so nobody can claim a
    card, a parameter count or a source that the files do not give."""
    meta = _without_note(meta)
    if not derived:
        return meta
    applied: dict[str, str] = {}
    schema = meta.schema
    if not schema and derived.schema:
        schema = derived.schema
        applied["schema"] = derived.sources.get("schema", "")
    provenance = dict(meta.provenance)
    if "environment" not in provenance and derived.environment:
        provenance["environment"] = derived.environment
        applied["provenance.environment"] = derived.sources.get("provenance.environment", "")
    tags = dict(meta.tags)
    for key, value in derived.tags.items():
        if key not in tags:
            tags[key] = value
            applied[f"tags.{key}"] = ""
    if not applied and not derived.model and not derived.card:
        return meta
    note: dict[str, Any] = {"fields": sorted(applied), "from": _files(applied)}
    if derived.model:
        note["model"] = derived.model
    if derived.card:  # the version's model card: one of its own files
        note["card"] = derived.card
    provenance["extra"] = {**provenance.get("extra", {}), DERIVED: note}
    return replace(meta, schema=schema, provenance=provenance, tags=tags)


def _without_note(meta: VersionMetadata) -> VersionMetadata:
    extra = meta.provenance.get("extra")
    if not isinstance(extra, Mapping) or DERIVED not in extra:
        return meta
    kept = {k: v for k, v in extra.items() if k != DERIVED}
    provenance = {k: v for k, v in meta.provenance.items() if k != "extra"}
    if kept:
        provenance["extra"] = kept
    return replace(meta, provenance=provenance)


def _files(applied: Mapping[str, str]) -> dict[str, str]:
    return {name: path for name, path in applied.items() if path}


def card_path(provenance: Mapping[str, Any]) -> str | None:
    """The path of the version's model card among its files, if it has one."""
    extra = provenance.get("extra")
    note = extra.get(DERIVED) if isinstance(extra, Mapping) else None
    path = note.get("card") if isinstance(note, Mapping) else None
    return path if isinstance(path, str) else None


def derived_model(provenance: Mapping[str, Any]) -> dict[str, Any]:
    """The model facts a version's files gave at registration ({} if none)."""
    extra = provenance.get("extra")
    note = extra.get(DERIVED) if isinstance(extra, Mapping) else None
    model = note.get("model") if isinstance(note, Mapping) else None
    return dict(model) if isinstance(model, Mapping) else {}
