"""The public keys a namespace trusts to sign its models, and whether it requires signatures."""

from __future__ import annotations

from dataclasses import replace

from cairn.domain.names import normalize_name
from cairn.domain.records import Namespace, NamespaceKey
from cairn.domain.signature_trust import trusted
from cairn.errors import Conflict, InvalidInput, NotFound
from cairn.services.auth import Actor, Permission
from cairn.services.resolve import get_namespace
from cairn.services.uow import Database

KEYS_MAX = 100


class KeyService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, actor: Actor, namespace: str, name: object, public_key: object) -> NamespaceKey:
        """Trust ``public_key`` (ECDSA P-256/384/521, PEM) to sign models of ``namespace``, or
        a certificate (PEM): signatures whose signing certificate chains up to it."""
        key_name = normalize_name(name, kind="key name")
        if not isinstance(public_key, str) or len(public_key) > 16_384:
            raise InvalidInput("a public key is PEM text")
        checked = trusted(public_key)
        with self.db.write(actor, Permission.ADMIN, namespace) as uow:
            ns = get_namespace(uow.store, namespace)
            existing = uow.store.keys.of_namespace(ns.id)
            if any(k.name == key_name for k in existing):
                raise Conflict(f"{ns.name} already has a key named {key_name!r}", name=key_name)
            if any(k.fingerprint == checked.fingerprint for k in existing):
                raise Conflict(
                    f"{ns.name} already trusts this key", fingerprint=checked.fingerprint
                )
            if len(existing) >= KEYS_MAX:
                raise InvalidInput(f"a namespace trusts at most {KEYS_MAX} keys")
            uow.store.keys.add(
                {
                    "namespace_id": ns.id,
                    "name": key_name,
                    "public_key": public_key.strip() + "\n",
                    "fingerprint": checked.fingerprint,
                    "added_by": uow.actor.name,
                    "created_at": uow.now,
                }
            )
            uow.record("key.add", ns.name, name=key_name, fingerprint=checked.fingerprint)
            return next(k for k in uow.store.keys.of_namespace(ns.id) if k.name == key_name)

    def list(self, actor: Actor, namespace: str) -> list[NamespaceKey]:
        with self.db.read(actor, namespace) as store:
            return store.keys.of_namespace(get_namespace(store, namespace).id)

    def remove(self, actor: Actor, namespace: str, name: str) -> None:
        with self.db.write(actor, Permission.ADMIN, namespace) as uow:
            ns = get_namespace(uow.store, namespace)
            if not uow.store.keys.remove(ns.id, name):
                raise NotFound(f"{ns.name} has no key named {name!r}", name=name)
            uow.record("key.remove", ns.name, name=name)

    def require_signatures(self, actor: Actor, namespace: str, required: object) -> Namespace:
        """From now on, refuse versions of ``namespace`` whose signature does not verify."""
        if type(required) is not bool:
            raise InvalidInput('set with {"require_signature": true|false}')
        with self.db.write(actor, Permission.ADMIN, namespace) as uow:
            ns = get_namespace(uow.store, namespace)
            uow.store.namespaces.update(ns.id, require_signature=required)
            uow.record("namespace.update", ns.name, require_signature=required)
        return replace(ns, require_signature=required)
