"""Lineage: the parents a version declares in its provenance, kept as rows that point at the
parent versions, so that "does anything descend from this version?" is one indexed query
(retention asks it before it deletes anything)."""

from __future__ import annotations

from typing import Any

from cairn.domain.references import parse_reference
from cairn.errors import InvalidReference
from cairn.services.resolve import model_key, namespace_key
from cairn.storage.sql.store import MetadataStore


def record_parents(store: MetadataStore, version_id: int, provenance: dict[str, Any]) -> None:
    """Inside the registration's transaction: each declared parent, resolved to the version it
    names now (by number, by the alias's present target, or the latest); one that names no
    version (yet, or in a form that is not a reference) is kept unresolved."""
    rows = []
    for parent in provenance.get("parents") or []:
        ref = str(parent.get("ref", ""))
        parent_id = _resolve(store, ref)
        rows.append(
            {
                "version_id": version_id,
                "parent_id": None if parent_id == version_id else parent_id,
                "ref": ref,
                "relation": str(parent.get("relation", "derived_from")),
            }
        )
    store.lineage.add(rows)


def _resolve(store: MetadataStore, raw: str) -> int | None:
    try:
        ref = parse_reference(raw)
    except InvalidReference:
        return None
    found = store.versions.resolve(
        namespace_key(ref.namespace), model_key(ref.model), ref.number, ref.alias
    )
    return None if found is None else found.id
