"""Versions: register (immutable content + provenance), read, list, search, update, delete."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, TypeVar, overload

from cairn.domain.cursors import decode_int_cursor, decode_str_cursor
from cairn.domain.derived import card_path, with_derived
from cairn.domain.filters import Node
from cairn.domain.manifest import FileEntry
from cairn.domain.metadata import CARD_MAX, DEFAULT_REQUIRED_FIELDS, completeness, parse_text
from cairn.domain.names import check_tag
from cairn.domain.records import Model, Page, Validation, Version
from cairn.domain.references import Reference
from cairn.domain.registrations import Registration, VersionMetadata
from cairn.errors import (
    BlobNotFound,
    IdempotencyConflict,
    InvalidMetadata,
    InvalidRange,
    VersionInUse,
)
from cairn.faults import crash_point
from cairn.services.auth import Actor, Permission, authorize, readable
from cairn.services.builtin_validations import BuiltinValidations
from cairn.services.gates import allow_pull, version_blocks
from cairn.services.lineage import record_parents
from cairn.services.manifests import ManifestCache
from cairn.services.model_files import read_derived
from cairn.services.models import clamp, listing_request
from cairn.services.registrations import (
    Registered,
    RegistrationHook,
    model_for_registration,
    require_blobs,
)
from cairn.services.resolve import get_model, get_version
from cairn.services.uow import Database, UnitOfWork
from cairn.services.validations import counted_results, waived_findings
from cairn.storage.sql.filters import compile_version_filter

T = TypeVar("T")
INITIAL_STATE = "registered"


class VersionService:
    def __init__(
        self,
        db: Database,
        builtin_validations: BuiltinValidations,
        page_default: int = 100,
        page_max: int = 1000,
    ) -> None:
        self.db = db
        self.builtin_validations = builtin_validations
        self.manifests = ManifestCache()
        self.page_default = page_default
        self.page_max = page_max

    @overload
    def register(
        self, actor: Actor, namespace: str, model: str, registration: Registration
    ) -> Registered[None]: ...

    @overload
    def register(
        self,
        actor: Actor,
        namespace: str,
        model: str,
        registration: Registration,
        hook: RegistrationHook[T],
    ) -> Registered[T]: ...

    def register(
        self,
        actor: Actor,
        namespace: str,
        model: str,
        registration: Registration,
        hook: RegistrationHook[Any] | None = None,
    ) -> Registered[Any]:
        """Register a new version of ``model`` (created if it does not exist), or find the
        one an earlier request with the same idempotency key and content registered
        (``created`` false). ``hook`` does what the surface also needs done in the
        registration's transaction, and answers with what the surface needs back."""
        manifest, key = registration.manifest, registration.idempotency_key
        # The built-in validations read blobs before the transaction, so a scan never holds the
        # write lock; nobody without the right to register gets the server to read anything. A
        # blob that is missing or of another size is reported precisely by the transaction.
        authorize(actor, Permission.WRITE, namespace)
        try:
            outcomes = self.builtin_validations.run(namespace, manifest)
        except (BlobNotFound, InvalidRange):
            outcomes = []
        # What the files say about the model fills what the request left empty (the request
        # digest stays the request's own: a retry is the same request).
        derived = read_derived(self.builtin_validations.blobs, manifest.files)
        meta = with_derived(registration.metadata, derived)
        with self.db.write(actor, Permission.WRITE, namespace) as uow:
            found = model_for_registration(uow, namespace, model)
            if key is not None:
                earlier = uow.store.versions.by_idempotency_key(found.id, key)
                if earlier is not None:
                    same = _same_request(uow, earlier, registration)
                    return Registered(
                        same, False, None if hook is None else hook.within(uow, found, same)
                    )
            if hook is not None:
                hook.link_blobs(uow)
            require_blobs(uow.store, found.namespace, manifest.files)
            self.builtin_validations.enforce(uow, namespace, outcomes)
            version = self._insert(uow, found, registration, meta)
            uow.store.models.update(found.id, {}, uow.now)  # MLflow's last_updated_timestamp
            settled = self.builtin_validations.at_registration(
                manifest, version.completeness, version.missing_fields
            )
            self.builtin_validations.record(uow, version.id, settled + outcomes)
            answer = None if hook is None else hook.within(uow, found, version)
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
        return Registered(version, True, answer)

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
            latest = counted_results(store, version)
            version = replace(
                version,
                validations={name: v.status for name, v in latest.items()},
                waivers=waived_findings(latest.get("scan")),
            )
            if not with_files:
                return version
            found = version_blocks(store, version)
            files = self.manifests.get(version.manifest_digest)
            if files is None:
                files = store.versions.files(version.id)
                self.manifests.put(version.manifest_digest, files)
        allow_pull(self.db, actor, version, found, override)
        return replace(version, files=files)

    def card(self, actor: Actor, ref: Reference, override: str | None = None) -> str | None:
        """The text of the version's model card (one of its files, ``card_path``), if it has
        one; read as its files are, so a blocked version's is refused unless ``override``."""
        version = self.get(actor, ref, override=override)
        path = card_path(version.provenance)
        entry = next((f for f in version.files or () if f.path == path), None)
        if entry is None or entry.size > CARD_MAX:
            return None
        data = b"".join(self.builtin_validations.blobs.read(entry.digest, 0, entry.size))
        return data.decode("utf-8", errors="replace")

    def files(
        self,
        actor: Actor,
        ref: Reference,
        cursor: str | None,
        limit: int | None,
        override: str | None = None,
    ) -> Page[FileEntry]:
        """A page of the version's files in path order, read by key: a version of 100,000
        files is never read whole. Gated as ``get`` with its files is (a blocked version's
        manifest is refused unless ``override``), since the pages together are the manifest."""
        after = decode_str_cursor(cursor)
        size = clamp(limit, self.page_default, self.page_max)
        with self.db.read(actor, ref.namespace) as store:
            version = get_version(store, ref, with_files=False)
            found = version_blocks(store, version)
            rows = store.versions.files_page(version.id, after, size + 1)
        allow_pull(self.db, actor, version, found, override)
        return Page.from_rows(rows, size, lambda f: f.path)

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
    def _insert(
        uow: UnitOfWork, model: Model, registration: Registration, meta: VersionMetadata
    ) -> Version:
        manifest, key = registration.manifest, registration.idempotency_key
        required = (
            DEFAULT_REQUIRED_FIELDS if model.required_fields is None else model.required_fields
        )
        score, missing = completeness(meta.document(), required)
        number = uow.store.versions.allocate_number(model.id)
        values = {
            "model_id": model.id,
            "number": number,
            "manifest_digest": manifest.digest,
            "size": manifest.total_size,
            "file_count": len(manifest.files),
            "state": INITIAL_STATE,
            "description": meta.description,
            "author": uow.actor.name,
            "provenance": meta.provenance,
            "io_schema": meta.schema,
            "metrics": meta.metrics,
            "params": meta.params,
            "completeness": score,
            "missing_fields": missing,
            "idempotency_key": key,
            "request_digest": registration.request_digest if key is not None else None,
            "created_at": uow.now,
            "updated_at": uow.now,
        }
        version_id = uow.store.versions.insert(values, manifest.files, meta.tags)
        record_parents(uow.store, version_id, meta.provenance)
        return Version(
            id=version_id,
            namespace=model.namespace,
            model=model.name,
            number=number,
            manifest_digest=manifest.digest,
            size=manifest.total_size,
            file_count=len(manifest.files),
            state=INITIAL_STATE,
            description=meta.description,
            author=uow.actor.name,
            provenance=meta.provenance,
            schema=meta.schema,
            metrics=meta.metrics,
            params=meta.params,
            completeness=score,
            missing_fields=missing,
            created_at=uow.now,
            updated_at=uow.now,
            tags=meta.tags,
            files=manifest.files,
        )


def _same_request(uow: UnitOfWork, earlier: Version, registration: Registration) -> Version:
    """The version ``earlier`` if this request is the one it was registered from (a retry);
    ``IdempotencyConflict`` if the key comes back with another body, whose difference would
    otherwise be lost without a word (DESIGN invariant 4)."""
    # Versions registered before request digests were kept have none: their content decides.
    stored = uow.store.versions.request_digest(earlier.id)
    content = registration.manifest.digest
    if earlier.manifest_digest != content or stored not in (None, registration.request_digest):
        what = "other content" if earlier.manifest_digest != content else "other metadata"
        raise IdempotencyConflict(
            f"this idempotency key registered {earlier.ref} from another request ({what}); "
            "send a new key for a new version",
            ref=earlier.ref,
        )
    return replace(earlier, files=uow.store.versions.files(earlier.id))


def _exact(version: Version) -> Reference:
    return Reference(version.namespace, version.model, number=version.number)
