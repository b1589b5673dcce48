"""Which policy governs a model: its own override, else its namespace's, else the default."""

from __future__ import annotations

from cairn.domain.lifecycle import DEFAULT_POLICY, Policy, parse_policy
from cairn.domain.records import Model, PolicyRevision
from cairn.services.resolve import get_namespace
from cairn.storage.sql.store import MetadataStore


def policy_revision(store: MetadataStore, model: Model) -> PolicyRevision | None:
    """The revision in force for ``model`` (None: the built-in default policy)."""
    namespace_id = get_namespace(store, model.namespace).id
    return store.policies.current(namespace_id, model.id) or store.policies.current(
        namespace_id, None
    )


def policy_for(store: MetadataStore, model: Model) -> Policy:
    found = policy_revision(store, model)
    return parse_policy(found.document if found else DEFAULT_POLICY)
