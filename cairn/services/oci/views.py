"""Building a version's OCI views once and keeping their exact bytes.

A view is built the first time someone asks for it, from what never changes about the
version, and stored with the blobs it names (its config; for KServe, the tar of the files,
written once into the blob store). Two processes building the same view at once build the
same bytes; the first to commit wins and the other returns its row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from functools import partial
from typing import Any

from cairn.domain.digests import digest_bytes
from cairn.domain.oci import IMAGE_MANIFEST, KSERVE, MODELPACK, OWN
from cairn.domain.oci_manifest import PushedManifest, parse_pushed
from cairn.domain.oci_views import (
    Built,
    VersionFacts,
    kserve_view,
    modelpack_view,
    own_view,
)
from cairn.domain.records import OciManifest, Version
from cairn.domain.tarball import TarMember, tar_stream
from cairn.errors import BlobCorrupt
from cairn.services.auth import Actor, Permission
from cairn.services.resolve import namespace_key
from cairn.services.uow import Database
from cairn.storage.blobs import BlobStat, BlobStore

ROLES = {OWN: "own", KSERVE: "kserve", MODELPACK: "modelpack"}
MODELS_FOLDER = "models"  # where KServe's modelcar layout keeps the files


def facts_of(version: Version) -> VersionFacts:
    if version.files is None:
        raise ValueError("a view is built from a version read with its files")
    return VersionFacts(
        namespace=version.namespace,
        model=version.model,
        number=version.number,
        content_digest=version.manifest_digest,
        author=version.author,
        created_at=version.created_at,
        files=version.files,
        provenance=version.provenance,
        metrics=version.metrics,
        params=version.params,
        schema=version.schema,
    )


class ViewBuilder:
    def __init__(self, db: Database, store: BlobStore) -> None:
        self.db = db
        self.store = store

    def build(self, actor: Actor, model_id: int, version: Version, view: str) -> OciManifest:
        """The ``view`` of ``version`` (of model ``model_id``), built and stored now unless a
        concurrent request stored it first."""
        facts = facts_of(version)
        made: list[BlobStat] = []
        if view == KSERVE:
            made.append(self.store.put(tar_stream(self._members(facts))))
            built: Built = kserve_view(facts, made[0].digest, made[0].size)
        elif view == MODELPACK:
            built = modelpack_view(facts)
        else:
            built = own_view(facts)
        made.append(self.store.put([built.config]))
        role = ROLES[view]
        with self.db.write(actor, Permission.READ, version.namespace) as uow:
            for stat in made:
                uow.store.blobs.add(stat.digest, stat.size, uow.now)
            uow.store.blobs.link(
                namespace_key(version.namespace), [s.digest for s in made], uow.now
            )
            found = uow.store.oci.by_role(version.id, role)
            if found is not None:
                return found
            parsed = parse_pushed(built.manifest, IMAGE_MANIFEST)
            values = manifest_values(model_id, built.manifest, parsed)
            values.update(version_id=version.id, role=role)
            names = [d.digest for d in parsed.blobs]
            row = uow.store.oci.add(values, names, uow.now)
            uow.record("oci.view", version.ref, view=role, digest=row.digest, event=False)
            return row

    def _members(self, facts: VersionFacts) -> list[TarMember]:
        return [
            TarMember(f"{MODELS_FOLDER}/{f.path}", f.size, partial(self._verified, f.digest))
            for f in facts.files
        ]

    def _verified(self, digest: str) -> Iterator[bytes]:
        # The tar is kept forever under its digest: a corrupt file must not end up in it.
        hasher = hashlib.sha256()
        for chunk in self.store.read(digest):
            hasher.update(chunk)
            yield chunk
        if "sha256:" + hasher.hexdigest() != digest:
            raise BlobCorrupt(f"the stored bytes of {digest} are corrupt", digest=digest)


def manifest_values(model_id: int, content: bytes, parsed: PushedManifest) -> dict[str, Any]:
    """The row of a manifest of ``model_id`` with these exact bytes."""
    return {
        "model_id": model_id,
        "digest": digest_bytes(content),
        "media_type": parsed.media_type,
        "artifact_type": parsed.referrer_type,
        "subject": parsed.subject,
        "annotations": parsed.annotations,
        "content": content,
        "version_id": None,
        "role": None,
    }
