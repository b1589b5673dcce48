"""``cairn audit verify``'s check of the checkpoint keys: each checkpoint verified with the key it
names, and that key trusted only through the chain of rotations recorded in the log, from a key
the verifier already trusts (or was given). See ``cairn.domain.audit_keys`` for the rules.

The rotations are read from the log's own entries, as the recomputed leaves hash them, so the
chain is what the signed roots commit to, not what the server says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cairn.client.http import Http
from cairn.domain.audit import checkpoint_signed
from cairn.domain.audit_keys import Rotation, key_id_of, key_in_force
from cairn.wire import paths

PAGE = 1000


@dataclass(frozen=True, slots=True)
class Chain:
    """The checkpoint keys in log order: the first one, then one per rotation."""

    first: str
    public_keys: dict[str, str]  # key id → PEM
    rotations: list[Rotation]

    def in_force(self, size: int) -> str:
        return key_in_force(self.first, self.rotations, size)


def rotations_from(entries: list[dict[str, Any]], problems: list[str]) -> list[Rotation]:
    """The rotations of the log's ``audit.key.rotate`` entries (already checked against their
    leaves), each with what is wrong with it taken alone."""
    found: list[Rotation] = []
    for entry in entries:
        try:
            rotation = Rotation.from_entry(entry["index"], entry["payload"])
        except ValueError as exc:
            problems.append(str(exc))
            continue
        problems.extend(rotation.problems())
        found.append(rotation)
    return found


def build_chain(
    anchor: tuple[str, str], rotations: list[Rotation], problems: list[str]
) -> Chain | None:
    """The chain of keys the log records, if the ``anchor`` (id, PEM) the verifier trusts is one
    of them. A log without rotations has one key: the anchor."""
    anchor_id, anchor_pem = anchor
    if not rotations:
        return Chain(anchor_id, {anchor_id: anchor_pem}, [])
    first = rotations[0].previous_key_id
    public = {first: rotations[0].previous_public_key}
    previous = first
    for r in rotations:
        if r.previous_key_id != previous:
            problems.append(
                f"the key rotation at entry {r.index} replaces {r.previous_key_id}, "
                f"but the key in force was {previous}"
            )
        public[r.key_id] = r.public_key
        previous = r.key_id
    if public.get(anchor_id, "").strip() != anchor_pem.strip():
        problems.append(
            f"you trust the checkpoint key {anchor_id}, and the log records no rotation from it "
            f"(its keys: {', '.join(public)})"
        )
        return None
    return Chain(first, public, rotations)


def check_checkpoints(
    http: Http,
    chain: Chain,
    size: int,
    root_of: Callable[[int], str],
    problems: list[str],
) -> int:
    """Verify every checkpoint up to ``size`` with the key in force at its size and against
    the recomputed roots; the number checked."""
    sizes: set[int] = set()
    after = 0
    while True:
        params = {"after": after, "limit": PAGE}
        page = http.json("GET", paths.AUDIT_CHECKPOINTS, params=params)["items"]
        for checkpoint in page:
            after = checkpoint["size"]
            if after > size:
                continue
            sizes.add(after)
            _check_one(chain, checkpoint, root_of, problems)
        if len(page) < PAGE:
            break
    for r in chain.rotations:
        if r.index + 1 <= size and r.index + 1 not in sizes:
            problems.append(
                f"no checkpoint signed by {r.previous_key_id} covers the key rotation "
                f"at entry {r.index}: nothing hands over to {r.key_id}"
            )
    return len(sizes)


def _check_one(
    chain: Chain, checkpoint: dict[str, Any], root_of: Callable[[int], str], problems: list[str]
) -> None:
    size, key_id = checkpoint["size"], checkpoint["key_id"]
    expected = chain.in_force(size)
    if key_id != expected:
        unknown = key_id not in chain.public_keys
        problems.append(
            f"checkpoint {size} is signed by {key_id}, "
            + ("a key no rotation from a key you trust announced" if unknown else "a retired key")
            + f"; the key in force at that size is {expected}"
        )
        return
    public = chain.public_keys[key_id]
    if not checkpoint_signed(public, size, checkpoint["root"], checkpoint["signature"]):
        problems.append(f"the signature of checkpoint {size} by {key_id} does not verify")
    elif root_of(size) != checkpoint["root"]:
        problems.append(f"checkpoint {size} signed a root the entries no longer hash to")


def anchor_from(pem: str) -> tuple[str, str]:
    """(id, PEM) of a public key a user gives; ``ValueError`` if it is not Ed25519."""
    return key_id_of(pem), pem
