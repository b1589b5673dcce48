"""Importing a model from where it already lives (``cairn import``, MLflow's ``s3://``
sources): the server fetches the files under an allowed prefix, hashes them into its blob
store and registers them like any push (scanned, audited, numbered).

Every check that can refuse runs before a byte is fetched: the source must be under a prefix
``CAIRN_IMPORT_ALLOW`` lists, the caller must be allowed to register in the namespace, and the
listing must stay within the bounds (``IMPORT_FILES_MAX`` files, ``import_max_bytes`` bytes).
Each object is streamed into the blob store, which hashes it as it stores it; nothing is held
whole in memory.
"""

from __future__ import annotations

from dataclasses import replace

from cairn.domain.imports import IMPORT_FILES_MAX, S3Location, allowed, relative_path
from cairn.domain.manifest import FileEntry, parse_manifest
from cairn.domain.records import Version
from cairn.domain.registrations import Registration, VersionMetadata
from cairn.errors import InvalidInput
from cairn.services.auth import Actor, Permission, authorize
from cairn.services.blobs import BlobService
from cairn.services.versions import VersionService
from cairn.storage.imports import S3Source

UNFETCHED = "sha256:" + "0" * 64  # a placeholder while only the paths are checked


class ImportService:
    def __init__(
        self,
        blobs: BlobService,
        versions: VersionService,
        source: S3Source | None,
        allow: tuple[S3Location, ...],
        max_bytes: int,
    ) -> None:
        self.blobs = blobs
        self.versions = versions
        self.source = source
        self.allow = allow
        self.max_bytes = max_bytes

    def fetch(self, actor: Actor, namespace: str, uri: object) -> list[FileEntry]:
        """The files under ``uri``, stored as blobs of ``namespace``, as a version's files
        (their paths relative to ``uri``)."""
        location = allowed(uri, self.allow)
        authorize(actor, Permission.WRITE, namespace)
        if self.source is None:  # an allow-list without S3 settings: refused at start-up
            raise InvalidInput("this server imports nothing: CAIRN_IMPORT_ALLOW is empty")
        objects = self.source.objects(location.bucket, location.key, IMPORT_FILES_MAX)
        if not objects:
            raise InvalidInput(f"{location} holds no objects", source=str(location))
        if len(objects) > IMPORT_FILES_MAX:
            raise InvalidInput(
                f"{location} holds more than {IMPORT_FILES_MAX} objects", source=str(location)
            )
        total = sum(o.size for o in objects)
        if total > self.max_bytes:
            raise InvalidInput(
                f"{location} holds {total} bytes, more than an import may fetch "
                f"(CAIRN_IMPORT_MAX_BYTES={self.max_bytes})",
                source=str(location),
            )
        # Every path passes the path rule (and no two collide) before a byte is fetched.
        planned = [(relative_path(location, o.key), o) for o in objects]
        parse_manifest([{"path": p, "size": o.size, "digest": UNFETCHED} for p, o in planned])
        files = []
        for path, item in planned:
            stat = self.blobs.store_stream(
                actor, namespace, self.source.read(location.bucket, item), item.size
            )
            files.append(FileEntry(path, stat.size, stat.digest))
        return files

    def import_version(
        self,
        actor: Actor,
        namespace: str,
        model: str,
        uri: object,
        metadata: VersionMetadata,
    ) -> Version:
        """A new version of ``model`` holding the files under ``uri``; where it came from is
        kept in its provenance (``extra.imported_from``)."""
        files = self.fetch(actor, namespace, uri)
        manifest = parse_manifest([f.to_dict() for f in files])
        provenance = dict(metadata.provenance)
        provenance["extra"] = {**provenance.get("extra", {}), "imported_from": str(uri)}
        registration = Registration(manifest, replace(metadata, provenance=provenance))
        return self.versions.register(actor, namespace, model, registration).version
