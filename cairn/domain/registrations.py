"""A registration: what a new version holds and says about itself, as one value.

Every surface that registers versions (Cairn's own API, MLflow's model-version creation, OCI
pushes by tag) turns its request into a ``Registration`` at its edge, and
``VersionService.register`` takes nothing else: the request's shape stays with its surface,
and the built-in validations, numbering, scans and audit record are written once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cairn.domain import metadata as rules
from cairn.domain.manifest import Manifest
from cairn.errors import InvalidMetadata

IDEMPOTENCY_KEY_MAX = 200

# A registration of at most this many files and bytes is small: reading its files for the
# inline scan and inserting its rows take a fraction of a millisecond.
SMALL_FILES = 64
SMALL_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class VersionMetadata:
    """What a version says about itself, each part already checked (``parse_metadata``)."""

    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    schema: dict[str, Any] = field(default_factory=dict)

    def document(self) -> dict[str, Any]:
        """The metadata as one JSON object: what completeness scores and a request digest
        hashes (its keys are the registration's field names)."""
        return {
            "description": self.description,
            "tags": self.tags,
            "metrics": self.metrics,
            "params": self.params,
            "provenance": self.provenance,
            "schema": self.schema,
        }


def parse_metadata(
    *,
    description: object = None,
    tags: object = None,
    metrics: object = None,
    params: object = None,
    provenance: object = None,
    schema: object = None,
) -> VersionMetadata:
    """Check each part of a version's metadata as a client sent it (``None``: absent)."""
    return VersionMetadata(
        description=rules.parse_text(description, "description"),
        tags=rules.parse_tags(tags),
        metrics=rules.parse_metrics(metrics),
        params=rules.parse_params(params),
        provenance=rules.parse_provenance(provenance),
        schema=rules.parse_io_schema(schema),
    )


def parse_idempotency_key(raw: object) -> str | None:
    if raw is not None and (not isinstance(raw, str) or not 1 <= len(raw) <= IDEMPOTENCY_KEY_MAX):
        raise InvalidMetadata(
            f"an idempotency key is a string of 1-{IDEMPOTENCY_KEY_MAX} characters"
        )
    return raw


@dataclass(frozen=True, slots=True)
class Registration:
    """A new version's content and metadata; ``idempotency_key``, when given, makes a retry
    of the same request find the version it registered instead of making another."""

    manifest: Manifest
    metadata: VersionMetadata = field(default_factory=VersionMetadata)
    idempotency_key: str | None = None

    def __post_init__(self) -> None:
        parse_idempotency_key(self.idempotency_key)

    @property
    def request_digest(self) -> str:
        """What tells a retry of this request apart from another request with its key."""
        return rules.request_digest(self.manifest.digest, self.metadata.document())


def looks_small(manifest: object) -> bool:
    """Whether a manifest as sent, not yet checked, names few files of few bytes: then the
    whole registration (checking it included) is a short write that may run in place."""
    try:
        files: Any = manifest["files"] if isinstance(manifest, Mapping) else manifest
        return len(files) <= SMALL_FILES and sum(f["size"] for f in files) <= SMALL_BYTES
    except (TypeError, KeyError, IndexError):
        return False
