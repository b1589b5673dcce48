"""Versions: register (immutable content + provenance), read, list, search, update, delete."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from cairn.domain.cursors import decode_int_cursor
from cairn.domain.filters import Node
from cairn.domain.manifest import Manifest, parse_manifest
from cairn.domain.metadata import (
    DEFAULT_REQUIRED_FIELDS,
    completeness,
    parse_metrics,
    parse_params,
    parse_provenance,
    parse_signature,
    parse_tags,
    parse_text,
    request_digest,
)
from cairn.domain.names import check_tag, normalize_name
from cairn.domain.records import Model, Page, Validation, Version
from cairn.domain.references import Reference
from cairn.errors import (
    BlobNotFound,
    IdempotencyConflict,
    InvalidMetadata,
    InvalidRange,
    MissingBlobs,
    SizeMismatch,
    VersionInUse,
)
from cairn.faults import crash_point
from cairn.services.auth import Actor, Permission, authorize, readable
from cairn.services.checks import VersionChecks
from cairn.services.gates import allow_pull, version_blocks
from cairn.services.lineage import record_parents
from cairn.services.manifests import ManifestCache
from cairn.services.models import clamp, create_model, listing_request
from cairn.services.resolve import (
    get_model,
    get_namespace,
    get_version,
    model_key,
    namespace_key,
)
from cairn.services.uow import Database, UnitOfWork
from cairn.services.validations import counted_statuses
from cairn.storage.sql.filters import compile_version_filter
from cairn.storage.sql.store import MetadataStore

REGISTER_FIELDS = frozenset(
    {
        "manifest",
        "description",
        "tags",
        "metrics",
        "params",
        "provenance",
        "schema",
        "idempotency_key",
    }
)
INITIAL_STATE = "registered"


def parse_registration(body: Mapping[str, Any]) -> tuple[Manifest, dict[str, Any]]:
    """Validate a registration request into its manifest and the version's metadata."""
    if not isinstance(body, Mapping):
        raise InvalidMetadata("a registration is a JSON object")
    unknown = set(body) - REGISTER_FIELDS
    if unknown:
        raise InvalidMetadata(f"unknown registration fields: {', '.join(sorted(unknown))}")
    if "manifest" not in body:
        raise InvalidMetadata("a registration needs a manifest", field="manifest")
    meta = {
        "description": parse_text(body.get("description"), "description"),
        "tags": parse_tags(body.get("tags")),
        "metrics": parse_metrics(body.get("metrics")),
        "params": parse_params(body.get("params")),
        "provenance": parse_provenance(body.get("provenance")),
        "schema": parse_signature(body.get("schema")),
    }
    return parse_manifest(body["manifest"]), meta


# A registration of at most this many files and bytes is small: reading its files for the
# inline scan and inserting its rows take a fraction of a millisecond.
SMALL_FILES = 64
SMALL_BYTES = 1 << 20


def is_small_registration(body: object) -> bool:
    """Whether a registration request (not yet validated) names few files of few bytes."""
    try:
        files = body["manifest"]  # type: ignore[index]
        if isinstance(files, Mapping):  # {"files": [...]} or the bare list
            files = files["files"]
        return len(files) <= SMALL_FILES and sum(f["size"] for f in files) <= SMALL_BYTES
    except (TypeError, KeyError, IndexError):
        return False


