r"""MLflow's filter and ``order_by`` grammar for runs and experiments, read into clauses that
are checked on each record (``matches``) and sort keys (``sort``); never turned into SQL text.

::

    filter  := clause ("AND" clause)*
    clause  := ident op value | ident ["NOT"] "IN" "(" value ("," value)* ")"
    ident   := [prefix "."] key        prefix: metric(s), param(s)/parameter(s), tag(s),
                                       attribute(s)/attr/run; key bare, `quoted` or "quoted"
    op      := = | != | < | <= | > | >= | LIKE | ILIKE
    order   := ident ["ASC" | "DESC"]

Metrics and time attributes compare as numbers, the rest as strings; a record without the
field matches no clause on it, and sorts after every record that has it, in either direction.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cairn.domain.like import like
from cairn.errors import InvalidFilter, InvalidInput

FILTER_MAX = 4096
CLAUSES_MAX = 64
ORDER_MAX = 10
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*')
      | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
      | (?P<op>!=|<=|>=|=|<|>|\(|\)|,)
      | (?P<ident>(?:[A-Za-z_]+\.)?(?:`[^`]+`|"[^"]+"|[A-Za-z_][\w.:/-]*))
    )""",
    re.VERBOSE,
)
_PREFIXES = {
    "metric": "metric",
    "metrics": "metric",
    "param": "param",
    "params": "param",
    "parameter": "param",
    "parameters": "param",
    "tag": "tag",
    "tags": "tag",
    "attribute": "attribute",
    "attributes": "attribute",
    "attr": "attribute",
    "run": "attribute",
}
_WORDS = {"and", "in", "not", "like", "ilike"}

Getter = Callable[[Any, str, str], Any]  # (record, kind, key) → value, or None if absent


@dataclass(frozen=True, slots=True)
class Fields:
    """What one kind of record can be searched on: its attributes (numeric ones apart) and
    whether it has metrics and params."""

    attributes: frozenset[str]
    numeric: frozenset[str]
    kinds: frozenset[str]

    def check(self, kind: str, key: str) -> str:
        if kind not in self.kinds:
            raise InvalidFilter(f"Invalid entity type '{kind}': use one of {sorted(self.kinds)}")
        if kind == "attribute" and key not in self.attributes:
            raise InvalidFilter(
                f"Invalid attribute key '{key}' specified. Valid keys are "
                f"'{sorted(self.attributes)}'"
            )
        return kind

    def numeric_field(self, kind: str, key: str) -> bool:
        return kind == "metric" or (kind == "attribute" and key in self.numeric)


RUN_FIELDS = Fields(
    frozenset({"run_id", "run_name", "status", "user_id", "start_time", "end_time"}),
    frozenset({"start_time", "end_time"}),
    frozenset({"metric", "param", "tag", "attribute"}),
)
EXPERIMENT_FIELDS = Fields(
    frozenset({"name", "experiment_id", "creation_time", "last_update_time"}),
    frozenset({"experiment_id", "creation_time", "last_update_time"}),
    frozenset({"tag", "attribute"}),
)


@dataclass(frozen=True, slots=True)
class Clause:
    kind: str  # metric, param, tag, attribute
    key: str
    op: str  # = != < <= > >= like ilike in not in
    value: Any  # a float, a string, or a tuple of strings for IN


def parse_filter(text: object, fields: Fields) -> list[Clause]:
    if text is None or text == "":
        return []
    if not isinstance(text, str) or len(text) > FILTER_MAX or "\x00" in text:
        raise InvalidFilter(f"a filter is a string of at most {FILTER_MAX} characters, no NUL")
    tokens = _tokens(text)
    clauses: list[Clause] = []
    pos = 0
    while True:
        clause, pos = _clause(tokens, pos, fields)
        clauses.append(clause)
        if len(clauses) > CLAUSES_MAX:
            raise InvalidFilter(f"a filter holds at most {CLAUSES_MAX} clauses")
        if pos == len(tokens):
            return clauses
        if tokens[pos] != ("word", "and"):
            raise InvalidFilter(f"Invalid filter {text[:200]!r}: clauses are joined by AND")
        pos += 1


def matches(clauses: Sequence[Clause], record: Any, get: Getter) -> bool:
    return all(_holds(c, get(record, c.kind, c.key)) for c in clauses)


def parse_order(order_by: Sequence[object], fields: Fields) -> list[tuple[str, str, bool]]:
    """``(kind, key, descending)`` for each ``order_by`` clause."""
    if len(order_by) > ORDER_MAX:
        raise InvalidInput(f"order_by holds at most {ORDER_MAX} clauses")
    out: list[tuple[str, str, bool]] = []
    for raw in order_by:
        text = raw.strip() if isinstance(raw, str) else ""
        head, _, direction = text.rpartition(" ")
        if direction.upper() not in ("ASC", "DESC"):
            head, direction = text, "ASC"
        try:
            tokens = _tokens(head.strip())
        except InvalidFilter:
            tokens = []
        if len(tokens) != 1 or tokens[0][0] != "ident":
            raise InvalidInput(f"Invalid order_by clause {str(raw)[:100]!r}")
        kind, key = _ident(tokens[0][1], fields)
        out.append((kind, key, direction.upper() == "DESC"))
    return out


