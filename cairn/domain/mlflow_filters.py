r"""MLflow's search filter grammar (the subset its client and users send), read into clauses
and turned into Cairn's filter tree (``cairn.domain.filters``) directly, never into text.

::

    filter  := clause ("AND" clause)*
    clause  := field op value | field "IN" "(" value ("," value)* ")"
    field   := name | tag.<key> | tags.<key> | tag.`<key>` | run_id | source_path
             | version_number          (each may be prefixed with "attribute(s).")
    op      := = | != | LIKE | ILIKE | < | <= | > | >=

Values are quoted strings ('…' or "…", a backslash taking the next character as it is) or
integers. The limits of Cairn's own language hold: no NUL, tag keys of 1-250 printable
characters, 64 clauses, 100 values in an IN list. What Cairn's tree cannot say —
``run_id`` and ``source_path``, which Cairn keeps in a version's provenance — is left over as
*residual* clauses that the caller checks on each result (``matches``).

MLflow's case rules hold: ``=``, ``!=`` and ``LIKE`` compare names and values as written,
``ILIKE`` ignores the case of ASCII letters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cairn.domain.filters import COMPARISONS_MAX, IN_MAX, KEY_MAX, And, Compare, Field, Node
from cairn.domain.like import like
from cairn.errors import InvalidFilter

FILTER_MAX = 4096
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<number>-?\d+)
      | (?P<op>!=|<=|>=|=|<|>|\(|\)|,)
      | (?P<field>(?:[A-Za-z_][A-Za-z0-9_]*\.)?(?:`[^`]+`|[A-Za-z_][A-Za-z0-9_.:/-]*))
    )""",
    re.VERBOSE,
)
_PLAIN = {"name", "run_id", "source_path", "version_number"}
_TEXT_OPS = frozenset({"=", "!=", "like", "ilike"})
_OPS: dict[str, frozenset[str]] = {
    "name": _TEXT_OPS,
    "tag": _TEXT_OPS,
    "run_id": frozenset({"=", "!=", "in", "like", "ilike"}),
    "source_path": _TEXT_OPS,
    "version_number": frozenset({"=", "!=", "<", "<=", ">", ">=", "in"}),
}
RESIDUAL = frozenset({"run_id", "source_path"})


@dataclass(frozen=True, slots=True)
class Clause:
    field: str  # name, tag, run_id, source_path, version_number
    key: str | None
    op: str  # = != like ilike < <= > >= in
    value: str | int | tuple[str | int, ...]


def parse_mlflow_filter(text: object, fields: frozenset[str]) -> list[Clause]:
    """The clauses of an MLflow filter over ``fields``; ``InvalidFilter`` with the reason."""
    if text is None or text == "":
        return []
    if not isinstance(text, str) or len(text) > FILTER_MAX:
        raise InvalidFilter(f"a filter is a string of at most {FILTER_MAX} characters")
    if "\x00" in text:  # no stored text holds NUL, and PostgreSQL refuses it as a parameter
        raise InvalidFilter("a filter may not contain NUL")
    tokens = _tokenize(text)
    clauses: list[Clause] = []
    pos = 0
    while True:
        clause, pos = _clause(tokens, pos, fields)
        clauses.append(clause)
        if len(clauses) > COMPARISONS_MAX:
            raise InvalidFilter(f"a filter holds at most {COMPARISONS_MAX} clauses")
        if pos == len(tokens):
            return clauses
        kind, value = tokens[pos]
        if kind != "field" or value.lower() != "and":
            raise InvalidFilter(f"expected AND between clauses, found {value!r}")
        pos += 1


def to_tree(clauses: list[Clause], *scope: Node) -> Node | None:
    """The clauses Cairn's filter tree can say, after the ``scope`` comparisons, as one tree
    (``None`` when there are none). Built directly: no value is ever written into text."""
    items = (*scope, *(_compare(c) for c in clauses if c.field not in RESIDUAL))
    if not items:
        return None
    return items[0] if len(items) == 1 else And(items)


