"""Finding models and versions from names and references, the same way for every caller."""

from __future__ import annotations

from dataclasses import replace

from cairn.domain.names import canonical_key, normalize_name
from cairn.domain.records import Model, Namespace, Version
from cairn.domain.references import Reference
from cairn.errors import AliasNotFound, ModelNotFound, NamespaceNotFound, VersionNotFound
from cairn.services.auth import EVERYWHERE, Actor, Permission
from cairn.storage.sql.store import MetadataStore


def namespace_key(raw: str) -> str:
    return canonical_key(normalize_name(raw, kind="namespace"))


def model_key(raw: str) -> str:
    return canonical_key(normalize_name(raw, kind="model"))


def get_namespace(store: MetadataStore, name: str, *, lock: bool = False) -> Namespace:
    found = store.namespaces.get(namespace_key(name), lock=lock)
    if found is None:
        raise NamespaceNotFound(f"no namespace {name!r}", namespace=name)
    return found


def get_model(store: MetadataStore, namespace: str, name: str, *, lock: bool = False) -> Model:
    found = store.models.get(namespace_key(namespace), model_key(name), lock=lock)
    if found is None:
        get_namespace(store, namespace)
        raise ModelNotFound(f"no model {namespace}/{name}", model=f"{namespace}/{name}")
    return found


def get_version(
    store: MetadataStore,
    ref: Reference,
    *,
    with_files: bool = True,
) -> Version:
    """The version ``ref`` names: by number, by alias, or the latest."""
    version = store.versions.resolve(
        namespace_key(ref.namespace),
        model_key(ref.model),
        ref.number,
        ref.alias,
    )
    if version is None:
        model = get_model(store, ref.namespace, ref.model)  # says which part is missing
        if ref.alias is not None:
            raise AliasNotFound(f"no alias @{ref.alias} on {model.ref}", ref=str(ref))
        raise VersionNotFound(f"no version {ref}", ref=str(ref))
    if with_files:
        version = replace(version, files=store.versions.files(version.id))
    return version


def readable_namespace_ids(store: MetadataStore, actor: Actor) -> list[int] | None:
    """The ids of the namespaces ``actor`` may read, for a listing across them (one query
    instead of one per namespace); None: every namespace (a role held everywhere)."""
    if actor.may(Permission.READ, EVERYWHERE):
        return None
    return [ns.id for ns in store.namespaces.list() if actor.may(Permission.READ, ns.name)]
