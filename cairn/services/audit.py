"""The verifiable audit log: placing entries in the Merkle tree, signing checkpoints, proofs.

Mutations append entries in their own transactions (``UnitOfWork.record``) with the hash of
each entry's canonical form. The *sequencer* then gives unplaced entries their leaf index, in
the order it finds them committed, under a lock only sequencers take — so writers never queue
on one another for the log — and signs a checkpoint (size, root) with the server's Ed25519
key. The key lives in a file outside the database: whoever can rewrite rows cannot re-sign
history. Anyone holding the entries recomputes every leaf and root; ``cairn audit verify``
does, and keeps the last checkpoint it trusted to prove the log only grew since.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cairn.domain.audit import b64, checkpoint_text
from cairn.domain.merkle import MerkleTree
from cairn.domain.records import AuditEntry, Checkpoint
from cairn.errors import ConfigError, InvalidInput
from cairn.services.auth import EVERYWHERE, SYSTEM, Actor, Permission, authorize
from cairn.services.uow import Database

BATCH = 10_000  # entries placed per sequencer transaction


@dataclass(frozen=True, slots=True)
class CheckpointKey:
    """The server's checkpoint-signing key, loaded from (or created in) its file."""

    private: Ed25519PrivateKey

    @property
    def public_pem(self) -> str:
        raw = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return raw.decode("ascii")

    @property
    def key_id(self) -> str:
        raw = self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return "ed25519:" + hashlib.sha256(raw).hexdigest()[:32]

    def sign(self, size: int, root_hex: str) -> str:
        return b64(self.private.sign(checkpoint_text(size, root_hex)))

    @classmethod
    def load_or_create(cls, path: Path) -> CheckpointKey:
        """Read the key at ``path``, or create it there (mode 0600) on first start. Several
        processes starting at once agree: the file is created exclusively, once."""
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return cls._read(path)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
            out.flush()
            os.fsync(out.fileno())
        return cls(key)

    @classmethod
    def _read(cls, path: Path) -> CheckpointKey:
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"CAIRN_AUDIT_KEY_FILE: cannot read an Ed25519 key from {path}: {exc}",
                setting="CAIRN_AUDIT_KEY_FILE",
            ) from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError(
                f"CAIRN_AUDIT_KEY_FILE: {path} holds no Ed25519 key",
                setting="CAIRN_AUDIT_KEY_FILE",
            )
        return cls(key)


class AuditService:
    def __init__(self, db: Database, key: CheckpointKey) -> None:
        self.db = db
        self.key = key
        self.tree = MerkleTree(self._committed_leaves)

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
            root = self.tree.root(size).hex()  # leaves below size are committed: see below
            checkpoint = Checkpoint(size, root, self.key.key_id, self.key.sign(size, root), uow.now)
            journal.add_checkpoint(checkpoint)
            return checkpoint

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
        self.sequence()
        with self.db.read(actor, EVERYWHERE, Permission.ADMIN) as store:
            return store.journal.entries(
                subject_prefix=subject,
                actor=who,
                action=action,
                after_index=after,
                limit=max(1, min(limit, 1000)),
            )

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
