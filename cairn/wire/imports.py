"""An import: a new version fetched by the server from where the model already lives."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from cairn.domain.registrations import VersionMetadata
from cairn.wire.base import Request
from cairn.wire.registrations import Description, IOSchema, Metrics, Params, Provenance, Tags


class NewImport(Request):
    """The source to fetch (``s3://bucket/prefix``, under a prefix the server allows) and what
    the version says about itself; every field but ``source`` may be left out."""

    source: str = Field(
        max_length=2048,
        description="An s3:// URI under a prefix CAIRN_IMPORT_ALLOW lists: one object, or "
        "every object under it (their paths relative to it).",
        examples=["s3://models/fraud/v3"],
    )
    description: Description = Field(default="", examples=["Imported from the old bucket"])
    tags: Tags = Field(default_factory=dict, examples=[{"team": "risk"}])
    metrics: Metrics = Field(default_factory=dict)
    params: Params = Field(default_factory=dict)
    provenance: Provenance = Field(default_factory=dict)
    input_output_schema: IOSchema = Field(
        default_factory=dict, alias="schema", description="What the model takes and gives."
    )

    def metadata(self) -> VersionMetadata:
        about: dict[str, Any] = {
            "description": self.description,
            "tags": self.tags,
            "metrics": self.metrics,
            "params": self.params,
            "provenance": self.provenance,
            "schema": self.input_output_schema,
        }
        return VersionMetadata(**about)