class VersionService:
    def __init__(
        self, db: Database, checks: VersionChecks, page_default: int = 100, page_max: int = 1000
    ) -> None:
        self.db = db
        self.checks = checks
        self.manifests = ManifestCache()
        self.page_default = page_default
        self.page_max = page_max

    def register(
        self,
        actor: Actor,
        namespace: str,
        model: str,
        body: Mapping[str, Any],
        idempotency_key: str | None = None,
        attach: Callable[[UnitOfWork, Model, Version], None] | None = None,
        link_first: Callable[[UnitOfWork], None] | None = None,
    ) -> tuple[Version, bool]:
        """Register a new version; ``(version, False)`` when ``idempotency_key`` names one
        registered before with the same content. Creates the model if it does not exist.
        ``attach`` runs in the registration's transaction, with the version (new or found),
        for what must commit with it or not at all (the OCI manifest it was pushed as).
        ``link_first`` runs in it before the namespace's blobs are checked, for blobs another
        record of the namespace vouches for (files logged through MLflow's tracking API)."""
        manifest, meta = parse_registration(body)
        key = idempotency_key or body.get("idempotency_key")
        if key is not None and (not isinstance(key, str) or not 1 <= len(key) <= 200):
            raise InvalidMetadata("an idempotency key is a string of 1-200 characters")
        # The checks read blobs before the transaction, so a scan never holds the write lock;
        # nobody without the right to register gets the server to read anything. A blob that
        # is missing or of another size is reported precisely by the transaction's own check.
        authorize(actor, Permission.WRITE, namespace)
        try:
            outcomes = self.checks.run(namespace, manifest)
        except (BlobNotFound, InvalidRange):
            outcomes = []
        with self.db.write(actor, Permission.WRITE, namespace) as uow:
            found = self._model_for_registration(uow, namespace, model)
            digest = request_digest(manifest.digest, meta)
            if key is not None:
                earlier = uow.store.versions.by_idempotency_key(found.id, key)
                if earlier is not None:
                    same = _same_request(uow, earlier, manifest, digest)
                    if attach is not None:
                        attach(uow, found, same)
                    return same, False
            if link_first is not None:
                link_first(uow)
            _check_blobs(uow.store, namespace_key(found.namespace), manifest)
            self.checks.enforce(uow, namespace, outcomes)
            version = self._insert(uow, found, manifest, meta, (key, digest))
            settled = self.checks.at_registration(
                manifest, version.completeness, version.missing_fields
            )
            self.checks.record(uow, version.id, settled + outcomes)
            if attach is not None:
                attach(uow, found, version)
            uow.record(
                "version.register",
                version.ref,
                manifest_digest=manifest.digest,
                size=manifest.total_size,
                files=len(manifest.files),
                completeness=version.completeness,
                checks={o.name: o.status for o in outcomes},
            )
            crash_point("register-uncommitted")
        crash_point("register-committed")
        return version, True

    def get(
        self,
        actor: Actor,
        ref: Reference,
        *,
        with_files: bool = True,
        override: str | None = None,
    ) -> Version:
        """The version; ``with_files``, its manifest too, which is what a pull fetches: so a
        blocked version's is refused unless ``override`` (see ``cairn.services.gates``)."""
        with self.db.read(actor, ref.namespace) as store:
            version = get_version(store, ref, with_files=False)
            version = replace(version, validations=counted_statuses(store, version))
            if not with_files:
                return version
            found = version_blocks(store, version)
            files = self.manifests.get(version.manifest_digest)
            if files is None:
                files = store.versions.files(version.id)
                self.manifests.put(version.manifest_digest, files)
        allow_pull(self.db, actor, version, found, override)
        return replace(version, files=files)

    def validations(self, actor: Actor, ref: Reference) -> list[Validation]:
        """Every validation of the version, oldest first (its history)."""
        with self.db.read(actor, ref.namespace) as store:
            version = get_version(store, ref, with_files=False)
            return store.validations.history(version.id)

    def page(
        self, actor: Actor, namespace: str, model: str, cursor: str | None, limit: int | None
    ) -> Page[Version]:
        before = decode_int_cursor(cursor)
        size = clamp(limit, self.page_default, self.page_max)
        with self.db.read(actor, namespace) as store:
            found = get_model(store, namespace, model)
            rows = store.versions.page_of_model(found.id, before, size + 1)
        return Page.from_rows(rows, size, lambda v: v.number)

    def search(
        self, actor: Actor, filter_text: str | None, cursor: str | None, limit: int | None
    ) -> Page[Version]:
        node, before, size = listing_request(
            filter_text, "versions", cursor, limit, self.page_default, self.page_max
        )
        return self._matching(actor, node, before, size)

    def matching(
        self, actor: Actor, where: Node | None, cursor: str | None, limit: int | None
    ) -> Page[Version]:
        """``search`` with a filter tree built by the caller (``cairn.domain.filters``)."""
        size = clamp(limit, self.page_default, self.page_max)
        return self._matching(actor, where, decode_int_cursor(cursor), size)

    def _matching(
        self, actor: Actor, node: Node | None, before: int | None, size: int
    ) -> Page[Version]:
        with self.db.read(actor, None) as store:
            where = compile_version_filter(node) if node is not None else None
            rows = store.versions.search(where, before, size + 1)
        page = Page.from_rows(rows, size, lambda v: v.id)
        visible = readable(actor, page.items, lambda v: v.namespace)
        return Page(visible, page.next_cursor)

    def update(self, actor: Actor, ref: Reference, fields: Mapping[str, Any]) -> Version:
        """Change what may change on a version: its description (tags have their own calls)."""
        if not isinstance(fields, Mapping) or set(fields) - {"description"}:
            raise InvalidMetadata("only a version's description can be updated this way")
        values = {"description": parse_text(fields.get("description"), "description")}
        with self.db.write(actor, Permission.WRITE, ref.namespace) as uow:
            version = get_version(uow.store, ref, with_files=False)
            uow.store.versions.update(version.id, {**values, "updated_at": uow.now})
            uow.record("version.update", version.ref, fields=sorted(values))
            return get_version(uow.store, _exact(version), with_files=False)

    def delete(self, actor: Actor, ref: Reference) -> None:
        """Delete a version that no alias names. Its number is never given out again."""
        with self.db.write(actor, Permission.ADMIN, ref.namespace) as uow:
            version = get_version(uow.store, ref, with_files=False)
            names = uow.store.versions.is_aliased(version.id)
            if names:
                raise VersionInUse(
                    f"{version.ref} is named by aliases {', '.join('@' + n for n in names)}",
                    aliases=names,
                )
            if uow.store.deployments.find(version_id=version.id, limit=1):
                raise VersionInUse(
                    f"{version.ref} has a deployment history; archive it instead",
                    deployments=True,
                )
            uow.store.versions.delete(version.id)
            uow.record("version.delete", version.ref, manifest_digest=version.manifest_digest)

    def set_tag(self, actor: Actor, ref: Reference, key: str, value: str) -> None:
        key, value = check_tag(key, value)
        with self.db.write(actor, Permission.WRITE, ref.namespace) as uow:
            version = get_version(uow.store, ref, with_files=False)
            uow.store.versions.set_tag(version.id, key, value)
            uow.record("version.tag", version.ref, key=key, value=value)

    def delete_tag(self, actor: Actor, ref: Reference, key: str) -> bool:
        key, _ = check_tag(key, "")  # a key no tag can have is refused, not looked up
        with self.db.write(actor, Permission.WRITE, ref.namespace) as uow:
            version = get_version(uow.store, ref, with_files=False)
            removed = uow.store.versions.delete_tag(version.id, key)
            if removed:
                uow.record("version.untag", version.ref, key=key)
            return removed

    @staticmethod
    def _model_for_registration(uow: UnitOfWork, namespace: str, model: str) -> Model:
        """The model, locked for this transaction (created first if it does not exist)."""
        name = normalize_name(model, kind="model")
        keys = namespace_key(namespace), model_key(name)
        found = uow.store.models.get(*keys, lock=True)
        if found is not None:
            return found
        # Concurrent first registrations queue on the namespace's row; all but the first then
        # find the model the first one created, instead of failing to create it again.
        ns = get_namespace(uow.store, namespace, lock=True)
        found = uow.store.models.get(*keys, lock=True)
        if found is not None:
            return found
        model_id = create_model(uow, ns.name, name, {})
        return uow.store.models.get_by_id(model_id)

    @staticmethod
    def _insert(
        uow: UnitOfWork,
        model: Model,
        manifest: Manifest,
        meta: dict[str, Any],
        keyed: tuple[str | None, str],
    ) -> Version:
        required = (
            DEFAULT_REQUIRED_FIELDS if model.required_fields is None else model.required_fields
        )
        score, missing = completeness(meta, required)
        number = uow.store.versions.allocate_number(model.id)
        values = {
            "model_id": model.id,
            "number": number,
            "manifest_digest": manifest.digest,
            "size": manifest.total_size,
            "file_count": len(manifest.files),
            "state": INITIAL_STATE,
            "description": meta["description"],
            "author": uow.actor.name,
            "provenance": meta["provenance"],
            "io_schema": meta["schema"],
            "metrics": meta["metrics"],
            "params": meta["params"],
            "completeness": score,
            "missing_fields": missing,
            "idempotency_key": keyed[0],
            "request_digest": keyed[1] if keyed[0] is not None else None,
            "created_at": uow.now,
            "updated_at": uow.now,
        }
        version_id = uow.store.versions.insert(values, manifest.files, meta["tags"])
        record_parents(uow.store, version_id, meta["provenance"])
        return Version(
            id=version_id,
            namespace=model.namespace,
            model=model.name,
            number=number,
            manifest_digest=manifest.digest,
            size=manifest.total_size,
            file_count=len(manifest.files),
            state=INITIAL_STATE,
            description=meta["description"],
            author=uow.actor.name,
            provenance=meta["provenance"],
            schema=meta["schema"],
            metrics=meta["metrics"],
            params=meta["params"],
            completeness=score,
            missing_fields=missing,
            created_at=uow.now,
            updated_at=uow.now,
            tags=meta["tags"],
            files=manifest.files,
        )


