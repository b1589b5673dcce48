"""The records a unit of work touched, read as it leaves them, for its audit entries to commit
to (see ``cairn.domain.record_state``): one indexed read per record (two statements for a
version, a model or a principal: its row, then its tags or grants), however many entries
name it.

On PostgreSQL the row of a version or a model is held (FOR NO KEY UPDATE) before its tags are
read, so two transactions that change it at once — two tags added side by side take no common
lock otherwise — read it one after the other, and the later one's entry covers both changes.
Records are read containers first, in the order the mutations themselves lock them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from cairn.domain.names import canonical_key
from cairn.domain.record_state import (
    KINDS,
    Groups,
    alias_fields,
    approvals_fields,
    digests,
    keys_fields,
    model_fields,
    namespace_fields,
    policy_fields,
    principal_fields,
    split_key,
    token_fields,
    validations_fields,
    version_fields,
)
from cairn.storage.sql.store import MetadataStore


def resulting_states(store: MetadataStore, keys: Iterable[str]) -> dict[str, Groups | None]:
    """Each record's group digests as the transaction leaves it (``None``: it does not exist)."""
    order = {kind: rank for rank, kind in enumerate(KINDS)}
    ordered = sorted(set(keys), key=lambda k: (order[split_key(k)[0]], k))
    return {key: _READERS[split_key(key)[0]](store, split_key(key)[1]) for key in ordered}


def _namespace(store: MetadataStore, ref: str) -> Groups | None:
    found = store.namespaces.get(canonical_key(ref))
    return digests("namespace", namespace_fields(found)) if found else None


def _model(store: MetadataStore, ref: str) -> Groups | None:
    namespace, _, name = ref.partition("/")
    found = store.models.hold(canonical_key(namespace), canonical_key(name))
    if found is None:
        return None
    fields = model_fields(found)
    fields["tags"] = store.models.tags([found.id])[found.id]
    return digests("model", fields)


def _version(store: MetadataStore, ref: str) -> Groups | None:
    model_ref, _, number = ref.rpartition(":")
    namespace, _, name = model_ref.partition("/")
    found = store.versions.resolve(
        canonical_key(namespace), canonical_key(name), int(number), None, hold=True
    )
    return digests("version", version_fields(found)) if found else None


def _validations(store: MetadataStore, ref: str) -> Groups | None:
    model_ref, _, number = ref.rpartition(":")
    namespace, _, name = model_ref.partition("/")
    # The version's row is held (see above), so results posted side by side are read in turn.
    found = store.versions.resolve(
        canonical_key(namespace), canonical_key(name), int(number), None, hold=True
    )
    results = store.validations.history(found.id) if found else []
    return digests("validations", validations_fields(results)) if results else None


def _approvals(store: MetadataStore, ref: str) -> Groups | None:
    model_ref, _, number = ref.rpartition(":")
    namespace, _, name = model_ref.partition("/")
    found = store.versions.resolve(
        canonical_key(namespace), canonical_key(name), int(number), None, hold=True
    )
    requests = store.approvals.requests(version_id=found.id) if found else []
    return digests("approvals", approvals_fields(requests)) if requests else None


def _alias(store: MetadataStore, ref: str) -> Groups | None:
    model_ref, _, alias = ref.partition("@")
    namespace, _, name = model_ref.partition("/")
    model = store.models.get(canonical_key(namespace), canonical_key(name))
    number = store.aliases.current(model.id, alias) if model else None
    return digests("alias", alias_fields(number)) if number is not None else None


def _keys(store: MetadataStore, ref: str) -> Groups | None:
    # The namespace's row is held: two keys added side by side take no common lock otherwise.
    namespace = store.namespaces.get(canonical_key(ref), lock=True)
    keys = store.keys.of_namespace(namespace.id) if namespace else []
    return digests("keys", keys_fields(keys)) if keys else None


def _policy(store: MetadataStore, ref: str) -> Groups | None:
    """The namespace's own policy, or the model's own override (not the one in force)."""
    namespace_name, _, model_name = ref.partition("/")
    namespace = store.namespaces.get(canonical_key(namespace_name))
    if namespace is None:
        return None
    model_id = None
    if model_name:
        model = store.models.get(canonical_key(namespace_name), canonical_key(model_name))
        if model is None:
            return None
        model_id = model.id
    found = store.policies.current(namespace.id, model_id)
    return digests("policy", policy_fields(found)) if found else None


def _principal(store: MetadataStore, ref: str) -> Groups | None:
    found = store.identity.principal(canonical_key(ref), hold=True)
    return digests("principal", principal_fields(found)) if found else None


def _token(store: MetadataStore, ref: str) -> Groups | None:
    found = store.identity.tokens(None, ref)
    return digests("token", token_fields(found[0])) if found else None


_READERS: dict[str, Callable[[MetadataStore, str], Groups | None]] = {
    "namespace": _namespace,
    "model": _model,
    "version": _version,
    "alias": _alias,
    "validations": _validations,
    "approvals": _approvals,
    "keys": _keys,
    "policy": _policy,
    "principal": _principal,
    "token": _token,
}
