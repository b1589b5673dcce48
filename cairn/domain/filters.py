r"""The search filter language: text in, a small typed tree out; stores compile the tree.

::

    expr       := or
    or         := and ("OR" and)*
    and        := unary ("AND" unary)*
    unary      := "NOT" unary | "(" expr ")" | comparison
    comparison := field op value
                | field ["NOT"] "IN" "(" value ("," value)* ")"
                | field ["NOT"] "LIKE" string
                | "has" "(" keyed-field ")"
    op         := "=" | "==" | "!=" | "<" | "<=" | ">" | ">="

Fields are ``name namespace number state alias author description owner created updated``
and ``tags.<key>``, ``metrics.<key>``, ``params.<key>`` (``tag.``, ``metric.``, ``param.``
too); a key with odd characters is backquoted: ``tags.`my key```. Keywords and field names
are case-insensitive, keys are not. Positions in errors are 0-based character offsets.

What a filter means is decided here, once, so that every database agrees:

- A comparison on a tag, metric or param that is absent is *false*, and ``NOT`` is a plain
  complement (no SQL "unknown"): ``NOT metrics.auc > 0.9`` includes versions with no auc.
  ``!=``, ``NOT IN`` and ``NOT LIKE`` are exactly ``NOT`` of ``=``, ``IN`` and ``LIKE``, so
  ``tags.team != 'a'`` includes versions with no team tag; ``alias != 'x'`` means "is not x".
- ``LIKE``: ``%`` is any run, ``_`` any one character, ``\%`` and ``\_`` are literal.
  It ignores the case of ASCII letters only, the one folding SQLite and PostgreSQL share.
- Ordering (``< <= > >=``) is for number, metrics and dates only: text order depends on
  the database's collation, and params keep numbers as text, where '9' > '10'.
- Dates take only ordering: an instant rarely matches exactly. A bare date is midnight UTC.
- Params are text: a number is compared as the text Cairn stores for it (``str``), and
  ``true``/``false`` as ``'true'``/``'false'``.

Strings take ``'`` or ``"`` and the escapes ``\\ \' \" \n \t \r \% \_``. Limits: 4096
characters, nesting 32 deep, 64 comparisons, 100 values in an IN list.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from cairn.domain.filter_tokens import Token, describe, error, tokenize

__all__ = [
    "STATES",
    "And",
    "Compare",
    "Field",
    "Has",
    "Node",
    "Not",
    "Or",
    "Target",
    "Value",
    "check_target",
    "parse_filter",
]

FILTER_MAX = 4096
DEPTH_MAX = 32
COMPARISONS_MAX = 64
IN_MAX = 100
KEY_MAX = 250
_STATE_ORDER = ("registered", "staging", "production", "archived")
STATES = frozenset(_STATE_ORDER)

Value = str | int | float | datetime
Target = Literal["versions", "models"]


@dataclass(frozen=True, slots=True)
class Field:
    kind: str
    key: str | None = None
    position: int = dataclasses.field(default=0, compare=False, repr=False)

    def __str__(self) -> str:
        return self.kind if self.key is None else f"{self.kind}s.{self.key}"


@dataclass(frozen=True, slots=True)
class Compare:
    r"""``op`` is one of ``= != < <= > >= in, not in, like, not like``; for ``like`` the value
    is a pattern in which ``\`` escapes ``%``, ``_`` and ``\`` (SQL ``ESCAPE '\'``).

    Cairn's language ignores the case of names, aliases and ``like`` patterns; ``exact``
    compares them as written instead (MLflow's ``=`` and ``LIKE``)."""

    field: Field
    op: str
    value: Value | tuple[Value, ...]
    exact: bool = False


@dataclass(frozen=True, slots=True)
class Has:
    field: Field


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Node


Node = Compare | Has | And | Or | Not

_KEYED = {"tags": "tag", "metrics": "metric", "params": "param"}
_KEYED |= {plural[:-1]: kind for plural, kind in _KEYED.items()}
_DATES = frozenset({"created", "updated"})
_TEXT = frozenset({"name", "namespace", "alias", "author", "description", "owner", "tag", "param"})
_EQUALITY = frozenset({"=", "!=", "in", "not in"})
_ORDER = frozenset({"<", "<=", ">", ">="})
_LIKE = frozenset({"like", "not like"})
_OPS: dict[str, frozenset[str]] = {kind: _EQUALITY | _LIKE for kind in _TEXT}
_OPS |= {"state": _EQUALITY, "number": _EQUALITY | _ORDER, "metric": _EQUALITY | _ORDER}
_OPS |= {kind: _ORDER for kind in _DATES}
_PLAIN = frozenset(_OPS) - frozenset(_KEYED.values())
_EXPECTS = {kind: "a quoted string" for kind in _TEXT}
_EXPECTS |= {"number": "an integer", "metric": "a number", "param": "a quoted string or number"}
_EXPECTS |= {"state": "one of " + ", ".join(repr(s) for s in _STATE_ORDER)}
_EXPECTS |= {kind: "an ISO-8601 date in quotes, like '2024-05-01'" for kind in _DATES}
_TARGETS: dict[str, frozenset[str]] = {
    "versions": frozenset(_OPS),
    "models": frozenset({"name", "namespace", "owner", "description", "created", "updated", "tag"}),
}
_FIELD_LIST = ", ".join(sorted(_PLAIN)) + ", tags.<key>, metrics.<key>, params.<key>"
_KEYWORDS = frozenset({"and", "or", "not", "in", "like"})
_OP_ORDER = ("=", "!=", "<", "<=", ">", ">=", "in", "not in", "like", "not like")


def parse_filter(text: str | None) -> Node | None:
    """Parse a filter; ``None`` for no filter (``None`` or blank text)."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise error("a filter is a string", 0)
    if len(text) > FILTER_MAX:
        raise error(f"a filter is at most {FILTER_MAX} characters", FILTER_MAX)
    if not text.strip():
        return None
    if "\x00" in text:  # no stored text holds NUL, and PostgreSQL refuses it as a parameter
        raise error("a filter may not contain NUL", text.index("\x00"))
    return _Parser(tokenize(text)).parse()


def check_target(node: Node, target: Target) -> None:
    """Raise ``InvalidFilter`` if ``node`` names a field that ``target`` does not have."""
    allowed = _TARGETS[target]
    for field in _fields(node):
        if field.kind not in allowed:
            choices = ", ".join(sorted(allowed - {"tag"})) + " and tags"
            raise error(f"{target} cannot be filtered on {field}; use {choices}", field.position)


def _fields(node: Node) -> Iterator[Field]:
    match node:
        case Compare() | Has():
            yield node.field
        case Not():
            yield from _fields(node.item)
        case And() | Or():
            for item in node.items:
                yield from _fields(item)


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self._tokens = tokens
        self._index = 0
        self._depth = 0
        self._comparisons = 0

    def parse(self) -> Node:
        node = self._or()
        token = self._peek()
        if token.kind == ")":
            raise error("')' closes no '('", token.pos)
        if token.kind != "end":
            raise error(f"expected AND, OR or the end, found {describe(token)}", token.pos)
        return node

    def _or(self) -> Node:
        items = [self._and()]
        while self._keyword("or"):
            items.append(self._and())
        return Or(tuple(items)) if len(items) > 1 else items[0]

    def _and(self) -> Node:
        items = [self._unary()]
        while self._keyword("and"):
            items.append(self._unary())
        return And(tuple(items)) if len(items) > 1 else items[0]

    def _unary(self) -> Node:
        token = self._peek()
        if self._keyword("not"):
            with self._nested(token):
                return Not(self._unary())
        if token.kind == "(":
            self._take()
            with self._nested(token):
                node = self._or()
            self._expect(")", f"')' to close the '(' at position {token.pos}")
            return node
        return self._comparison()

    def _comparison(self) -> Node:
        start = self._peek()
        self._comparisons += 1
        if self._comparisons > COMPARISONS_MAX:
            raise error(f"a filter holds at most {COMPARISONS_MAX} comparisons", start.pos)
        if self._keyword("has"):
            return self._has()
        field = self._field()
        operator = self._peek()
        negated = self._keyword("not")
        if self._keyword("in"):
            return self._in(field, "not in" if negated else "in", operator)
        if self._keyword("like"):
            return self._like(field, "not like" if negated else "like", operator)
        if negated or operator.kind != "op":
            expected = "IN or LIKE after NOT" if negated else f"an operator after {field}"
            raise error(f"expected {expected}, found {describe(self._peek())}", operator.pos)
        self._take()
        _check_op(field, str(operator.value), operator)
        return Compare(field, str(operator.value), self._value(field))

    def _in(self, field: Field, op: str, operator: Token) -> Compare:
        _check_op(field, op, operator)
        self._expect("(", "'(' to open the IN list")
        if self._peek().kind == ")":
            raise error("an IN list needs at least one value", self._peek().pos)
        values = [self._value(field)]
        while self._peek().kind == ",":
            self._take()
            if len(values) == IN_MAX:
                raise error(f"an IN list holds at most {IN_MAX} values", self._peek().pos)
            values.append(self._value(field))
        self._expect(")", "',' or ')' in the IN list")
        return Compare(field, op, tuple(values))

    def _like(self, field: Field, op: str, operator: Token) -> Compare:
        _check_op(field, op, operator)
        token = self._take()
        if token.kind != "string":
            raise error(f"LIKE takes a quoted pattern, found {describe(token)}", token.pos)
        return Compare(field, op, token.pattern)

    def _has(self) -> Has:
        self._expect("(", "'(' after has")
        field = self._field()
        if field.key is None:
            raise error(f"has() takes a tag, metric or param, not {field}", field.position)
        self._expect(")", "')' to close has(")
        return Has(field)

    def _field(self) -> Field:
        token = self._take()
        if token.kind != "word" or token.text.lower() in _KEYWORDS:
            raise error(f"expected a field, found {describe(token)}", token.pos)
        prefix, dot, key = str(token.value).partition(".")
        prefix = prefix.lower()
        if prefix in _KEYED:
            if not key or len(key) > KEY_MAX or not key.isprintable():
                message = f"{prefix} takes a key of 1-{KEY_MAX} printable characters"
                raise error(f"{message}, like {prefix}.team or {prefix}.`my key`", token.pos)
            return Field(_KEYED[prefix], key, token.pos)
        if prefix in _PLAIN and not dot:
            return Field(prefix, None, token.pos)
        if prefix in _PLAIN:
            raise error(f"{prefix} has no keys: only tags, metrics and params do", token.pos)
        raise error(f"unknown field {token.text[:40]!r}; fields are {_FIELD_LIST}", token.pos)

    def _value(self, field: Field) -> Value:
        token = self._take()
        kind = field.kind
        value = token.value
        if token.kind == "string" and kind in _DATES:
            with suppress(ValueError):
                moment = datetime.fromisoformat(str(value))
                return moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(UTC)
        if token.kind == "string" and kind == "state" and str(value).lower() in STATES:
            return str(value).lower()
        if token.kind == "string" and kind in _TEXT:
            return value
        if token.kind == "number" and kind in ("number", "metric", "param"):
            if kind == "param":
                return str(value)
            if kind == "metric":
                return float(value)
            if isinstance(value, int):
                return value
        if token.kind == "word" and token.text.lower() in ("true", "false") and kind == "param":
            return token.text.lower()
        found = describe(token) + ("; quote text, as in 'text'" if token.kind == "word" else "")
        raise error(f"{field} compares with {_EXPECTS[kind]}, found {found}", token.pos)

    @contextmanager
    def _nested(self, token: Token) -> Iterator[None]:
        self._depth += 1
        if self._depth > DEPTH_MAX:
            raise error(f"a filter nests at most {DEPTH_MAX} deep", token.pos)
        yield
        self._depth -= 1

    def _peek(self) -> Token:
        return self._tokens[self._index]

    def _take(self) -> Token:
        token = self._tokens[self._index]
        if token.kind != "end":
            self._index += 1
        return token

    def _keyword(self, word: str) -> bool:
        token = self._peek()
        if token.kind == "word" and token.text.lower() == word:
            self._index += 1
            return True
        return False

    def _expect(self, kind: str, what: str) -> None:
        token = self._take()
        if token.kind != kind:
            raise error(f"expected {what}, found {describe(token)}", token.pos)


def _check_op(field: Field, op: str, operator: Token) -> None:
    allowed = _OPS[field.kind]
    if op not in allowed:
        choices = ", ".join(o.upper() for o in _OP_ORDER if o in allowed)
        raise error(f"{field} does not take {op.upper()}; it takes {choices}", operator.pos)
