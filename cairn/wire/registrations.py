"""A registration, as Cairn's own API takes it: a new version's files and what it says about
itself, read into ``cairn.domain.registrations.Registration``.

Each field is read by the domain's own parser (``PlainValidator``; the manifest when the
registration is made, see ``Files``), so a field is refused with
the same code and message whichever surface it came through (``invalid_manifest``,
``unsafe_path``, ``invalid_digest``, ``invalid_metadata``, ``invalid_name`` for a tag); the
document shows the JSON each field takes (``json_schema_input_type``). The route marks the
body ``Refused(InvalidMetadata)``: an unknown key or a missing manifest is ``invalid_metadata``,
as every other refusal of a registration's shape has been.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, PlainValidator, StringConstraints

from cairn.domain import metadata
from cairn.domain.manifest import FILES_MAX, SIZE_MAX, parse_manifest
from cairn.domain.registrations import (
    IDEMPOTENCY_KEY_MAX,
    Registration,
    VersionMetadata,
    looks_small,
    parse_idempotency_key,
)
from cairn.wire.base import Request

DIGEST = "sha256:" + "0" * 64


class ManifestFile(Request):
    path: str = Field(
        description="Relative, with forward slashes; no two paths the same once case-folded.",
        examples=["weights.safetensors"],
    )
    size: int = Field(ge=0, le=SIZE_MAX, description="In bytes: the uploaded blob's size.")
    digest: str = Field(description="The uploaded blob's digest.", examples=[DIGEST])


class ManifestFiles(Request):
    files: list[ManifestFile] = Field(min_length=1, max_length=FILES_MAX)


ManifestBody = ManifestFiles | Annotated[list[ManifestFile], Field(min_length=1)]


def _read(parse: Any, shape: Any) -> Any:
    """A field read by the domain's ``parse``, documented as taking ``shape`` (or null)."""
    return PlainValidator(parse, json_schema_input_type=shape | None)


def _description(raw: object) -> str:
    return metadata.parse_text(raw, "description")


def _as_sent(raw: object) -> object:
    return raw


# Checking 100,000 paths takes seconds: ``registration`` reads the files, where the route runs
# it (a large registration in a worker thread), never during validation on the event loop.
Files = Annotated[object, PlainValidator(_as_sent, json_schema_input_type=ManifestBody)]
Key = Annotated[str, StringConstraints(min_length=1, max_length=IDEMPOTENCY_KEY_MAX)]
Description = Annotated[str, _read(_description, str)]
Tags = Annotated[dict[str, str], _read(metadata.parse_tags, dict[str, str])]
Metrics = Annotated[dict[str, float], _read(metadata.parse_metrics, dict[str, float])]
Params = Annotated[dict[str, str], _read(metadata.parse_params, dict[str, str | float | bool])]
Provenance = Annotated[dict[str, Any], _read(metadata.parse_provenance, metadata.Provenance)]
IOSchema = Annotated[dict[str, Any], _read(metadata.parse_io_schema, metadata.IOSchema)]
IdempotencyKey = Annotated[str | None, _read(parse_idempotency_key, Key)]


class NewVersion(Request):
    """A new version of the model: files already uploaded to the namespace (as blobs), and
    what the version says about itself. Every field but ``manifest`` may be left out."""

    manifest: Files = Field(
        description='The version\'s files, as {"files": [...]} or the bare list.',
        examples=[{"files": [{"path": "weights.safetensors", "size": 1024, "digest": DIGEST}]}],
    )
    description: Description = Field(
        default="", examples=["Churn model retrained on the March data"]
    )
    tags: Tags = Field(default_factory=dict, examples=[{"team": "risk"}])
    metrics: Metrics = Field(
        default_factory=dict, description="Finite numbers.", examples=[{"auc": 0.91}]
    )
    params: Params = Field(
        default_factory=dict,
        description="Kept as text: numbers and booleans are written out.",
        examples=[{"learning_rate": 0.01}],
    )
    provenance: Provenance = Field(
        default_factory=dict,
        description="Where the version came from: code, datasets, environment, run, parents.",
        examples=[{"code": {"commit": "9fceb02"}, "datasets": [{"uri": "s3://data/march"}]}],
    )
    # ``schema`` would shadow pydantic's own ``BaseModel.schema``: it has another name here.
    input_output_schema: IOSchema = Field(
        default_factory=dict, alias="schema", description="What the model takes and gives."
    )
    idempotency_key: IdempotencyKey = Field(
        default=None,
        description="Also the ``Idempotency-Key`` header, which wins: a retry with the same key "
        "and body finds the version the first registered.",
    )

    def registration(self, idempotency_key: str | None) -> Registration:
        """The registration, with the ``Idempotency-Key`` header's key if one was sent."""
        about = VersionMetadata(
            description=self.description,
            tags=self.tags,
            metrics=self.metrics,
            params=self.params,
            provenance=self.provenance,
            schema=self.input_output_schema,
        )
        key = idempotency_key or self.idempotency_key
        return Registration(parse_manifest(self.manifest), about, key)

    @property
    def is_small(self) -> bool:
        return looks_small(self.manifest)
