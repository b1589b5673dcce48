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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cairn.client.audit import default_state_file, document_of, load_states
from cairn.client.http import Http
from cairn.domain.audit import checkpoint_signed, entry_leaf_hash, entry_namespace
from cairn.domain.merkle import verify_inclusion
from cairn.domain.names import canonical_key, normalize_name
from cairn.wire import paths

PAGE = 1000


@dataclass
class SliceVerification:
    """What ``verify_slice`` found: ``ok`` only if nothing is in ``problems``."""

    namespace: str
    size: int = 0  # the signed checkpoint the entries were proved against
    root: str = ""
    key_pinned: bool = False  # the checkpoint key matched one a full verify pinned
    entries: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_slice(http: Http, namespace: str, state_file: Path | None = None) -> SliceVerification:
    """Prove every entry of ``namespace``'s slice, up to the latest checkpoint, is in the
    signed log as served."""
    result = SliceVerification(namespace)
    checkpoint = http.json("GET", paths.AUDIT_CHECKPOINT)
    if checkpoint is None:
        return result
    result.size, result.root = checkpoint["size"], checkpoint["root"]
    chain = {k["key_id"]: k["public_key"] for k in http.json("GET", paths.AUDIT_KEYS)["items"]}
    trusted = load_states(state_file or default_state_file()).get(http.url)
    if trusted:
        if chain.get(trusted["key_id"], "").strip() != trusted["public_key"].strip():
            result.problems.append(
                f"you trust the checkpoint key {trusted['key_id']}, and the server's chain of "
                f"keys does not hold it (its keys: {', '.join(chain)})"
            )
            return result
        result.key_pinned = True
    public = chain.get(checkpoint["key_id"])
    if not public or not checkpoint_signed(
        public, checkpoint["size"], checkpoint["root"], checkpoint["signature"]
    ):
        result.problems.append("the latest checkpoint's signature does not verify")
        return result
    own = canonical_key(normalize_name(namespace, kind="namespace"))
    path = paths.namespace_audit_entries(namespace)
    after = -1
    while True:
        page = http.json("GET", path, params={"after": after, "limit": PAGE})["items"]
        for entry in page:
            if entry["index"] >= result.size:
                return result  # placed after the checkpoint: the next one covers it
            _check_entry(http, entry, own, checkpoint, result.problems)
            result.entries += 1
            after = entry["index"]
        if len(page) < PAGE:
            return result


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
