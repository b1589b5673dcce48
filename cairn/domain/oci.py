"""The OCI Distribution names Cairn serves: repositories, tags, media types.

A Cairn model is the repository ``<namespace>/<model>`` (a bare ``<model>`` is in ``default``).
Tags are derived from the registry, never stored, and are built so that no two can meet::

    tag      := selector [ "." view ]
    selector := <version number>        e.g. 7     (an alias is never all digits)
              | "latest"                           (no alias may be called latest)
              | <alias>                 e.g. prod  (lower-case, see cairn.domain.names)
    view     := "kserve" | "modelpack"             (no alias may end in ".kserve"/".modelpack")

``7`` is version 7's own manifest (the one pushed, or one raw layer per file); ``7.kserve``
its KServe modelcar view; ``7.modelpack`` its CNCF ModelPack view.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cairn.domain.names import normalize_alias, normalize_name
from cairn.domain.references import DEFAULT_NAMESPACE
from cairn.errors import InvalidName, InvalidReference

IMAGE_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
IMAGE_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_TYPES = frozenset({IMAGE_MANIFEST, IMAGE_INDEX, DOCKER_MANIFEST, DOCKER_LIST})
INDEX_TYPES = frozenset({IMAGE_INDEX, DOCKER_LIST})

CAIRN_ARTIFACT = "application/vnd.cairn.model.v1"
CAIRN_CONFIG = "application/vnd.cairn.model.config.v1+json"
RAW_LAYER = "application/octet-stream"
TAR_LAYER = "application/vnd.oci.image.layer.v1.tar"
IMAGE_CONFIG = "application/vnd.oci.image.config.v1+json"
MODELPACK_ARTIFACT = "application/vnd.cncf.model.manifest.v1+json"
MODELPACK_CONFIG = "application/vnd.cncf.model.config.v1+json"

TITLE = "org.opencontainers.image.title"
CREATED = "org.opencontainers.image.created"
MODELPACK_FILEPATH = "org.cncf.model.filepath"
CAIRN_VERSION = "dev.cairn.version"
CAIRN_CONTENT = "dev.cairn.manifest-digest"

# The views of a version, by tag suffix; "" is the version's own manifest.
OWN = ""
KSERVE = "kserve"
MODELPACK = "modelpack"
VIEWS = (OWN, KSERVE, MODELPACK)

_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")
NAME_MAX = 255


@dataclass(frozen=True, slots=True)
class Repository:
    namespace: str
    model: str


@dataclass(frozen=True, slots=True)
class Tag:
    """A parsed tag: a version by number, by alias, or the latest, and which view of it."""

    number: int | None = None
    alias: str | None = None
    view: str = OWN

    @property
    def selector(self) -> str:
        if self.number is not None:
            return str(self.number)
        return self.alias if self.alias is not None else "latest"


def parse_repository(name: str) -> Repository:
    """``ns/model`` or ``model`` (in ``default``), each part an OCI name component."""
    parts = name.split("/")
    if len(name) > NAME_MAX or not 1 <= len(parts) <= 2:
        raise InvalidName("an OCI repository here is '<namespace>/<model>'", value=name[:200])
    if not all(_COMPONENT.fullmatch(p) for p in parts):
        raise InvalidName(
            "a repository name is lower-case letters and digits joined by '.', '_', '__' or "
            "'-' (OCI distribution-spec)",
            value=name[:200],
        )
    namespace, model = (DEFAULT_NAMESPACE, parts[0]) if len(parts) == 1 else parts
    return Repository(
        normalize_name(namespace, kind="namespace"), normalize_name(model, kind="model")
    )


def is_tag(reference: str) -> bool:
    return _TAG.fullmatch(reference) is not None


def parse_tag(raw: str) -> Tag:
    """The tag's meaning under the scheme above; ``InvalidReference`` for one that has none."""
    if not is_tag(raw):
        raise InvalidReference("a tag is [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}", tag=raw[:200])
    selector, view = raw, OWN
    head, dot, tail = raw.rpartition(".")
    if dot and tail in VIEWS:
        selector, view = head, tail
    if selector == "latest":
        return Tag(view=view)
    if selector.isascii() and selector.isdigit():
        if len(selector) > 12 or int(selector) < 1 or selector != str(int(selector)):
            raise InvalidReference("a version number tag is 1, 2, 3…", tag=raw[:200])
        return Tag(number=int(selector), view=view)
    try:
        if selector != selector.lower():
            raise InvalidName("alias tags are lower-case", kind="alias", value=selector)
        return Tag(alias=normalize_alias(selector), view=view)
    except InvalidName as exc:
        raise InvalidReference(exc.message, tag=raw[:200]) from exc


def tags_of(numbers: list[int], aliases: list[str]) -> list[str]:
    """Every tag of a model with these version numbers and aliases, in lexical order."""
    selectors = [str(n) for n in numbers] + list(aliases) + (["latest"] if numbers else [])
    return sorted(s + (f".{v}" if v else "") for s in selectors for v in VIEWS)
