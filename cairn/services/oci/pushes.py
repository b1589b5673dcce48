"""Manifests pushed by OCI clients: stored byte for byte, and turned into Cairn versions.

* ``PUT manifests/<tag>`` with an image manifest registers a Cairn version whose files are its
  layers (named by their title annotation) through ``VersionService.register`` — checks,
  scans and audit included — and stores the pushed bytes as that version's own manifest, in
  the same transaction (``_StoreAndTag``, the registration's hook). The same bytes pushed
  again find the same version (the manifest's digest is the idempotency key). The tag
  ``latest`` needs nothing more; any other tag is an alias, moved to the version (which takes
  the deploy permission). Version numbers and view tags are Cairn's to give and cannot be
  pushed to.
* ``PUT manifests/<digest>`` stores the manifest in the repository without making a version:
  signatures, attestations and other referrers, an index and its children.
"""

from __future__ import annotations

from dataclasses import dataclass

from cairn.domain.digests import digest_bytes, parse_digest
from cairn.domain.oci import OWN, Repository, parse_repository, parse_tag
from cairn.domain.oci_manifest import MANIFEST_MAX, PushedManifest, parse_pushed
from cairn.domain.records import Model, OciManifest, Version
from cairn.domain.registrations import Registration, parse_metadata
from cairn.errors import Conflict, DigestMismatch, InvalidReference, PayloadTooLarge
from cairn.services.aliases import check_protected, move_alias
from cairn.services.auth import Actor, Permission, authorize
from cairn.services.oci.views import ROLES, manifest_values
from cairn.services.registrations import RegistrationHook, model_for_registration, require_blobs
from cairn.services.uow import Database, UnitOfWork
from cairn.services.versions import VersionService

DESCRIPTION = "org.opencontainers.image.description"


@dataclass(frozen=True, slots=True)
class PushResult:
    manifest: OciManifest
    version: Version | None  # the version it registered or found (a push by tag)


class OciPushes:
    def __init__(self, db: Database, versions: VersionService) -> None:
        self.db = db
        self.versions = versions

    def push(
        self, actor: Actor, name: str, reference: str, body: bytes, content_type: str
    ) -> PushResult:
        repo = parse_repository(name)
        if len(body) > MANIFEST_MAX:
            raise PayloadTooLarge(f"a manifest is at most {MANIFEST_MAX} bytes", size=len(body))
        parsed = parse_pushed(body, content_type)
        if ":" in reference:
            claimed = parse_digest(reference)
            actual = digest_bytes(body)
            if claimed != actual:
                raise DigestMismatch(
                    f"the manifest hashes to {actual}, not {claimed}",
                    expected=claimed,
                    actual=actual,
                )
            return PushResult(self._store(actor, repo, body, parsed), None)
        return self._register(actor, repo, reference, body, parsed)

    def _register(
        self, actor: Actor, repo: Repository, reference: str, body: bytes, parsed: PushedManifest
    ) -> PushResult:
        tag = parse_tag(reference)
        if tag.number is not None or tag.view != OWN:
            raise InvalidReference(
                "version numbers and view tags are given by Cairn: push to 'latest' or to an "
                "alias name",
                tag=reference[:130],
            )
        if tag.alias is not None:
            authorize(actor, Permission.DEPLOY, repo.namespace)
        registration = Registration(
            parsed.files(),
            parse_metadata(description=parsed.annotations.get(DESCRIPTION)),
            idempotency_key=f"oci:{digest_bytes(body)}",
        )
        hook = _StoreAndTag(body, parsed, tag.alias)
        registered = self.versions.register(actor, repo.namespace, repo.model, registration, hook)
        return PushResult(registered.answer, registered.version)

    def _store(
        self, actor: Actor, repo: Repository, body: bytes, parsed: PushedManifest
    ) -> OciManifest:
        with self.db.write(actor, Permission.WRITE, repo.namespace) as uow:
            model = model_for_registration(uow, repo.namespace, repo.model)
            require_blobs(uow.store, repo.namespace, parsed.blobs)
            values = manifest_values(model.id, body, parsed)
            row = uow.store.oci.add(values, [d.digest for d in parsed.blobs], uow.now)
            uow.record(
                "oci.push",
                f"{model.ref}@{row.digest}",
                media_type=row.media_type,
                referring_to=row.subject,
                event=False,
            )
            return row


class _StoreAndTag(RegistrationHook[OciManifest]):
    """A push by tag, in its registration's transaction: the pushed bytes become the
    version's own manifest, and an alias tag moves to the version."""

    def __init__(self, body: bytes, parsed: PushedManifest, alias: str | None) -> None:
        self.body, self.parsed, self.alias = body, parsed, alias

    def within(self, uow: UnitOfWork, model: Model, version: Version) -> OciManifest:
        require_blobs(uow.store, model.namespace, self.parsed.blobs)
        role = ROLES[OWN]
        row = uow.store.oci.by_role(version.id, role)
        if row is None:
            values = manifest_values(model.id, self.body, self.parsed)
            row = uow.store.oci.add(values, [d.digest for d in self.parsed.blobs], uow.now)
            if row.version_id is None:  # the same bytes were pushed by digest before
                row = uow.store.oci.claim(row.id, version.id, role)
            uow.record("oci.push", version.ref, digest=row.digest, event=False)
        if row.digest != digest_bytes(self.body):
            raise Conflict(f"{version.ref} was pushed as another manifest", ref=version.ref)
        if self.alias is not None:
            check_protected(uow, model, self.alias, version)
            move_alias(uow, model, self.alias, version)
        return row