def _check_blobs(store: MetadataStore, namespace: str, manifest: Manifest) -> None:
    # Only blobs the namespace holds count: naming another namespace's digest, without
    # uploading its bytes here, must not make them readable through this one (DESIGN §2.11).
    # hold: the blob rows stay until commit, so a garbage collection cannot take them between
    # this check and the version's insert (PostgreSQL; SQLite has one writer anyway).
    known = store.blobs.held(namespace, (f.digest for f in manifest.files), hold=True)
    missing = sorted({f.digest for f in manifest.files if f.digest not in known})
    if missing:
        raise MissingBlobs(
            f"{len(missing)} blobs of this manifest have not been uploaded to this namespace",
            missing=missing[:100],
        )
    for f in manifest.files:
        if known[f.digest] != f.size:
            raise SizeMismatch(
                f"{f.path}: declared {f.size} bytes, but blob {f.digest} has {known[f.digest]}",
                path=f.path,
            )


def _same_request(uow: UnitOfWork, earlier: Version, manifest: Manifest, digest: str) -> Version:
    """The version ``earlier`` if this request is the one it was registered from (a retry);
    ``IdempotencyConflict`` if the key comes back with another body, whose difference would
    otherwise be lost without a word (DESIGN invariant 4)."""
    # Versions registered before request digests were kept have none: their content decides.
    stored = uow.store.versions.request_digest(earlier.id)
    if earlier.manifest_digest != manifest.digest or stored not in (None, digest):
        what = "other content" if earlier.manifest_digest != manifest.digest else "other metadata"
        raise IdempotencyConflict(
            f"this idempotency key registered {earlier.ref} from another request ({what}); "
            "send a new key for a new version",
            ref=earlier.ref,
        )
    return replace(earlier, files=uow.store.versions.files(earlier.id))


def _exact(version: Version) -> Reference:
    return Reference(version.namespace, version.model, number=version.number)
