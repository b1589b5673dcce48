"""The verifiable audit log: placing entries in the Merkle tree, signing checkpoints, proofs.

Mutations append entries in their own transactions (``UnitOfWork.record``) with the hash of
each entry's canonical form. The *sequencer* then gives unplaced entries their leaf index, in
the order it finds them committed, under a lock only sequencers take — so writers never queue
on one another for the log — and signs a checkpoint (size, root) with the Ed25519 key in
force. The keys live in files outside the database (``audit_keys``): whoever can rewrite rows
cannot re-sign history. The key in force is the log's own word: the first checkpoint's key,
then each key a rotation entry announced (``cairn.domain.audit_keys``), so every process signs
with the same key or not at all. Anyone holding the entries recomputes every leaf and root;
``cairn audit verify`` does, checks each checkpoint with the key the chain of rotations puts
in force at its size, and keeps the last checkpoint it trusted to prove the log only grew.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from cairn.domain.audit_keys import ROTATE_ACTION, Rotation, key_in_force, rotation_text
from cairn.domain.jsonsafe import check_storable
from cairn.domain.merkle import MerkleTree
from cairn.domain.records import AuditEntry, Checkpoint
from cairn.domain.references import Reference
from cairn.errors import ConfigError, Conflict, InvalidInput, NotFound
from cairn.services.audit_keys import CheckpointKey, KeyRing
from cairn.services.auth import EVERYWHERE, SYSTEM, Actor, Permission, authorize
from cairn.services.resolve import get_namespace, get_version, namespace_key
from cairn.services.uow import Database, UnitOfWork
from cairn.storage.sql.journal import JournalRows

BATCH = 10_000  # entries placed per sequencer transaction
log = logging.getLogger("cairn.audit")


__all__ = ["AuditService", "CheckpointKey", "KeyRing"]


class AuditService:
    def __init__(self, db: Database, keys: KeyRing) -> None:
        self.db = db
        self.keys = keys
        self.tree = MerkleTree(self._committed_leaves)

    @property
    def key(self) -> KeyRing:
        """``keys``, by its name from before rotation, which code building a ``Services`` from
        another's still uses."""
        return self.keys

    # ------------------------------------------------------------------ sequencing
    def sequence(self) -> Checkpoint | None:
        """Place every unplaced entry and sign a checkpoint of the new size; the latest
        checkpoint (``None`` while the log is empty)."""
        with self.db.read_unchecked() as store:  # the usual case: nothing new, no write lock
            latest = store.journal.latest_checkpoint()
            if not store.journal.unplaced(1):
                size = store.journal.size()
                if size == 0 or (latest is not None and latest.size >= size):
                    return latest
        while self._place_batch() == BATCH:
            pass
        with self.db.write(SYSTEM, Permission.ADMIN, EVERYWHERE) as uow:
            journal = uow.store.journal
            journal.lock_sequencer()
            latest = journal.latest_checkpoint()
            size = journal.size()
            if size == 0 or (latest is not None and latest.size >= size):
                return latest
            latest, next_key = self._sign_up_to(uow, latest, size)
        self.keys.settle(next_key)  # a rotation's handover is committed: its key takes the file
        return latest

    def _sign_up_to(
        self, uow: UnitOfWork, latest: Checkpoint | None, size: int
    ) -> tuple[Checkpoint | None, str]:
        """Sign checkpoints up to ``size``, each with the key in force at its size: first the
        handover of every rotation placed since ``latest``, signed by the key it replaces. Stops
        where this process lacks the key. The latest checkpoint and the key of the next one."""
        journal = uow.store.journal
        start = latest.size if latest else 0
        first = latest.key_id if latest else self.keys.first.key_id
        rotations = _rotations_since(journal, start)
        cuts = sorted({r.index + 1 for r in rotations if start < r.index + 1 < size} | {size})
        for cut in cuts:
            key = self.keys.get(key_in_force(first, rotations, cut))
            if key is None:
                break
            root = self.tree.root(cut).hex()  # leaves below size are committed: see below
            latest = Checkpoint(cut, root, key.key_id, key.sign(cut, root), uow.now)
            journal.add_checkpoint(latest)
        done = latest.size if latest else 0
        return latest, key_in_force(first, rotations, done + 1)

    def _place_batch(self) -> int:
        # Placing commits before any root is computed, so the tree's memo only ever sees
        # committed leaves (a rolled-back placement would leave wrong hashes in it).
        with self.db.write(SYSTEM, Permission.ADMIN, EVERYWHERE) as uow:
            journal = uow.store.journal
            journal.lock_sequencer()
            unplaced = journal.unplaced(BATCH)
            journal.place(unplaced, journal.size())
            return len(unplaced)

    def _committed_leaves(self, start: int, end: int) -> list[bytes]:
        with self.db.read_unchecked() as store:
            return store.journal.leaf_hashes(start, end)

    # ------------------------------------------------------------------ reading
    def entries(
        self,
        actor: Actor,
        *,
        subject: str | None = None,
        who: str | None = None,
        action: str | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Entries in log order (global admins), after leaf index ``after``, filtered."""
        authorize(actor, Permission.ADMIN, EVERYWHERE)
        _check_filters(subject, who, action)
        self.sequence()
        with self.db.read(actor, EVERYWHERE, Permission.ADMIN) as store:
            return store.journal.entries(
                subject_prefix=subject,
                actor=who,
                action=action,
                after_index=after,
                limit=max(1, min(limit, 1000)),
            )

    def namespace_entries(
        self,
        actor: Actor,
        namespace: str,
        *,
        subject: str | None = None,
        who: str | None = None,
        action: str | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """The slice of the log that belongs to ``namespace``, in log order, after leaf index
        ``after``: whoever may read the namespace may read what happened in it, and prove each
        entry is in the signed log (``inclusion_proof``)."""
        authorize(actor, Permission.READ, namespace)
        _check_filters(subject, who, action)
        self.sequence()
        with self.db.read(actor, namespace) as store:
            ns = get_namespace(store, namespace)
            return store.journal.entries(
                namespace=namespace_key(ns.name),
                subject_prefix=subject,
                actor=who,
                action=action,
                after_index=after,
                limit=max(1, min(limit, 1000)),
            )

    def entry(self, actor: Actor, index: int) -> AuditEntry:
        """The placed entry at leaf ``index``, for a global admin or a reader of the namespace
        it belongs to (the same entries ``entries`` and ``namespace_entries`` list)."""
        authorize(actor, Permission.READ, None)
        self.sequence()
        with self.db.read(actor, None) as store:
            found = store.journal.entry_at(index)
            owner = store.journal.namespace_at(index)
        if found is None:
            raise NotFound(f"the audit log has no entry {index}", index=index)
        if not actor.may(Permission.ADMIN, EVERYWHERE):
            authorize(actor, Permission.READ, owner or EVERYWHERE)
        return found

    def version_entries(
        self,
        actor: Actor,
        ref: Reference,
        *,
        actions: Sequence[str] | None = None,
        limit: int = 20,
    ) -> list[AuditEntry]:
        """The newest entries about one version (its subject exactly: ``ns/m:1`` never
        matches ``ns/m:12``), newest first; ``actions`` keeps only those. Readers of the
        namespace may read them, as ``namespace_entries``."""
        authorize(actor, Permission.READ, ref.namespace)
        for action in actions or ():
            check_storable(action, "action")
        self.sequence()
        with self.db.read(actor, ref.namespace) as store:
            version = get_version(store, ref, with_files=False)
            return store.journal.newest_about(
                namespace_key(version.namespace),
                version.ref,
                actions,
                max(1, min(limit, 1000)),
            )

    def recent(self, actor: Actor, limit: int = 20) -> list[AuditEntry]:
        """The newest entries ``actor`` may read, newest first: the whole log for a global
        admin, else the entries of the namespaces it reads (none: nothing, not a refusal)."""
        self.sequence()
        with self.db.read_unchecked() as store:
            if actor.may(Permission.ADMIN, EVERYWHERE):
                keys = None
            else:
                keys = [
                    namespace_key(ns.name)
                    for ns in store.namespaces.list()
                    if actor.may(Permission.READ, ns.name)
                ]
            return store.journal.newest(keys, max(1, min(limit, 1000)))

    def checkpoint(self, actor: Actor) -> Checkpoint | None:
        authorize(actor, Permission.READ, None)
        return self.sequence()

    def inclusion_proof(self, actor: Actor, index: int, size: int) -> tuple[str, list[str]]:
        """The leaf hash at ``index`` and its inclusion proof in the tree of ``size`` (a size
        some checkpoint signed)."""
        self._check_size(actor, size)
        if not 0 <= index < size:
            raise InvalidInput(f"an index in a log of {size} entries is 0 to {size - 1}")
        with self.db.read(actor, None) as store:
            entry = store.journal.entry_at(index)
        assert entry is not None  # below a signed size, every index is placed
        return entry.leaf_hash, [h.hex() for h in self.tree.inclusion_proof(index, size)]

    def consistency_proof(self, actor: Actor, old_size: int, new_size: int) -> list[str]:
        """Proof that the tree of ``new_size`` extends the tree of ``old_size``."""
        self._check_size(actor, new_size)
        if not 0 <= old_size <= new_size:
            raise InvalidInput("a consistency proof goes from a smaller size to a larger one")
        return [h.hex() for h in self.tree.consistency_proof(old_size, new_size)]

    def _check_size(self, actor: Actor, size: int) -> None:
        authorize(actor, Permission.READ, None)
        latest = self.sequence()
        if latest is None or not 1 <= size <= latest.size:
            signed = latest.size if latest else 0
            raise InvalidInput(f"proofs are for sizes 1 to {signed}, the signed size", size=size)

    # ------------------------------------------------------------------ keys
    def rotate_key(self, actor: Actor) -> Rotation:
        """Make a new checkpoint key and announce it in the log, endorsed by the key in force,
        which signs the handover checkpoint; later checkpoints are signed by the new key."""
        authorize(actor, Permission.ADMIN, EVERYWHERE)
        self.sequence()
        new = self.keys.stage()
        try:
            with self.db.write(actor, Permission.ADMIN, EVERYWHERE) as uow:
                journal = uow.store.journal
                journal.lock_sequencer()
                old = self._key_for_rotation(journal)
                text = rotation_text(old.key_id, new.key_id, new.public_pem)
                announced = Rotation(
                    -1, old.key_id, old.public_pem, new.key_id, new.public_pem, old.sign_bytes(text)
                )
                uow.record(ROTATE_ACTION, "audit", event=False, **announced.payload())
        except BaseException:
            self.keys.discard(new)
            raise
        self.sequence()  # places the entry and signs its handover: then the new key settles
        with self.db.read_unchecked() as store:
            rotation = _rotations_since(store.journal, 0, new.key_id)[-1]
        return rotation

    def _key_for_rotation(self, journal: JournalRows) -> CheckpointKey:
        """The key in force, which this process must hold to endorse its successor; Conflict
        while an earlier rotation still waits for its handover."""
        while unplaced := journal.unplaced(BATCH):
            journal.place(unplaced, journal.size())
        latest = journal.latest_checkpoint()
        start = latest.size if latest else 0
        rotations = _rotations_since(journal, start)
        if any(r.index + 1 > start for r in rotations):
            raise Conflict("another key rotation is being handed over; rotate again in a moment")
        first = latest.key_id if latest else self.keys.first.key_id
        key_id = key_in_force(first, rotations, start + 1)
        key = self.keys.get(key_id)
        if key is None:
            raise ConfigError(
                f"CAIRN_AUDIT_KEY_FILE: this server process cannot read {key_id}, the key in "
                "force, so it cannot endorse a new one",
                setting="CAIRN_AUDIT_KEY_FILE",
            )
        return key

    def key_chain(self, actor: Actor) -> list[dict[str, str | int | None]]:
        """Every checkpoint key, oldest first, with the rotation that announced it (the first
        key, announced by none, is the one the first checkpoint names)."""
        authorize(actor, Permission.READ, None)
        latest = self.sequence()
        with self.db.read_unchecked() as store:
            rotations = _rotations_since(store.journal, 0)
        chain: list[dict[str, str | int | None]] = []
        if rotations:
            first = rotations[0]
            chain.append(_key_item(first.previous_key_id, first.previous_public_key))
        elif latest is None:  # nothing signed yet: this process's key will sign first
            chain.append(_key_item(self.keys.first.key_id, self.keys.first.public_pem))
        else:  # one key so far; its public half is known here if this process holds it
            key = self.keys.get(latest.key_id)
            chain.append(_key_item(latest.key_id, key.public_pem if key else None))
        for r in rotations:
            chain.append(
                _key_item(r.key_id, r.public_key, r.previous_key_id, r.index, r.endorsement)
            )
        return chain

    def checkpoints(self, actor: Actor, after: int, limit: int) -> list[Checkpoint]:
        """Signed checkpoints of sizes above ``after``, smallest first."""
        authorize(actor, Permission.READ, None)
        self.sequence()
        with self.db.read_unchecked() as store:
            return store.journal.checkpoints(after, max(1, min(limit, 1000)))


def _rotations_since(journal: JournalRows, start: int, key_id: str | None = None) -> list[Rotation]:
    """The rotations whose entries are at ``start - 1`` or later (their handover, of size
    index + 1, at ``start`` or later), in log order; only the one of ``key_id`` if given."""
    found: list[Rotation] = []
    after = start - 2
    while True:
        page = journal.entries(action=ROTATE_ACTION, after_index=after, limit=1000)
        for entry in page:
            assert entry.leaf_index is not None  # entries() reads placed entries only
            after = entry.leaf_index
            try:
                rotation = Rotation.from_entry(entry.leaf_index, entry.payload)
            except ValueError:
                rotation = None
            if rotation is None or rotation.problems():
                # Not written by Cairn (a database edit): verification names it; signing
                # follows only rotations the key in force endorsed.
                log.warning("audit entry %s is not a valid key rotation", entry.leaf_index)
                continue
            found.append(rotation)
        if len(page) < 1000:
            break
    return [r for r in found if key_id is None or r.key_id == key_id]


def _key_item(
    key_id: str,
    public_key: str | None,
    previous: str | None = None,
    index: int | None = None,
    endorsement: str | None = None,
) -> dict[str, str | int | None]:
    return {
        "key_id": key_id,
        "public_key": public_key,
        "previous_key_id": previous,
        "index": index,
        "endorsement": endorsement,
    }


def _check_filters(subject: str | None, who: str | None, action: str | None) -> None:
    """Filters a database could not compare (NUL, lone surrogates) are refused, not sent."""
    for text, what in ((subject, "subject"), (who, "actor_name"), (action, "action")):
        if text is not None:
            check_storable(text, what)
