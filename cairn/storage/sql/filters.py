"""Filters (``cairn.domain.filters``) compiled to SQLAlchemy Core, with bound parameters only.

The version filter is written for ``versions ⋈ models ⋈ namespaces`` (the search query's
FROM), the model filter for ``models ⋈ namespaces``. The language's meaning is set in the
domain module; here it is kept on both dialects:

- Every leaf compiles to an expression that is never NULL, so ``NOT``, ``AND`` and ``OR``
  need no three-valued logic: columns are NOT NULL, tags and aliases are ``EXISTS``, and a
  metric or param comparison is ``coalesce(..., false)`` (an absent key compares false).
- ``!=``, ``NOT IN`` and ``NOT LIKE`` compile to ``NOT`` of the positive comparison.
- Tag comparisons are ``EXISTS`` over the tag table by key and value, which the
  ``(key, value, ...)`` index serves.
- ``LIKE`` folds ASCII letters only, on both sides, with ``ESCAPE '\\'``.
- Names and aliases keep their spelling (``cairn.domain.names``) and compare without regard
  to the case of ASCII letters, as they are unique; an ``exact`` comparison (MLflow's ``=``
  and ``LIKE``) compares them, and ``LIKE`` patterns, as written (SQLite's ``LIKE`` ignores
  case, so there it is a ``GLOB``).
"""

from __future__ import annotations

import operator
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Float,
    Table,
    Text,
    and_,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement

from cairn.domain.filters import And, Compare, Field, Has, Node, Not, Or, Value, check_target
from cairn.storage.sql.tables import aliases, model_tags, models, namespaces, version_tags, versions

__all__ = ["compile_model_filter", "compile_version_filter"]


def compile_version_filter(node: Node) -> ColumnElement[bool]:
    """A WHERE clause for versions joined to their model and namespace."""
    check_target(node, "versions")
    return _compile(node, _VERSIONS)


def compile_model_filter(node: Node) -> ColumnElement[bool]:
    """A WHERE clause for models joined to their namespace."""
    check_target(node, "models")
    return _compile(node, _MODELS)


@dataclass(frozen=True)
class _Scope:
    columns: Mapping[str, ColumnElement[Any]]
    tags: Table
    tag_owner: ColumnElement[int]  # the tag table's reference to the filtered row
    row_id: ColumnElement[int]


_VERSIONS = _Scope(
    columns={
        "name": models.c.name,
        "namespace": namespaces.c.name,
        # Compared as 64-bit: the column is 32-bit, and PostgreSQL refuses to bind a larger
        # literal to it, where the filter only means "no version has that number".
        "number": type_coerce(versions.c.number, BigInteger),
        "state": versions.c.state,
        "author": versions.c.author,
        "description": versions.c.description,
        "owner": models.c.owner,
        "created": versions.c.created_at,
        "updated": versions.c.updated_at,
    },
    tags=version_tags,
    tag_owner=version_tags.c.version_id,
    row_id=versions.c.id,
)
_MODELS = _Scope(
    columns={
        "name": models.c.name,
        "namespace": namespaces.c.name,
        "owner": models.c.owner,
        "description": models.c.description,
        "created": models.c.created_at,
        "updated": models.c.updated_at,
    },
    tags=model_tags,
    tag_owner=model_tags.c.model_id,
    row_id=models.c.id,
)
# Compared lower-cased, unless exact (cairn.domain.names).
_LOWERED = frozenset({"name", "namespace", "alias"})
_NEGATED = {"!=": "=", "not in": "in", "not like": "like"}
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_FOLD_ASCII = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _compile(node: Node, scope: _Scope) -> ColumnElement[bool]:
    match node:
        case And():
            return and_(*(_compile(item, scope) for item in node.items))
        case Or():
            return or_(*(_compile(item, scope) for item in node.items))
        case Not():
            return not_(_compile(node.item, scope))
        case Has():
            return _has(node.field, scope)
        case Compare(field, op, value, exact):
            if op in _NEGATED:
                return not_(_positive(field, _NEGATED[op], value, scope, exact))
            return _positive(field, op, value, scope, exact)


def _positive(
    field: Field, op: str, value: Value | tuple[Value, ...], scope: _Scope, exact: bool
) -> ColumnElement[bool]:
    folded = field.kind in _LOWERED and not exact
    if folded:
        value = tuple(map(_lower, value)) if isinstance(value, tuple) else _lower(value)
    if field.kind == "tag":
        tags = scope.tags
        matches = _apply(tags.c.value, op, value, exact)
        return exists().where(scope.tag_owner == scope.row_id, tags.c.key == field.key, matches)
    if field.kind == "alias":
        matches = _apply(aliases.c.key if folded else aliases.c.name, op, value, exact)
        return exists().where(aliases.c.version_id == versions.c.id, matches)
    if field.kind in ("metric", "param"):
        read: ColumnElement[Any] = (
            _JsonNumber(versions.c.metrics, field.key)
            if field.kind == "metric"
            else _JsonText(versions.c.params, field.key)
        )
        compared = func.coalesce(_apply(read, op, value), false(), type_=Boolean)
        return cast(ColumnElement[bool], compared)
    column = scope.columns[field.kind]
    if folded and field.kind == "name":
        column = _AsciiLower(column)
    return _apply(column, op, value, exact)


