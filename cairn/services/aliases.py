"""Aliases: named, movable pointers to versions, with the history of every move."""

from __future__ import annotations

from datetime import datetime

from cairn.domain.names import alias_key, check_alias, check_new_name
from cairn.domain.records import AliasEvent, Model, Version
from cairn.domain.references import Reference
from cairn.errors import AliasNotFound, InvalidInput, PolicyViolation
from cairn.services.auth import Actor, Permission
from cairn.services.gates import check_override, enforce
from cairn.services.policies import policy_for
from cairn.services.resolve import get_model, get_version
from cairn.services.uow import Database, UnitOfWork

HISTORY_MAX = 10_000


class AliasService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def set(
        self,
        actor: Actor,
        namespace: str,
        model: str,
        alias: str,
        number: int,
        override: str | None = None,
    ) -> Version:
        """Point ``alias`` at version ``number`` (creating or moving it). Moves of one model's
        aliases are serialised on the model's row lock. A protected alias (see the policy) only
        names a version in the state it is bound to; no alias names a blocked version unless
        ``override`` (an admin's reason, audited)."""
        alias = check_alias(alias)
        override = check_override(override)
        with self.db.write(actor, Permission.DEPLOY, namespace) as uow:
            found = get_model(uow.store, namespace, model, lock=True)
            version = get_version(
                uow.store, Reference(found.namespace, found.name, number=number), with_files=False
            )
            check_protected(uow, found, alias, version, override)
            move_alias(uow, found, alias, version)
            return get_version(
                uow.store, Reference(found.namespace, found.name, number=number), with_files=False
            )

    def delete(self, actor: Actor, namespace: str, model: str, alias: str) -> None:
        alias = check_alias(alias)
        with self.db.write(actor, Permission.DEPLOY, namespace) as uow:
            found = get_model(uow.store, namespace, model, lock=True)
            previous = uow.store.aliases.current(found.id, alias)
            if previous is None:
                raise AliasNotFound(f"no alias @{alias} on {found.ref}")
            remove_alias(uow, found, alias, previous)

    def current(self, actor: Actor, namespace: str, model: str) -> dict[str, int]:
        with self.db.read(actor, namespace) as store:
            return store.models.aliases(get_model(store, namespace, model).id)

    def at(self, actor: Actor, namespace: str, model: str, alias: str, when: datetime) -> int:
        """The number of the version ``alias`` named at ``when`` (a timezone-aware time)."""
        name = check_alias(alias)
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
        name = check_alias(alias) if alias is not None else None
        with self.db.read(actor, namespace) as store:
            found = get_model(store, namespace, model)
            return store.aliases.history(found.id, name, HISTORY_MAX)


def check_protected(
    uow: UnitOfWork, model: Model, alias: str, version: Version, override: str | None = None
) -> None:
    """Refuse to point a protected alias at a version outside the state the policy binds, and
    any alias at a blocked version unless ``override`` (recorded; see ``services.gates``)."""
    bound = policy_for(uow.store, model).protected_aliases.get(alias_key(alias))
    if bound is not None and version.state != bound:
        raise PolicyViolation(
            f"@{alias} is protected: it names only versions in {bound}, and {version.ref} is "
            f"{version.state}",
            alias=alias,
            required_state=bound,
            state=version.state,
        )
    enforce(uow, version, f"alias @{alias}", override)


def move_alias(
    uow: UnitOfWork, model: Model, alias: str, version: Version, action: str | None = None
) -> int | None:
    """Point ``alias`` at ``version`` inside ``uow`` (history and audit included); the number
    it named before, if any. ``action`` names the move in the history (``rollback``); by
    default ``set`` or ``move``. A moved alias keeps the spelling it was made with."""
    alias = uow.store.aliases.spelled(model.id, alias) or alias
    previous = uow.store.aliases.current(model.id, alias)
    if previous == version.number:
        return previous
    if previous is None:
        check_new_name(alias, kind="alias")
    uow.store.aliases.set(model.id, alias, version.id, uow.actor.name, uow.now)
    uow.store.aliases.record(
        model.id,
        alias,
        action or ("set" if previous is None else "move"),
        (version.id, version.number),
        previous,
        uow.actor.name,
        uow.now,
    )
    uow.record("alias.set", f"{model.ref}@{alias}", number=version.number, previous=previous)
    return previous


def remove_alias(uow: UnitOfWork, model: Model, alias: str, previous: int) -> None:
    alias = uow.store.aliases.spelled(model.id, alias) or alias
    uow.store.aliases.delete(model.id, alias)
    uow.store.aliases.record(model.id, alias, "remove", None, previous, uow.actor.name, uow.now)
    uow.record("alias.delete", f"{model.ref}@{alias}", previous=previous)
