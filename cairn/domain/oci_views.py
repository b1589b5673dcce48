"""The OCI manifests Cairn builds for a version: its own, the KServe modelcar, the ModelPack.

Pure and deterministic: the same version gives the same bytes, key order and all. The bytes
are still built only once and then stored (a change to these builders must never change a
digest already handed out); ``FORMAT`` names the layout they follow.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from cairn.domain.derived import derived_model
from cairn.domain.digests import digest_bytes
from cairn.domain.manifest import FileEntry
from cairn.domain.model_files import PARAMETERS_MAX, param_size
from cairn.domain.oci import (
    CAIRN_ARTIFACT,
    CAIRN_CONFIG,
    CAIRN_CONTENT,
    CAIRN_VERSION,
    CREATED,
    IMAGE_CONFIG,
    IMAGE_MANIFEST,
    MODELPACK_ARTIFACT,
    MODELPACK_CONFIG,
    MODELPACK_FILEPATH,
    RAW_LAYER,
    TAR_LAYER,
    TITLE,
)

FORMAT = "1"
FORMAT_ANNOTATION = "dev.cairn.oci-format"


@dataclass(frozen=True, slots=True)
class VersionFacts:
    """What never changes about a version: all a view may be built from."""

    namespace: str
    model: str
    number: int
    content_digest: str  # the Cairn manifest's digest
    author: str
    created_at: datetime
    files: tuple[FileEntry, ...]
    provenance: dict[str, Any]
    metrics: dict[str, float]
    params: dict[str, str]
    schema: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.model}:{self.number}"


@dataclass(frozen=True, slots=True)
class Built:
    """A manifest's exact bytes, with the config blob it names (to store alongside)."""

    manifest: bytes
    config: bytes

    @property
    def digest(self) -> str:
        return digest_bytes(self.manifest)


def canonical(doc: object) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def own_view(facts: VersionFacts) -> Built:
    """One raw layer per file, titled with its relative path; the metadata as the config."""
    config = canonical(
        {
            "namespace": facts.namespace,
            "model": facts.model,
            "number": facts.number,
            "contentDigest": facts.content_digest,
            "author": facts.author,
            "createdAt": _time(facts.created_at),
            "provenance": facts.provenance,
            "metrics": facts.metrics,
            "params": facts.params,
            "schema": facts.schema,
        }
    )
    layers = [_layer(RAW_LAYER, f, {TITLE: f.path}) for f in facts.files]
    return Built(_manifest(CAIRN_ARTIFACT, CAIRN_CONFIG, config, layers, facts), config)


def kserve_view(facts: VersionFacts, tar_digest: str, tar_size: int) -> Built:
    """A modelcar image: one uncompressed tar layer holding the files under ``models/``."""
    config = canonical(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [tar_digest]},
        }
    )
    layer = {"mediaType": TAR_LAYER, "digest": tar_digest, "size": tar_size}
    return Built(_manifest(None, IMAGE_CONFIG, config, [layer], facts), config)


def modelpack_view(facts: VersionFacts) -> Built:
    """CNCF ModelPack: raw layers typed by what each file is, a ModelPack config."""
    config = canonical(
        {
            "descriptor": {
                "createdAt": _time(facts.created_at),
                "authors": [facts.author],
                "name": facts.model,
                "version": str(facts.number),
            },
            "config": modelpack_config(facts.provenance),
            "modelfs": {"type": "layers", "diffIds": [f.digest for f in facts.files]},
        }
    )
    layers = [
        _layer(modelpack_layer_type(f.path), f, {MODELPACK_FILEPATH: f.path, TITLE: f.path})
        for f in facts.files
    ]
    return Built(_manifest(MODELPACK_ARTIFACT, MODELPACK_CONFIG, config, layers, facts), config)


def modelpack_config(provenance: dict[str, Any]) -> dict[str, str]:
    """The ModelPack config's ``config``: what the version's files said about the model at
    registration (``cairn.domain.derived``), in ModelPack's names; {} when they said nothing."""
    model = derived_model(provenance)
    out: dict[str, str] = {}
    for key, source in (("architecture", "architecture"), ("format", "format")):
        if isinstance(model.get(source), str):
            out[key] = model[source]
    parameters = model.get("parameters")
    if type(parameters) is int and 0 < parameters <= PARAMETERS_MAX:
        out["paramSize"] = param_size(parameters)
    if isinstance(model.get("precision"), str):
        out["precision"] = model["precision"]
    return out


_DOC_SUFFIXES = {".md", ".txt", ".rst", ".pdf", ".html"}
_CODE_SUFFIXES = {".py", ".ipynb", ".sh", ".js", ".ts", ".go", ".rs", ".java", ".c", ".cpp"}
_WEIGHT_CONFIG_SUFFIXES = {".json", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".model"}
_DOC_NAMES = {"license", "licence", "readme", "notice", "copying"}


def modelpack_layer_type(path: str) -> str:
    """The ModelPack layer type for a file, from its name: documents, code, configuration
    (tokenizers and the like), and weights for everything else."""
    name = PurePosixPath(path)
    suffix = name.suffix.lower()
    if suffix in _DOC_SUFFIXES or name.stem.lower() in _DOC_NAMES:
        kind = "doc"
    elif suffix in _CODE_SUFFIXES:
        kind = "code"
    elif suffix in _WEIGHT_CONFIG_SUFFIXES:
        kind = "weight.config"
    else:
        kind = "weight"
    return f"application/vnd.cncf.model.{kind}.v1.raw"


def _manifest(
    artifact_type: str | None,
    config_type: str,
    config: bytes,
    layers: Sequence[dict[str, Any]],
    facts: VersionFacts,
) -> bytes:
    doc: dict[str, Any] = {"schemaVersion": 2, "mediaType": IMAGE_MANIFEST}
    if artifact_type is not None:
        doc["artifactType"] = artifact_type
    doc["config"] = {"mediaType": config_type, "digest": digest_bytes(config), "size": len(config)}
    doc["layers"] = list(layers)
    doc["annotations"] = {
        CREATED: _time(facts.created_at),
        CAIRN_VERSION: facts.ref,
        CAIRN_CONTENT: facts.content_digest,
        FORMAT_ANNOTATION: FORMAT,
    }
    return canonical(doc)


def _layer(media_type: str, entry: FileEntry, annotations: dict[str, str]) -> dict[str, Any]:
    return {
        "mediaType": media_type,
        "digest": entry.digest,
        "size": entry.size,
        "annotations": annotations,
    }


def _time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
