"""Reading the OCI view of the registry: manifests by tag or digest, tags, referrers, mounts.

A model is a repository; its tags are derived from its versions and aliases (see
``cairn.domain.oci``); a tag's manifest is the one stored for that version and view, built
on first request when there is none yet.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cairn.domain.digests import parse_digest
from cairn.domain.names import alias_key
from cairn.domain.oci import Repository, parse_repository, parse_tag, tags_of
from cairn.domain.records import OciManifest
from cairn.domain.references import Reference, parse_reference
from cairn.errors import InvalidName, InvalidReference, ManifestNotFound, NotFound
from cairn.services.auth import Actor, Permission, authorize
from cairn.services.blobs import BlobService
from cairn.services.gates import allow_pull, version_blocks
from cairn.services.oci.views import ROLES, ViewBuilder
from cairn.services.resolve import get_model, get_namespace, get_version, namespace_key
from cairn.services.uow import Database
from cairn.storage.blobs import BlobStat, BlobStore


@dataclass(frozen=True, slots=True)
class TagPage:
    tags: list[str]
    more: bool  # tags follow the last one listed


class OciRepositories:
    def __init__(self, db: Database, blobs: BlobService, store: BlobStore) -> None:
        self.db = db
        self.blobs = blobs
        self.views = ViewBuilder(db, store)

    def manifest(
        self, actor: Actor, name: str, reference: str, override: str | None = None
    ) -> OciManifest:
        """The manifest ``reference`` (a tag or a digest) names in repository ``name``; a
        blocked version's is refused unless ``override`` (``cairn.services.gates``)."""
        repo = parse_repository(name)
        if ":" in reference:
            return self._by_digest(actor, repo, parse_digest(reference), override)
        try:
            tag = parse_tag(reference)
        except InvalidReference as exc:
            raise ManifestNotFound(f"no tag {reference[:130]!r} in {name}") from exc
        ref = Reference(repo.namespace, repo.model, number=tag.number, alias=tag.alias)
        with self.db.read(actor, repo.namespace) as store:
            model = get_model(store, repo.namespace, repo.model)
            version = get_version(store, ref, with_files=False)
            blocked = version_blocks(store, version)
            found = store.oci.by_role(version.id, ROLES[tag.view])
            if found is None:
                version = replace(version, files=store.versions.files(version.id))
        allow_pull(self.db, actor, version, blocked, override)
        return found or self.views.build(actor, model.id, version, tag.view)

    def tags(self, actor: Actor, name: str, n: int | None, last: str | None) -> TagPage:
        """The repository's tags in lexical order, after ``last``, at most ``n`` of them."""
        repo = parse_repository(name)
        with self.db.read(actor, repo.namespace) as store:
            model = get_model(store, repo.namespace, repo.model)
            numbers = store.versions.numbers(model.id)
            aliases = [alias_key(a) for a in store.models.aliases(model.id)]  # tags: lower case
        every = tags_of(numbers, aliases)
        if last is not None:
            every = [t for t in every if t > last]
        if n is None:
            return TagPage(every, False)
        return TagPage(every[:n], len(every) > n)

    def referrers(
        self, actor: Actor, name: str, digest: str, artifact_type: str | None
    ) -> list[OciManifest]:
        """The manifests whose ``subject`` is ``digest``, of ``artifact_type`` if given. An
        unknown digest has none (the spec wants an empty list, not a 404)."""
        repo = parse_repository(name)
        subject = parse_digest(digest)
        with self.db.read(actor, repo.namespace) as store:
            try:
                model = get_model(store, repo.namespace, repo.model)
            except NotFound:
                return []
            found = store.oci.referrers(model.id, subject)
        return [m for m in found if artifact_type is None or m.artifact_type == artifact_type]

    def mount(self, actor: Actor, name: str, digest: str, source: str | None) -> BlobStat | None:
        """Link the blob ``digest`` into ``name``'s namespace from repository ``source``, when
        the caller may write here and read there and ``source``'s namespace holds it; else
        None, and the client uploads the bytes (the OCI spec's fallback). Without ``source``
        nothing is mounted: Cairn does not look for the digest in other namespaces."""
        target = parse_repository(name)
        authorize(actor, Permission.WRITE, target.namespace)
        if source is None:
            return None
        try:
            origin = parse_repository(source)
        except InvalidName:
            return None
        if not actor.may(Permission.READ, origin.namespace):
            return None  # the same answer as a digest the source does not hold
        checked = parse_digest(digest)
        with self.db.write(actor, Permission.WRITE, target.namespace) as uow:
            get_namespace(uow.store, target.namespace)
            size = uow.store.blobs.held(namespace_key(origin.namespace), [checked]).get(checked)
            if size is None:
                return None
            uow.store.blobs.link(namespace_key(target.namespace), [checked], uow.now)
        return BlobStat(checked, size)

    def _by_digest(
        self, actor: Actor, repo: Repository, digest: str, override: str | None
    ) -> OciManifest:
        with self.db.read(actor, repo.namespace) as store:
            model = get_model(store, repo.namespace, repo.model)
            found = store.oci.by_digest(model.id, digest)
            if found is None:
                raise ManifestNotFound(f"no manifest {digest} in {repo.namespace}/{repo.model}")
            if found.version_id is None:
                return found
            ref = parse_reference(store.versions.ref_of(found.version_id))
            version = get_version(store, ref, with_files=False)
            blocked = version_blocks(store, version)
        allow_pull(self.db, actor, version, blocked, override)
        return found
