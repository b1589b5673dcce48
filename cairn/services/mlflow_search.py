"""MLflow's searches on Cairn's registry: registered models, model versions, logged models.

A search's filter is read in MLflow's grammar and turned into Cairn's filter tree
(``cairn.domain.mlflow_filters``); its ``order_by`` and page token follow
``cairn.domain.mlflow_paging``. No filter is ever written as text.

- Registered models are sorted here (by name unless ``order_by`` says), so every match is
  read, up to ``MODEL_MATCHES_MAX`` (more: a 400 asking for a narrower filter).
- Versions come newest first, paged on Cairn's own cursor. In another ``order_by`` they are
  sorted here, which takes at most ``VERSION_MATCHES_MAX`` matches (more: a 400, never a
  silently short answer). ``run_id`` and ``source_path``, which Cairn keeps in a version's
  provenance, are checked on each version read (residual clauses).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from cairn.domain.filters import Compare, Field, Node
from cairn.domain.mlflow_filters import Clause, matches, parse_mlflow_filter, to_tree
from cairn.domain.mlflow_paging import (
    cursor_token,
    offset_token,
    ordered,
    page_of,
    page_size,
    parse_order,
    token_cursor,
    token_offset,
)
from cairn.domain.records import Model, Version
from cairn.domain.tracking import LoggedModel, plain_text
from cairn.errors import InvalidInput
from cairn.services.auth import Actor
from cairn.services.mlflow_models import (
    MlflowModels,
    RegisteredModel,
    version_run_id,
    version_source,
)
from cairn.services.tracking import TrackingService
from cairn.services.versions import VersionService

T = TypeVar("T")
MODEL_PAGE_MAX = 1000  # the largest page of registered models
MODEL_MATCHES_MAX = 10_000  # the most registered models a search sorts
VERSION_MATCHES_MAX = 10_000  # the largest page of versions, and the most a search sorts
LOGGED_MODEL_PAGE_MAX = 1000
_MODEL_FIELDS = frozenset({"name", "tag"})
_VERSION_FIELDS = frozenset({"name", "tag", "run_id", "source_path", "version_number"})
_MODEL_ORDER = {
    "name": lambda m: m.name,
    "creation_timestamp": lambda m: m.created_at,
    "last_updated_timestamp": lambda m: m.updated_at,
}
_VERSION_ORDER = {
    "name": lambda v: v.model,
    "version_number": lambda v: v.number,
    "creation_timestamp": lambda v: v.created_at,
    "last_updated_timestamp": lambda v: v.updated_at,
}


@dataclass(frozen=True, slots=True)
class Search:
    """One MLflow search as its client asks for it."""

    filter: str | None = None
    max_results: int | None = None
    order_by: tuple[str, ...] = ()
    page_token: str | None = None


@dataclass(frozen=True, slots=True)
class Found(Generic[T]):
    """A page of a search, and the token of the next page (``None`` on the last)."""

    items: list[T] = field(default_factory=list)
    next_page_token: str | None = None


class MlflowSearch:
    def __init__(
        self, mlflow: MlflowModels, versions: VersionService, tracking: TrackingService
    ) -> None:
        self.mlflow = mlflow
        self.namespace = mlflow.namespace
        self.versions = versions
        self.tracking = tracking

    def registered_models(self, actor: Actor, search: Search) -> Found[RegisteredModel]:
        where = to_tree(parse_mlflow_filter(search.filter, _MODEL_FIELDS))
        order = [*parse_order(search.order_by, _MODEL_ORDER), (_MODEL_ORDER["name"], False)]
        size = page_size(search.max_results, 100, MODEL_PAGE_MAX)
        offset = token_offset(search.page_token)
        chunk, token = page_of(ordered(list(self._models(actor, where)), order), size, offset)
        return Found(self.mlflow.registered_of(actor, chunk), token)

    def model_versions(self, actor: Actor, search: Search) -> Found[Version]:
        clauses = parse_mlflow_filter(search.filter, _VERSION_FIELDS)
        where = to_tree(clauses, Compare(Field("namespace"), "=", self.namespace))
        size = page_size(search.max_results, VERSION_MATCHES_MAX, VERSION_MATCHES_MAX)
        if not search.order_by:
            return self._newest_first(actor, where, clauses, size, search.page_token)
        order = parse_order(search.order_by, _VERSION_ORDER)
        offset = token_offset(search.page_token)
        found: list[Version] = []
        for version in self._versions(actor, where, clauses):
            if len(found) == VERSION_MATCHES_MAX:
                raise InvalidInput(
                    f"more than {VERSION_MATCHES_MAX} versions match: narrow the filter, or "
                    "leave out order_by to page through all of them newest first"
                )
            found.append(version)
        return Found(*page_of(ordered(found, order), size, offset))

    def logged_models(
        self, actor: Actor, experiment_ids: list[int], search: Search
    ) -> Found[LoggedModel]:
        """Logged models of some experiments, newest first, optionally ``name = '…'``."""
        clauses = parse_mlflow_filter(search.filter, frozenset())
        if any(c.field != "name" or c.op != "=" for c in clauses):
            raise InvalidInput("Cairn filters logged models by name = '…' only")
        name = plain_text(clauses[-1].value, "a model name") if clauses else None
        size = page_size(search.max_results, 100, LOGGED_MODEL_PAGE_MAX)
        offset = token_offset(search.page_token)
        found = self.tracking.search_logged_models(actor, experiment_ids, name, offset, size + 1)
        return Found(found[:size], offset_token(offset + size) if len(found) > size else None)

    def _models(self, actor: Actor, where: Node | None) -> Iterator[Model]:
        cursor: str | None = None
        read = 0
        while True:
            page = self.mlflow.models.matching(actor, self.namespace, where, cursor, None)
            yield from page.items
            read += len(page.items)
            if page.next_cursor is None:
                return
            if read >= MODEL_MATCHES_MAX:
                raise InvalidInput(
                    f"more than {MODEL_MATCHES_MAX} registered models match: narrow the filter"
                )
            cursor = page.next_cursor

    def _versions(
        self, actor: Actor, where: Node | None, clauses: list[Clause]
    ) -> Iterator[Version]:
        """Every match, newest first."""
        cursor: str | None = None
        while True:
            page = self.versions.matching(actor, where, cursor, self.versions.page_max)
            yield from (v for v in page.items if _residual_hold(clauses, v))
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def _newest_first(
        self,
        actor: Actor,
        where: Node | None,
        clauses: list[Clause],
        size: int,
        page_token: str | None,
    ) -> Found[Version]:
        """One page of ``size`` matches in Cairn's order, and the token of the next (if any):
        Cairn's cursor, and how many matches of that Cairn page were sent already."""
        cursor, skip = token_cursor(page_token)
        out: list[Version] = []
        while True:
            page = self.versions.matching(actor, where, cursor, self.versions.page_max)
            matching = [v for v in page.items if _residual_hold(clauses, v)]
            taken = matching[skip : skip + size - len(out)]
            out.extend(taken)
            if skip + len(taken) < len(matching):  # this page has more: go on inside it
                return Found(out, cursor_token(cursor, skip + len(taken)))
            if page.next_cursor is None:
                return Found(out)
            cursor, skip = page.next_cursor, 0
            if len(out) == size:
                return Found(out, cursor_token(cursor, 0))


def _residual_hold(clauses: list[Clause], v: Version) -> bool:
    return matches(clauses, {"run_id": version_run_id(v), "source_path": version_source(v)})
