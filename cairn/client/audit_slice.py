"""Checking one namespace's slice of the audit log: ``cairn audit verify --namespace NS``.

Whoever may read a namespace may read the entries that belong to it, but not the rest of the
log, so the slice is checked entry by entry: each entry is hashed here from its content, must
belong to the namespace by the rule the server applies (``domain.audit.entry_namespace``), and
must be proved, by the server's inclusion proof, to be in the tree whose root the latest
checkpoint signs, with the key that checkpoint names in the server's chain of checkpoint keys.
When a full ``cairn audit verify`` pinned a key, that key must be in the chain. What this
cannot show: that the slice is complete (an entry the server leaves out of the listing is not
noticed), and that the key rotations since the pinned key were endorsed (the rotation entries
are in no slice); a full verify, by a global admin, shows both.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from cairn.client.audit import default_state_file, document_of, load_states
from cairn.client.http import Http
from cairn.client.records import SliceVerification
from cairn.domain.audit import checkpoint_signed, entry_leaf_hash, entry_namespace
from cairn.domain.merkle import verify_inclusion
from cairn.domain.names import canonical_key, normalize_name
from cairn.wire import paths

PAGE = 1000


def verify_slice(http: Http, namespace: str, state_file: Path | None = None) -> SliceVerification:
    """Prove every entry of ``namespace``'s slice, up to the latest checkpoint, is in the
    signed log as served."""
    checkpoint = http.json("GET", paths.AUDIT_CHECKPOINT)
    if checkpoint is None:
        return SliceVerification(namespace)
    problems: list[str] = []
    found = partial(
        SliceVerification, namespace, checkpoint["size"], checkpoint["root"], problems=problems
    )
    chain = {k["key_id"]: k["public_key"] for k in http.json("GET", paths.AUDIT_KEYS)["items"]}
    trusted = load_states(state_file or default_state_file()).get(http.url)
    if trusted and chain.get(trusted["key_id"], "").strip() != trusted["public_key"].strip():
        problems.append(
            f"you trust the checkpoint key {trusted['key_id']}, and the server's chain of "
            f"keys does not hold it (its keys: {', '.join(chain)})"
        )
        return found()
    found = partial(found, key_pinned=bool(trusted))
    public = chain.get(checkpoint["key_id"])
    if not public or not checkpoint_signed(
        public, checkpoint["size"], checkpoint["root"], checkpoint["signature"]
    ):
        problems.append("the latest checkpoint's signature does not verify")
        return found()
    return found(entries=_prove_entries(http, namespace, checkpoint, problems))


def _prove_entries(
    http: Http, namespace: str, checkpoint: dict[str, Any], problems: list[str]
) -> int:
    """Check each entry of the slice below the checkpoint's size; the number checked."""
    own = canonical_key(normalize_name(namespace, kind="namespace"))
    path = paths.namespace_audit_entries(namespace)
    after, checked = -1, 0
    while True:
        page = http.json("GET", path, params={"after": after, "limit": PAGE})["items"]
        for entry in page:
            if entry["index"] >= checkpoint["size"]:
                return checked  # placed after the checkpoint: the next one covers it
            _check_entry(http, entry, own, checkpoint, problems)
            checked += 1
            after = entry["index"]
        if len(page) < PAGE:
            return checked


def _check_entry(
    http: Http, entry: dict[str, Any], own: str, checkpoint: dict[str, Any], problems: list[str]
) -> None:
    index, what = entry["index"], f"entry {entry['index']} ({entry['action']} {entry['subject']})"
    if entry_namespace(entry["action"], entry["subject"], own) != own:
        problems.append(f"{what} is not about this namespace")
    ours = entry_leaf_hash(document_of(entry))
    if ours != entry["leaf_hash"]:
        problems.append(f"{what} no longer matches the hash written with it")
        return
    proof = http.json(
        "GET", paths.INCLUSION_PROOF, params={"index": index, "size": checkpoint["size"]}
    )
    hashes = [bytes.fromhex(h) for h in proof["proof"]]
    leaf, root = bytes.fromhex(ours), bytes.fromhex(checkpoint["root"])
    if proof["leaf_hash"] != ours or not verify_inclusion(
        leaf, index, checkpoint["size"], hashes, root
    ):
        problems.append(f"{what} is not in the log the checkpoint signs")