def matches(clauses: list[Clause], values: dict[str, str]) -> bool:
    """Whether the residual clauses hold for a result whose fields are ``values``."""
    for c in clauses:
        if c.field not in RESIDUAL:
            continue
        actual = values.get(c.field, "")
        if c.op == "in":
            ok = actual in {str(v) for v in c.value} if isinstance(c.value, tuple) else False
        elif c.op in ("like", "ilike"):
            ok = like(str(c.value), c.op == "ilike")(actual)
        else:
            ok = (actual == str(c.value)) == (c.op == "=")
        if not ok:
            return False
    return True


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise InvalidFilter(
                f"cannot read the filter at position {pos}: {text[pos : pos + 20]!r}"
            )
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    if not tokens:
        raise InvalidFilter("the filter is empty")
    return tokens


def _clause(tokens: list[tuple[str, str]], pos: int, fields: frozenset[str]) -> tuple[Clause, int]:
    if pos >= len(tokens) or tokens[pos][0] != "field":
        raise InvalidFilter("each clause starts with a field, such as name or tag.`key`")
    field, key = _field(tokens[pos][1], fields)
    if pos + 1 >= len(tokens):
        raise InvalidFilter(f"the clause on {tokens[pos][1]!r} has no comparison")
    kind, raw_op = tokens[pos + 1]
    op = raw_op.lower()
    if kind not in ("op", "field") or op not in _OPS[field]:
        raise InvalidFilter(
            f"Invalid comparator '{raw_op}' for {field}: use one of "
            + ", ".join(sorted(o.upper() for o in _OPS[field]))
        )
    if op == "in":
        return _in_list(tokens, pos + 2, Clause(field, key, op, ()))
    if pos + 2 >= len(tokens) or tokens[pos + 2][0] not in ("string", "number"):
        raise InvalidFilter(f"the clause on {tokens[pos][1]!r} needs a quoted value")
    value = _value(field, op, tokens[pos + 2])
    return Clause(field, key, op, value), pos + 3


def _in_list(tokens: list[tuple[str, str]], pos: int, clause: Clause) -> tuple[Clause, int]:
    if pos >= len(tokens) or tokens[pos] != ("op", "("):
        raise InvalidFilter("IN takes a list in parentheses: IN ('a', 'b')")
    values: list[str | int] = []
    pos += 1
    while pos < len(tokens):
        kind, raw = tokens[pos]
        if kind not in ("string", "number"):
            raise InvalidFilter("IN lists quoted values separated by commas")
        values.append(_value(clause.field, "=", (kind, raw)))
        if len(values) > IN_MAX:
            raise InvalidFilter(f"an IN list holds at most {IN_MAX} values")
        pos += 1
        if pos < len(tokens) and tokens[pos] == ("op", ","):
            pos += 1
            continue
        if pos < len(tokens) and tokens[pos] == ("op", ")"):
            return Clause(clause.field, clause.key, "in", tuple(values)), pos + 1
        break
    raise InvalidFilter("an IN list ends with ')'")


def _field(raw: str, fields: frozenset[str]) -> tuple[str, str | None]:
    prefix, dot, rest = raw.partition(".")
    if not dot or raw.startswith("`"):
        prefix, rest = "", raw
    if prefix.lower() in ("tag", "tags"):
        key = rest[1:-1] if rest.startswith("`") and rest.endswith("`") else rest
        if "tag" in fields and 0 < len(key) <= KEY_MAX and key.isprintable():
            return "tag", key
    elif prefix.lower() in ("", "attribute", "attributes"):
        name = rest.lower()
        if name == "name" or (name in _PLAIN and name in fields):
            return name, None
    raise InvalidFilter(
        f"Invalid attribute key '{raw}': filter on "
        + ", ".join(sorted({"name", *fields} - {"tag"}))
        + " or tag.`key`"
    )


def _value(field: str, op: str, token: tuple[str, str]) -> str | int:
    kind, raw = token
    if field == "version_number":
        text = raw[1:-1] if kind == "string" else raw
        if not text.isascii() or not text.isdigit() or len(text) > 9:
            raise InvalidFilter(f"version_number is compared with a whole number, not {raw}")
        return int(text)
    if kind != "string":
        raise InvalidFilter(f"{field} is compared with a quoted string, not {raw}")
    return re.sub(r"\\(.)", r"\1", raw[1:-1])


def _compare(c: Clause) -> Compare:
    field = Field("number") if c.field == "version_number" else Field(c.field, c.key)
    if c.op in ("like", "ilike"):  # a backslash is literal in MLflow's patterns
        pattern = str(c.value).replace("\\", "\\\\")
        return Compare(field, "like", pattern, exact=c.op == "like")
    return Compare(field, c.op, c.value, exact=True)
