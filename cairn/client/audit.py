"""Checking the registry's audit log from the outside: ``cairn audit verify``.

The verifier trusts nothing the server says about hashes. It downloads every entry, recomputes
every leaf from the entry's content and the root from the leaves, and compares with the
signed root. It pins the checkpoint key the first time it sees it and follows the key
rotations the log records from there (``audit_keys``): every checkpoint must verify with the
key in force at its size. Then it proves the log only grew since the checkpoint it trusted
last (kept in a small state file per server): the old root must be the root of the first
entries now, and the server's consistency proof must verify. Any failure says what was found.

With ``records``, it then replays the verified entries and holds every record the API serves
against the state the log's latest entry about it committed to (``audit_records``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import platformdirs

from cairn.client.audit_keys import anchor_from, build_chain, check_checkpoints, rotations_from
from cairn.client.audit_records import check_records
from cairn.client.http import Http
from cairn.client.records import AuditVerification
from cairn.domain.audit import entry_document, entry_leaf_hash
from cairn.domain.audit_keys import ROTATE_ACTION, Rotation
from cairn.domain.merkle import MerkleTree, verify_consistency
from cairn.domain.record_replay import Replay
from cairn.wire import paths

PAGE = 1000


def default_state_file() -> Path:
    return Path(platformdirs.user_config_dir("cairn", appauthor=False)) / "audit-trust.json"


def verify_log(
    http: Http,
    state_file: Path | None = None,
    *,
    records: bool = False,
    trusted_key: str | None = None,
) -> AuditVerification:
    """Verify the server's audit log and, if it holds, remember its checkpoint as trusted;
    with ``records``, then compare every record the API serves with what the log says.
    ``trusted_key`` (PEM) is a checkpoint key to trust instead of the one remembered."""
    path = state_file or default_state_file()
    states = load_states(path)
    trusted = states.get(http.url)
    checkpoint = http.json("GET", paths.AUDIT_CHECKPOINT)
    before = trusted["size"] if trusted else None
    problems: list[str] = []
    if checkpoint is None:
        if trusted:
            problems.append(f"the log is empty, but you trusted {trusted['size']} entries")
        return AuditVerification(trusted_before=before, problems=problems)
    found = partial(AuditVerification, checkpoint["size"], checkpoint["root"], before, problems)
    replay = Replay()
    announced: list[dict[str, Any]] = []

    def each(entry: dict[str, Any]) -> None:
        replay.add(entry)
        if entry["action"] == ROTATE_ACTION:
            announced.append(entry)

    leaves = _recomputed_leaves(http, checkpoint["size"], problems, each)
    if problems:
        return found()
    tree = MerkleTree(lambda start, end: leaves[start:end], memo_min_leaves=1)
    if tree.root(len(leaves)).hex() != checkpoint["root"]:
        problems.append(
            f"the {len(leaves)} entries do not hash to the signed root: the log was rewritten"
        )
    rotations = rotations_from(announced, problems)
    chain = build_chain(_anchor(http, trusted, trusted_key, rotations), rotations, problems)
    if chain is None:
        return found()
    checked = check_checkpoints(
        http, chain, checkpoint["size"], lambda size: tree.root(size).hex(), problems
    )
    found = partial(found, checkpoints=checked, keys=list(chain.public_keys))
    if trusted:
        _check_growth(http, tree, trusted, checkpoint, problems)
    if problems:
        return found()
    in_force = chain.in_force(checkpoint["size"])
    states[http.url] = {
        "key_id": in_force,
        "public_key": chain.public_keys[in_force],
        "size": checkpoint["size"],
        "root": checkpoint["root"],
    }
    _save(path, states)
    return found(records=check_records(http, replay, checkpoint["size"]) if records else None)


def _anchor(
    http: Http, trusted: dict[str, Any] | None, given: str | None, rotations: list[Rotation]
) -> tuple[str, str]:
    """The key trust starts from: the one given, else the one remembered, else (first
    verification) the log's first key."""
    if given is not None:
        return anchor_from(given)
    if trusted:
        return trusted["key_id"], trusted["public_key"]
    if rotations:
        return rotations[0].previous_key_id, rotations[0].previous_public_key
    key = http.json("GET", paths.AUDIT_KEY)
    return key["key_id"], key["public_key"] or ""


def _recomputed_leaves(
    http: Http, size: int, problems: list[str], each: Callable[[dict[str, Any]], None]
) -> list[bytes]:
    """Every entry below ``size``, hashed here from its content and handed to ``each``."""
    leaves: list[bytes] = []
    after = -1
    while len(leaves) < size:
        params = {"after": after, "limit": min(PAGE, size - len(leaves))}
        page = http.json("GET", paths.AUDIT_ENTRIES, params=params)["items"]
        if not page:
            problems.append(f"entries {len(leaves)} to {size - 1} are missing from the log")
            return leaves
        for entry in page:
            index = entry["index"]
            if index != len(leaves):
                problems.append(f"entry {len(leaves)} is missing: the log skips to {index}")
                return leaves
            ours = entry_leaf_hash(document_of(entry))
            if ours != entry["leaf_hash"]:
                problems.append(
                    f"entry {index} ({entry['action']} {entry['subject']}) no longer matches "
                    "the hash written with it: it was changed afterwards"
                )
            leaves.append(bytes.fromhex(ours))
            each(entry)
            after = index
    return leaves[:size]


def _check_growth(
    http: Http,
    tree: MerkleTree,
    trusted: dict[str, Any],
    checkpoint: dict[str, Any],
    problems: list[str],
) -> None:
    old, new = trusted["size"], checkpoint["size"]
    if new < old:
        problems.append(
            f"the log has {new} entries, fewer than the {old} you trusted: "
            "it was rolled back or truncated"
        )
        return
    if tree.root(old).hex() != trusted["root"]:
        problems.append(
            f"the first {old} entries no longer hash to the root you trusted: history was changed"
        )
    proof = http.json("GET", paths.CONSISTENCY_PROOF, params={"old": old, "new": new})
    hashes = [bytes.fromhex(h) for h in proof["proof"]]
    if not verify_consistency(
        old, new, bytes.fromhex(trusted["root"]), bytes.fromhex(checkpoint["root"]), hashes
    ):
        problems.append(f"the server cannot prove that size {new} extends the {old} you trusted")


def document_of(entry: dict[str, Any]) -> dict[str, Any]:
    """The document an entry as the API serves it was hashed from."""
    return entry_document(
        at=datetime.fromisoformat(entry["at"]),
        actor=entry["actor"],
        action=entry["action"],
        subject=entry["subject"],
        payload=entry["payload"],
        request_id=entry["request_id"],
        records=entry.get("records"),
    )


def load_states(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _save(path: Path, states: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(states, indent=2, sort_keys=True))
    temporary.replace(path)
