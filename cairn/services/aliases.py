"""Aliases: named, movable pointers to versions, with the history of every move."""

from __future__ import annotations

from datetime import datetime

from cairn.domain.names import normalize_alias
from cairn.domain.records import AliasEvent, Version
from cairn.domain.references import Reference
from cairn.errors import AliasNotFound, InvalidInput
from cairn.services.auth import Actor, Permission
from cairn.services.resolve import get_model, get_version
from cairn.services.uow import Database

HISTORY_MAX = 10_000


class AliasService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def set(self, actor: Actor, namespace: str, model: str, alias: str, number: int) -> Version:
        """Point ``alias`` at version ``number`` (creating or moving it). Moves of one model's
        aliases are serialised on the model's row lock."""
        alias = normalize_alias(alias)
        with self.db.write(actor, Permission.DEPLOY, namespace) as uow:
            found = get_model(uow.store, namespace, model, lock=True)
            version = get_version(
                uow.store, Reference(found.namespace, found.name, number=number), with_files=False
            )
            previous = uow.store.aliases.current(found.id, alias)
            if previous == version.number:
                return version
            uow.store.aliases.set(found.id, alias, version.id, actor.name, uow.now)
            uow.store.aliases.record(
                found.id,
                alias,
                "set" if previous is None else "move",
                (version.id, version.number),
                previous,
                actor.name,
                uow.now,
            )
            uow.record(
                "alias.set", f"{found.ref}@{alias}", number=version.number, previous=previous
            )
            return get_version(
                uow.store, Reference(found.namespace, found.name, number=number), with_files=False
            )

    def delete(self, actor: Actor, namespace: str, model: str, alias: str) -> None:
        alias = normalize_alias(alias)
        with self.db.write(actor, Permission.DEPLOY, namespace) as uow:
            found = get_model(uow.store, namespace, model, lock=True)
            previous = uow.store.aliases.current(found.id, alias)
            if previous is None:
                raise AliasNotFound(f"no alias @{alias} on {found.ref}")
            uow.store.aliases.delete(found.id, alias)
            uow.store.aliases.record(found.id, alias, "remove", None, previous, actor.name, uow.now)
            uow.record("alias.delete", f"{found.ref}@{alias}", previous=previous)

    def current(self, actor: Actor, namespace: str, model: str) -> dict[str, int]:
        with self.db.read(actor, namespace) as store:
            return store.models.aliases(get_model(store, namespace, model).id)

    def at(self, actor: Actor, namespace: str, model: str, alias: str, when: datetime) -> int:
        """The number of the version ``alias`` named at ``when`` (a timezone-aware time)."""
        name = normalize_alias(alias)
        if when.tzinfo is None:
            raise InvalidInput("give the time with its zone, e.g. 2026-03-03T14:00:00Z")
        with self.db.read(actor, namespace) as store:
            found = get_model(store, namespace, model)
            event = store.aliases.at(found.id, name, when)
        if event is None or event.number is None:
            raise AliasNotFound(f"@{name} named no version of {found.ref} at {when.isoformat()}")
        return event.number

    def history(
        self, actor: Actor, namespace: str, model: str, alias: str | None
    ) -> list[AliasEvent]:
        name = normalize_alias(alias) if alias is not None else None
        with self.db.read(actor, namespace) as store:
            found = get_model(store, namespace, model)
            return store.aliases.history(found.id, name, HISTORY_MAX)
