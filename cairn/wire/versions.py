"""Versions, their files and their validations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field
from pydantic.config import JsonDict
from pydantic.json_schema import SkipJsonSchema

from cairn.domain import manifest, records
from cairn.domain.metadata import DESCRIPTION_MAX
from cairn.errors import InvalidMetadata
from cairn.wire.base import Record, Refused, Request


def _unread(value: object) -> bool:
    return value is None


def _no_default(schema: JsonDict) -> None:
    schema.pop("default", None)


def _when_read(description: str) -> Any:
    """A part of a version that is in its JSON only when it was read: absent, never null, so
    the document says "not required" rather than "nullable"."""
    return Field(
        default=None,
        exclude_if=_unread,
        description=description,
        json_schema_extra=_no_default,
    )


class FileEntry(Record):
    path: str = Field(description="The file's path inside the version, with forward slashes.")
    size: int
    digest: str = Field(examples=["sha256:" + "0" * 64])

    @classmethod
    def of(cls, f: manifest.FileEntry) -> FileEntry:
        return cls(path=f.path, size=f.size, digest=f.digest)


class Completeness(Record):
    score: float = Field(description="The share of the namespace's required fields present.")
    missing: list[str] = Field(description="The required fields the version lacks.")


class Version(Record):
    # ``schema`` would shadow pydantic's own ``BaseModel.schema``: the field has another name
    # in Python and its own on the wire, which ``ok`` writes (``serialize_by_alias``).
    model_config = ConfigDict(frozen=True, serialize_by_alias=True, validate_by_name=True)

    namespace: str
    model: str
    number: int
    ref: str = Field(examples=["risk/churn:3"])
    manifest_digest: str = Field(description="sha256 of the canonical manifest (its files).")
    size: int = Field(description="The files' total size in bytes.")
    file_count: int
    state: str = Field(examples=["registered", "staging", "production", "archived"])
    description: str
    author: str
    tags: dict[str, str]
    aliases: list[str]
    metrics: dict[str, float]
    params: dict[str, str]
    provenance: dict[str, Any]
    input_output_schema: dict[str, Any] = Field(
        alias="schema", description="What the model takes and gives."
    )
    completeness: Completeness
    created_at: datetime
    updated_at: datetime
    files: list[FileEntry] | SkipJsonSchema[None] = _when_read(
        "The version's files; absent when they were not asked for (lists, ``files=false``)."
    )
    validations: dict[str, str] | SkipJsonSchema[None] = _when_read(
        "The status of the newest validation of each name; absent where they were not read. "
        "The details: ``.../validations``."
    )
    waivers: list[dict[str, Any]] | SkipJsonSchema[None] = _when_read(
        "The scan findings waived on this version (id, file, kind, severity, message, by, "
        "reason, at); absent where the validations were not read."
    )

    @classmethod
    def of(cls, v: records.Version) -> Version:
        files = None if v.files is None else [FileEntry.of(f) for f in v.files]
        return cls(
            namespace=v.namespace,
            model=v.model,
            number=v.number,
            ref=v.ref,
            manifest_digest=v.manifest_digest,
            size=v.size,
            file_count=v.file_count,
            state=v.state,
            description=v.description,
            author=v.author,
            tags=v.tags,
            aliases=v.aliases,
            metrics=v.metrics,
            params=v.params,
            provenance=v.provenance,
            input_output_schema=v.schema,
            completeness=Completeness(score=v.completeness, missing=v.missing_fields),
            created_at=v.created_at,
            updated_at=v.updated_at,
            files=files,
            validations=v.validations,
            waivers=None if v.waivers is None else list(v.waivers),
        )


class Validation(Record):
    name: str = Field(examples=["signature", "scan", "ci/eval"])
    status: str = Field(examples=["passed", "failed", "pending", "verified", "clean", "flagged"])
    details: dict[str, Any]
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, c: records.Validation) -> Validation:
        return cls(
            name=c.name,
            status=c.status,
            details=c.details,
            created_by=c.created_by,
            created_at=c.created_at,
            updated_at=c.updated_at,
        )


class VersionChanges(Request):
    """What may change on a version after it is registered (tags have their own calls)."""

    description: Annotated[str | None, Refused(InvalidMetadata)] = Field(
        default=None,
        max_length=DESCRIPTION_MAX,
        description="The new description; null or absent clears it.",
        examples=["Retrained on March's data."],
    )
