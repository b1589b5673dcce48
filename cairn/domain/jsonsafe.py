"""Strict JSON decoding for request bodies.

Python's ``json`` accepts things a registry must not: duplicate keys (the last one silently
wins), ``NaN`` and ``Infinity``, integers of any size, nesting deep enough to exhaust the
stack, and strings the database cannot store. ``strict_loads`` refuses each with
``InvalidJSON`` and a reason.
"""

from __future__ import annotations

import json
import math
from typing import Any

from cairn.errors import InvalidInput, InvalidJSON, PayloadTooLarge

MAX_DEPTH = 32
MIN_INT, MAX_INT = -(2**63), 2**63 - 1


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise InvalidJSON(f"duplicate key {key[:100]!r} in a JSON object")
        obj[key] = value
    return obj


def _constant(name: str) -> Any:
    raise InvalidJSON(f"{name} is not a JSON number")


def _int(text: str) -> int:
    if len(text.lstrip("-")) > 19 or not MIN_INT <= (value := int(text)) <= MAX_INT:
        raise InvalidJSON("an integer outside the 64-bit range", value=text[:40])
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidJSON("a number too large to represent", value=text[:40])
    return value


def _check_tree(value: Any, limit: int) -> None:
    """Refuse nesting deeper than ``limit`` and strings holding lone surrogates (they cannot
    be stored as UTF-8) or NUL (PostgreSQL stores no NUL in text or JSONB)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item)
            continue
        if isinstance(item, dict):
            for key in item:
                _check_text(key)
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            raise InvalidJSON(f"JSON nested deeper than {limit} levels")
        stack.extend((child, depth + 1) for child in children)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidJSON("a string holds a lone UTF-16 surrogate escape") from exc
    if "\x00" in text:
        raise InvalidJSON("a string holds NUL (\\u0000), which cannot be stored")


def check_storable(text: str, what: str) -> str:
    """``text`` (from a URL or a header) if a database stores and compares it alike on SQLite
    and PostgreSQL, by the rule the reader applies to every string of a body; else
    ``InvalidInput`` naming ``what``."""
    try:
        _check_text(text)
    except InvalidJSON as exc:
        raise InvalidInput(f"{what}: {exc.message}") from exc
    return text


def strict_loads(body: bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """Decode a JSON request body, refusing anything ambiguous or oversized."""
    if len(body) > max_bytes:
        raise PayloadTooLarge(f"the JSON body is larger than {max_bytes} bytes", size=len(body))
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidJSON("the body is not valid UTF-8", position=exc.start) from exc
    try:
        value = json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_constant=_constant,
            parse_int=_int,
            parse_float=_float,
        )
    except json.JSONDecodeError as exc:
        raise InvalidJSON(f"malformed JSON: {exc.msg}", line=exc.lineno, column=exc.colno) from exc
    except RecursionError as exc:
        raise InvalidJSON(f"JSON nested deeper than {max_depth} levels") from exc
    _check_tree(value, max_depth)
    return value
