"""Namespaces and models: create, read, update, list, delete, tag."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from cairn.domain.cursors import decode_int_cursor
from cairn.domain.filters import Node, Target, check_target, parse_filter
from cairn.domain.metadata import (
    CARD_MAX,
    DESCRIPTION_MAX,
    check_required_fields,
    parse_tags,
    parse_text,
)
from cairn.domain.names import (
    canonical_key,
    check_name,
    check_new_name,
    check_tag,
    normalize_name,
)
from cairn.domain.records import Model, Namespace, Page
from cairn.errors import InvalidMetadata, ModelExists, ModelNotEmpty, NamespaceExists
from cairn.services.auth import EVERYWHERE, Actor, Permission, readable
from cairn.services.resolve import get_model, get_namespace, model_key
from cairn.services.uow import Database, UnitOfWork
from cairn.storage.sql.filters import compile_model_filter
from cairn.storage.sql.store import MetadataStore

MODEL_FIELDS = ("description", "card", "owner")


class NamespaceService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, actor: Actor, name: object, description: object = "") -> Namespace:
        name = check_new_name(normalize_name(name, kind="namespace"), kind="namespace")
        description = parse_text(description, "description")
        with self.db.write(actor, Permission.ADMIN, EVERYWHERE) as uow:
            created = uow.store.namespaces.insert(name, canonical_key(name), description, uow.now)
            if created is None:
                raise NamespaceExists(f"namespace {name!r} exists", namespace=name)
            uow.record("namespace.create", name, description=description)
        return created

    def ensure(self, actor: Actor, name: str) -> None:
        """Create ``name`` unless it exists (start-up creates ``default`` this way)."""
        with self.db.read(actor, None) as store:
            if store.namespaces.get(canonical_key(name)):
                return
        with contextlib.suppress(NamespaceExists):  # another process may create it first
            self.create(actor, name)

    def get(self, actor: Actor, name: str) -> Namespace:
        with self.db.read(actor, name) as store:
            return get_namespace(store, name)

    def all(self, actor: Actor) -> list[Namespace]:
        with self.db.read(actor, None) as store:
            return [ns for ns in store.namespaces.list() if actor.may(Permission.READ, ns.name)]

    def set_required_fields(self, actor: Actor, name: str, fields: object) -> Namespace:
        required = check_required_fields(fields)
        with self.db.write(actor, Permission.ADMIN, name) as uow:
            ns = get_namespace(uow.store, name)
            uow.store.namespaces.update(ns.id, required_fields=required)
            uow.record("namespace.update", ns.name, required_fields=required)
        return replace(ns, required_fields=required)


class ModelService:
    def __init__(self, db: Database, page_default: int = 100, page_max: int = 1000) -> None:
        self.db = db
        self.page_default = page_default
        self.page_max = page_max

    def create(
        self, actor: Actor, namespace: str, name: object, fields: Mapping[str, Any]
    ) -> Model:
        values, tags = _model_values(fields, creating=True)
        checked = check_name(name, kind="model")
        with self.db.write(actor, Permission.WRITE, namespace) as uow:
            model_id = create_model(uow, namespace, checked, values)
            for key, value in tags.items():
                uow.store.models.set_tag(model_id, key, value)
            return self._full(uow.store, uow.store.models.get_by_id(model_id))

    def get(self, actor: Actor, namespace: str, name: str) -> Model:
        with self.db.read(actor, namespace) as store:
            return self._full(store, get_model(store, namespace, name))

    def update(self, actor: Actor, namespace: str, name: str, fields: Mapping[str, Any]) -> Model:
        values, tags = _model_values(fields, creating=False)
        with self.db.write(actor, Permission.WRITE, namespace) as uow:
            model = get_model(uow.store, namespace, name, lock=True)
            if values:
                uow.store.models.update(model.id, values, uow.now)
            for key, value in tags.items():
                uow.store.models.set_tag(model.id, key, value)
            uow.record("model.update", model.ref, fields=sorted(values), tags=tags)
            return self._full(uow.store, uow.store.models.get_by_id(model.id))

    def rename(self, actor: Actor, namespace: str, name: str, new_name: object) -> Model:
        """Give a model a new name; its versions, aliases and history stay with it. A name
        that another model holds, or once held (its tombstone), is refused."""
        checked = check_new_name(check_name(new_name, kind="model"), kind="model")
        with self.db.write(actor, Permission.WRITE, namespace) as uow:
            model = get_model(uow.store, namespace, name, lock=True)
            ns = get_namespace(uow.store, namespace)
            key = model_key(checked)
            taken = uow.store.models.find_any(ns.id, key)
            if taken is not None and taken[0] != model.id:
                raise ModelExists(
                    f"model {ns.name}/{checked} exists or existed (names compare as {key!r})",
                    key=key,
                    model=f"{ns.name}/{checked}",
                )
            uow.store.models.rename(model.id, checked, key, uow.now)
            uow.record("model.rename", model.ref, new_name=checked)
            return self._full(uow.store, uow.store.models.get_by_id(model.id))

    def delete(self, actor: Actor, namespace: str, name: str) -> None:
        """Delete an empty model. Its row stays as a tombstone so that, if the name is used
        again, version numbers carry on rather than start over."""
        with self.db.write(actor, Permission.ADMIN, namespace) as uow:
            model = get_model(uow.store, namespace, name, lock=True)
            count = uow.store.models.count_versions(model.id)
            if count:
                raise ModelNotEmpty(
                    f"{model.ref} still has {count} versions: delete them first", versions=count
                )
            uow.store.models.mark_deleted(model.id, uow.now)
            uow.record("model.delete", model.ref)

    def set_tag(self, actor: Actor, namespace: str, name: str, key: str, value: str) -> None:
        key, value = check_tag(key, value)
        with self.db.write(actor, Permission.WRITE, namespace) as uow:
            model = get_model(uow.store, namespace, name)
            uow.store.models.set_tag(model.id, key, value)
            uow.record("model.tag", model.ref, key=key, value=value)

    def delete_tag(self, actor: Actor, namespace: str, name: str, key: str) -> bool:
        key, _ = check_tag(key, "")  # a key no tag can have is refused, not looked up
        with self.db.write(actor, Permission.WRITE, namespace) as uow:
            model = get_model(uow.store, namespace, name)
            removed = uow.store.models.delete_tag(model.id, key)
            if removed:
                uow.record("model.untag", model.ref, key=key)
            return removed

    def page(
        self,
        actor: Actor,
        namespace: str | None,
        filter_text: str | None,
        cursor: str | None,
        limit: int | None,
    ) -> Page[Model]:
        node, after, size = listing_request(
            filter_text, "models", cursor, limit, self.page_default, self.page_max
        )
        return self._matching(actor, namespace, node, after, size)

    def matching(
        self,
        actor: Actor,
        namespace: str | None,
        where: Node | None,
        cursor: str | None,
        limit: int | None,
    ) -> Page[Model]:
        """``page`` with a filter tree built by the caller (``cairn.domain.filters``)."""
        size = clamp(limit, self.page_default, self.page_max)
        return self._matching(actor, namespace, where, decode_int_cursor(cursor), size)

    def _matching(
        self, actor: Actor, namespace: str | None, node: Node | None, after: int | None, size: int
    ) -> Page[Model]:
        with self.db.read(actor, namespace) as store:
            where = compile_model_filter(node) if node is not None else None
            ns_id = get_namespace(store, namespace).id if namespace is not None else None
            rows = store.models.page(where, after, size + 1, namespace_id=ns_id)
            page = Page.from_rows(rows, size, lambda m: m.id)
            visible = readable(actor, page.items, lambda m: m.namespace)
            return Page(self._with_extras(store, visible), page.next_cursor)

    def _full(self, store: MetadataStore, model: Model) -> Model:
        return self._with_extras(store, [model])[0]

    @staticmethod
    def _with_extras(store: MetadataStore, items: list[Model]) -> list[Model]:
        ids = [m.id for m in items]
        if not ids:
            return []
        tags = store.models.tags(ids)
        latest = store.models.latest_numbers(ids)
        named = store.models.aliases_of(ids)
        return [
            replace(m, tags=tags[m.id], latest_number=latest.get(m.id), aliases=named.get(m.id, {}))
            for m in items
        ]


def create_model(uow: UnitOfWork, namespace: str, name: str, values: Mapping[str, Any]) -> int:
    """Create a model (or revive its tombstone) inside ``uow``; ``ModelExists`` if it is live,
    also when a concurrent transaction created it first."""
    check_new_name(name, kind="model")
    ns = get_namespace(uow.store, namespace)
    key = model_key(name)
    full = {"name": name, "key": key, **{f: values.get(f, "") for f in MODEL_FIELDS}}
    model_id = uow.store.models.insert(ns.id, full, uow.now)
    if model_id is None:
        found = uow.store.models.find_any(ns.id, key)
        if found is None or not found[1] or not uow.store.models.revive(found[0], full, uow.now):
            raise ModelExists(
                f"model {ns.name}/{name} exists (names compare as {key!r})",
                key=key,
                model=f"{ns.name}/{name}",
            )
        model_id = found[0]
    uow.record("model.create", f"{ns.name}/{name}", **{f: full[f] for f in MODEL_FIELDS})
    return model_id


def _model_values(
    fields: Mapping[str, Any], *, creating: bool
) -> tuple[dict[str, str], dict[str, str]]:
    if not isinstance(fields, Mapping):
        raise InvalidMetadata("a model's fields are an object")
    unknown = set(fields) - {*MODEL_FIELDS, "tags", "name"}
    if unknown:
        raise InvalidMetadata(f"unknown model fields: {', '.join(sorted(unknown))}")
    values = {
        f: parse_text(fields[f], f, CARD_MAX if f == "card" else DESCRIPTION_MAX)
        for f in MODEL_FIELDS
        if f in fields and (creating or fields[f] is not None)
    }
    return values, parse_tags(fields.get("tags"))


def listing_request(
    filter_text: str | None,
    target: Target,
    cursor: str | None,
    limit: int | None,
    default: int,
    maximum: int,
) -> tuple[Node | None, int | None, int]:
    """A listing's filter (checked for ``target``), the key its cursor holds, its page size."""
    node = parse_filter(filter_text)
    if node is not None:
        check_target(node, target)
    return node, decode_int_cursor(cursor), clamp(limit, default, maximum)


def clamp(limit: int | None, default: int, maximum: int) -> int:
    """Page sizes are clamped into [1, maximum], not refused."""
    if limit is None:
        return default
    return max(1, min(limit, maximum))
