"""The checkpoint-signing keys a server process holds: Ed25519 private keys in files outside the
database, so whoever can rewrite rows cannot re-sign history.

``CAIRN_AUDIT_KEY_FILE`` (default ``<data_dir>/audit-key``) holds the key in force. A rotation
writes the new key beside it, as ``audit-key.<32 hex digits of its id>``, before the log
announces it; once the handover checkpoint is signed (``cairn.domain.audit_keys``), the new file
replaces ``audit-key``, and the replaced private key is gone from the disk. Another process
learns of a rotation from the log (the key in force is derived from the entries, under the
sequencer's lock) and reads the new key from one of those two files, so every process must see
the same folder; a process that cannot find the key in force signs nothing and says so in its
log, and the processes that can sign for it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cairn.domain.audit import b64, checkpoint_text
from cairn.errors import ConfigError

log = logging.getLogger("cairn.audit")


@dataclass(frozen=True, slots=True)
class CheckpointKey:
    """One checkpoint-signing key."""

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
        return self.sign_bytes(checkpoint_text(size, root_hex))

    def sign_bytes(self, message: bytes) -> str:
        return b64(self.private.sign(message))

    @classmethod
    def generate(cls) -> CheckpointKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, path: Path) -> CheckpointKey:
        """Read the key at ``path``, or create it there (mode 0600) on first start. Several
        processes starting at once agree: the file is created exclusively, once."""
        key = cls.generate()
        try:
            _write_new(path, key)
        except FileExistsError:
            return cls.read(path)
        return key

    @classmethod
    def read(cls, path: Path) -> CheckpointKey:
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


def _write_new(path: Path, key: CheckpointKey) -> None:
    """Write ``key`` to a file that must not exist yet (0600, synced)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    pem = key.private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
        out.flush()
        os.fsync(out.fileno())


class KeyRing:
    """The keys this process can sign with, by id: the one in ``path`` at start, and those it
    finds there or beside it when the log names them."""

    def __init__(self, path: Path, first: CheckpointKey) -> None:
        self.path = path
        self.first = first  # what the file held at start: the log's first key, on a new log
        self._keys = {first.key_id: first}
        self._missing_said: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path) -> KeyRing:
        return cls(path, CheckpointKey.load_or_create(path))

    def staged_path(self, key_id: str) -> Path:
        return self.path.with_name(f"{self.path.name}.{key_id.removeprefix('ed25519:')}")

    def get(self, key_id: str) -> CheckpointKey | None:
        """The private key ``key_id``, from memory or the files; None (said once in the log)
        if this process cannot find it."""
        with self._lock:
            found = self._keys.get(key_id)
            if found is not None:
                return found
            for path in (self.path, self.staged_path(key_id)):
                try:
                    key = CheckpointKey.read(path)
                except ConfigError:
                    continue
                self._keys[key.key_id] = key
                if key.key_id == key_id:
                    return key
            if key_id not in self._missing_said:
                self._missing_said.add(key_id)
                log.warning(
                    "the audit log is signed by %s, which neither %s nor %s holds: this "
                    "process signs no checkpoints until it can read that key",
                    key_id,
                    self.path,
                    self.staged_path(key_id),
                )
            return None

    def stage(self) -> CheckpointKey:
        """A new key, written beside the key file (not yet in force)."""
        key = CheckpointKey.generate()
        _write_new(self.staged_path(key.key_id), key)
        with self._lock:
            self._keys[key.key_id] = key
        return key

    def settle(self, key_id: str) -> None:
        """Make the key file hold ``key_id``, the key in force once its handover is signed:
        its staged file replaces the key file (the replaced private key leaves the disk)."""
        staged = self.staged_path(key_id)
        try:
            staged.replace(self.path)
        except FileNotFoundError:
            return  # settled already, by this process or another
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        with self._lock:  # the replaced key signs nothing any more
            self._keys = {k: v for k, v in self._keys.items() if k == key_id}

    def discard(self, key: CheckpointKey) -> None:
        """Remove a staged key that the log never announced."""
        self.staged_path(key.key_id).unlink(missing_ok=True)
        with self._lock:
            self._keys.pop(key.key_id, None)