def sort(records: list[Any], order: list[tuple[str, str, bool]], get: Getter) -> list[Any]:
    """``records`` in ``order``; a record without a field sorts after those with it."""

    def compare(a: Any, b: Any) -> int:
        for kind, key, descending in order:
            x, y = get(a, kind, key), get(b, kind, key)
            if x is None or y is None:
                if x is None and y is None:
                    continue
                return 1 if x is None else -1
            if x != y:
                before = x < y
                return (1 if before else -1) if descending else (-1 if before else 1)
        return 0

    return sorted(records, key=functools.cmp_to_key(compare))


def _holds(c: Clause, value: Any) -> bool:
    if value is None:
        return False
    if c.op in ("in", "not in"):
        return (value in c.value) == (c.op == "in")
    if c.op in ("like", "ilike"):
        return like(c.value, c.op == "ilike")(str(value))
    if isinstance(c.value, float) != isinstance(value, float):
        return False
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    return compare[c.op](value, c.value)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        found = _TOKEN.match(text, pos)
        if found is None or found.lastgroup is None:
            raise InvalidFilter(f"Invalid filter {text[:200]!r} at position {pos}")
        kind, value = found.lastgroup, found.group(found.lastgroup)
        if kind == "ident" and value.lower() in _WORDS:
            kind, value = "word", value.lower()
        elif kind == "ident" and value.startswith('"'):  # a value in double quotes
            kind = "string"
        out.append((kind, value))
        pos = found.end()
    return out


def _ident(text: str, fields: Fields) -> tuple[str, str]:
    prefix, dot, rest = text.partition(".")
    if dot and prefix.lower() in _PREFIXES:
        kind, key = _PREFIXES[prefix.lower()], rest
    else:
        kind, key = "attribute", text
    if len(key) >= 2 and key[0] == key[-1] and key[0] in '`"':
        key = key[1:-1]
    if not key:
        raise InvalidFilter(f"Invalid identifier {text[:100]!r}")
    return fields.check(kind, key), key


def _clause(tokens: list[tuple[str, str]], pos: int, fields: Fields) -> tuple[Clause, int]:
    if pos >= len(tokens) or tokens[pos][0] != "ident":
        raise InvalidFilter("Invalid filter: a clause starts with a field, as metrics.acc > 0.9")
    kind, key = _ident(tokens[pos][1], fields)
    numeric = fields.numeric_field(kind, key)
    pos += 1
    op, pos = _operator(tokens, pos)
    if op in ("in", "not in"):
        values, pos = _list(tokens, pos)
        return Clause(kind, key, op, values), pos
    if pos >= len(tokens) or tokens[pos][0] not in ("string", "number"):
        raise InvalidFilter(f"Invalid filter: {kind} '{key}' {op} needs a value")
    given, raw = tokens[pos]
    if numeric:
        if given != "number" or op in ("like", "ilike"):
            raise InvalidFilter(f"Expected numeric value type for {kind} '{key}', got {raw!r}")
        return Clause(kind, key, op, float(raw)), pos + 1
    if given != "string" or op in ("<", "<=", ">", ">="):
        raise InvalidFilter(
            f"Invalid filter: {kind} '{key}' compares with a quoted string by =, !=, LIKE, "
            "ILIKE or IN"
        )
    return Clause(kind, key, op, _unquote(raw)), pos + 1


def _operator(tokens: list[tuple[str, str]], pos: int) -> tuple[str, int]:
    if tokens[pos : pos + 2] == [("word", "not"), ("word", "in")]:
        return "not in", pos + 2
    if pos < len(tokens) and tokens[pos][0] in ("op", "word"):
        op = tokens[pos][1]
        if op in ("=", "!=", "<", "<=", ">", ">=", "like", "ilike", "in"):
            return op, pos + 1
    raise InvalidFilter("Invalid filter: expected a comparison (=, !=, <, >, LIKE, ILIKE, IN)")


def _list(tokens: list[tuple[str, str]], pos: int) -> tuple[tuple[str, ...], int]:
    if pos >= len(tokens) or tokens[pos] != ("op", "("):
        raise InvalidFilter("Invalid filter: IN takes a list, as IN ('a', 'b')")
    values: list[str] = []
    pos += 1
    while pos < len(tokens) and tokens[pos][0] == "string":
        values.append(_unquote(tokens[pos][1]))
        pos += 1
        if pos < len(tokens) and tokens[pos] == ("op", ","):
            pos += 1
    if pos >= len(tokens) or tokens[pos] != ("op", ")") or not values:
        raise InvalidFilter("Invalid filter: IN takes quoted strings, as IN ('a', 'b')")
    return tuple(values), pos + 1


def _unquote(raw: str) -> str:
    return re.sub(r"\\(.)", r"\1", raw[1:-1])
