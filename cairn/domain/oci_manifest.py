"""OCI manifests pushed by clients: checked, never rewritten (their digest is of their bytes).

What is checked is what the spec and the clients need: strict JSON (``cairn.domain.jsonsafe``:
no duplicate keys, no NUL, bounded depth), an object of schema version 2, a
``mediaType`` (when present) equal to the ``Content-Type`` it came with, well-formed
descriptors. Unknown fields, artifact types and config types are kept as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cairn.domain.digests import hex_of, parse_digest
from cairn.domain.jsonsafe import strict_loads
from cairn.domain.manifest import Manifest, parse_manifest
from cairn.domain.oci import INDEX_TYPES, MANIFEST_TYPES, MODELPACK_FILEPATH, TITLE
from cairn.errors import InvalidDigest, InvalidManifest

MANIFEST_MAX = 4 << 20  # the spec's "at least 4 MB" a registry should accept


@dataclass(frozen=True, slots=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def distributable(self) -> bool:
        """Layers marked non-distributable are never pushed: their blobs are not required."""
        return "nondistributable" not in self.media_type


@dataclass(frozen=True, slots=True)
class PushedManifest:
    media_type: str
    artifact_type: str | None
    subject: str | None
    config: Descriptor | None
    layers: tuple[Descriptor, ...]
    children: tuple[Descriptor, ...]  # an index's manifests
    annotations: dict[str, str]

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES

    @property
    def blobs(self) -> list[Descriptor]:
        """The blobs this manifest needs the registry to hold."""
        found = [self.config] if self.config is not None else []
        return found + [d for d in self.layers if d.distributable]

    @property
    def referrer_type(self) -> str | None:
        """What the referrers API lists it as: its artifactType, else its config's type."""
        if self.artifact_type is not None:
            return self.artifact_type
        return self.config.media_type if self.config is not None else None

    def files(self) -> Manifest:
        """The Cairn manifest of this one's layers: each file named by its title (else its
        ModelPack file path, else its digest), with the layer's digest and size."""
        if self.is_index or not self.layers:
            raise InvalidManifest("only an image manifest with layers becomes a Cairn version")
        entries = [
            {
                "path": d.annotations.get(TITLE)
                or d.annotations.get(MODELPACK_FILEPATH)
                or hex_of(d.digest),
                "size": d.size,
                "digest": d.digest,
            }
            for d in self.layers
        ]
        return parse_manifest(entries)


def parse_pushed(body: bytes, content_type: str) -> PushedManifest:
    """Check a manifest as pushed with ``content_type``; raise ``InvalidManifest`` saying why."""
    media_type = content_type.split(";")[0].strip().lower()
    if media_type not in MANIFEST_TYPES:
        raise InvalidManifest(
            f"a manifest is pushed as one of {', '.join(sorted(MANIFEST_TYPES))}",
            content_type=content_type[:200],
        )
    # The one strict reader: a duplicate key could make another parser see another layer.
    doc = strict_loads(body, max_bytes=MANIFEST_MAX)
    if not isinstance(doc, dict) or doc.get("schemaVersion") != 2:
        raise InvalidManifest("a manifest is a JSON object with schemaVersion 2")
    declared = doc.get("mediaType")
    if declared is not None and declared != media_type:
        raise InvalidManifest(
            "the manifest's mediaType differs from its Content-Type",
            media_type=str(declared)[:200],
            content_type=media_type,
        )
    index = media_type in INDEX_TYPES
    subject = doc.get("subject")
    return PushedManifest(
        media_type=media_type,
        artifact_type=_optional_text(doc, "artifactType"),
        subject=_descriptor(subject, "subject").digest if subject is not None else None,
        config=None if index else _descriptor(doc.get("config"), "config"),
        layers=() if index else _descriptors(doc.get("layers", []), "layers"),
        children=_descriptors(doc.get("manifests", []), "manifests") if index else (),
        annotations=_annotations(doc.get("annotations"), "annotations"),
    )


def _descriptors(raw: object, where: str) -> tuple[Descriptor, ...]:
    if not isinstance(raw, list):
        raise InvalidManifest(f"{where} is a list of descriptors")
    return tuple(_descriptor(item, f"{where}[{i}]") for i, item in enumerate(raw))


def _descriptor(raw: object, where: str) -> Descriptor:
    if not isinstance(raw, Mapping):
        raise InvalidManifest(f"{where} is a descriptor {{mediaType, digest, size}}")
    media_type, size = raw.get("mediaType"), raw.get("size")
    if not isinstance(media_type, str) or not media_type:
        raise InvalidManifest(f"{where}.mediaType is a non-empty string")
    if type(size) is not int or size < 0:
        raise InvalidManifest(f"{where}.size is a whole number of bytes")
    try:
        digest = parse_digest(raw.get("digest"))
    except InvalidDigest as exc:
        raise InvalidManifest(f"{where}.digest: {exc.message}") from exc
    return Descriptor(media_type, digest, size, _annotations(raw.get("annotations"), where))


def _annotations(raw: object, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise InvalidManifest(f"{where}: annotations map strings to strings")
    return dict(raw)


def _optional_text(doc: Mapping[str, Any], key: str) -> str | None:
    value = doc.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidManifest(f"{key} is a string")
    return value