def _has(field: Field, scope: _Scope) -> ColumnElement[bool]:
    if field.kind == "tag":
        return exists().where(scope.tag_owner == scope.row_id, scope.tags.c.key == field.key)
    column = versions.c.metrics if field.kind == "metric" else versions.c.params
    # Read as text even for a metric: PostgreSQL would fail casting a non-number to FLOAT.
    return _JsonText(column, field.key).is_not(None)


def _apply(
    column: ColumnElement[Any], op: str, value: Value | tuple[Value, ...], exact: bool = False
) -> ColumnElement[bool]:
    if op == "in":
        return column.in_(value if isinstance(value, tuple) else (value,))
    if op == "like" and exact:
        return _ExactLike(column, str(value), _glob(str(value)))
    if op == "like":
        pattern = str(value).translate(_FOLD_ASCII)
        return _AsciiLower(column).like(pattern, escape="\\")
    return cast(ColumnElement[bool], _COMPARE[op](column, value))


def _lower(value: Value) -> Value:
    return value.lower() if isinstance(value, str) else value


class _AsciiLower(FunctionElement[str]):
    """``lower()`` of A-Z only. SQLite's ``lower()`` folds only ASCII; PostgreSQL's folds all
    of Unicode, so ``LIKE`` would match differently there without ``translate()``."""

    type = Text()
    name = "ascii_lower"
    inherit_cache = True


@compiles(_AsciiLower)
def _ascii_lower(element: _AsciiLower, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(func.lower(*element.clauses), **kw)


@compiles(_AsciiLower, "postgresql")
def _ascii_lower_postgresql(element: _AsciiLower, compiler: SQLCompiler, **kw: Any) -> str:
    upper, lower = string.ascii_uppercase, string.ascii_lowercase
    return compiler.process(func.translate(*element.clauses, upper, lower), **kw)


def _glob(pattern: str) -> str:
    """A ``LIKE`` pattern (``\\`` escaping) as the ``GLOB`` pattern that matches the same."""
    out: list[str] = []
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            ch = next(chars, "\\")
            out.append(f"[{ch}]" if ch in "*?[" else ch)
        elif ch in "%_":
            out.append("*" if ch == "%" else "?")
        else:
            out.append(f"[{ch}]" if ch in "*?[" else ch)
    return "".join(out)


class _ExactLike(FunctionElement[bool]):
    """``LIKE`` that tells upper from lower case: PostgreSQL's own, a ``GLOB`` on SQLite."""

    type = Boolean()
    name = "exact_like"
    inherit_cache = True


@compiles(_ExactLike)
def _exact_like(element: _ExactLike, compiler: SQLCompiler, **kw: Any) -> str:
    column, pattern, _ = element.clauses
    return compiler.process(column.like(pattern, escape="\\"), **kw)


@compiles(_ExactLike, "sqlite")
def _exact_like_sqlite(element: _ExactLike, compiler: SQLCompiler, **kw: Any) -> str:
    column, _, glob = element.clauses
    return compiler.process(column.op("GLOB")(glob), **kw)


class _JsonText(FunctionElement[str]):
    """The value under a key of a JSON object column, as text; NULL when the key is absent.

    PostgreSQL reads it with ``->>``. SQLite's ``json_extract()`` matches a path against the
    *escaped* JSON text (SQLite 3.40), so a key with a quote or a non-ASCII letter is never
    found; ``json_each()`` decodes keys, so it is used there instead.
    """

    type = Text()
    name = "json_text"
    inherit_cache = True


class _JsonNumber(FunctionElement[float]):
    type = Float()
    name = "json_number"
    inherit_cache = True


# SQLAlchemy caches the compiled SQL by shape: the key must stay the caller's own bound
# parameter (not a new one made from its value), or a cached statement keeps an old key.
@compiles(_JsonText)
def _json_text(element: _JsonText, compiler: SQLCompiler, **kw: Any) -> str:
    column, key = element.clauses
    return compiler.process(column[key].as_string(), **kw)


@compiles(_JsonNumber)
def _json_number(element: _JsonNumber, compiler: SQLCompiler, **kw: Any) -> str:
    column, key = element.clauses
    return compiler.process(column[key].as_float(), **kw)


@compiles(_JsonText, "sqlite")
@compiles(_JsonNumber, "sqlite")
def _json_value_sqlite(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    column, key = element.clauses
    entries = func.json_each(column).table_valued("key", "value")
    value = select(entries.c.value).where(entries.c.key == key).scalar_subquery()
    return compiler.process(value, **kw)
