"""MLflow's page sizes, page tokens and ``order_by`` clauses.

MLflow's page token is opaque to the client. Cairn gives out two kinds, and each is refused
where the other is expected (a token from another search is a 400, never a silent restart):

- a search answered in Cairn's own order carries Cairn's cursor and how many matches of that
  Cairn page were already sent: base64 of ``{"cursor": …, "skip": n}``;
- a search sorted here carries an offset into the sorted matches: base64 of ``{"offset": n}``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from cairn.domain.jsonsafe import strict_loads
from cairn.errors import InvalidInput, InvalidJSON

T = TypeVar("T")
TOKEN_MAX = 1024  # characters; every token given out is far shorter
POSITION_MAX = 2**31 - 1  # an offset or skip past any list a search holds
ORDER_MAX = 10  # order_by clauses: each sorts every match again, and four keys say it all
_NOT_OURS = "page_token is not a token this server gave for this search"

Order = list[tuple[Callable[[Any], Any], bool]]


def page_size(max_results: int | None, default: int, limit: int) -> int:
    size = default if max_results is None else max_results
    if not 0 < size <= limit:
        raise InvalidInput(f"max_results is between 1 and {limit}, not {str(size)[:40]}")
    return size


def cursor_token(cursor: str | None, skip: int) -> str:
    return _encode({"cursor": cursor, "skip": skip})


def token_cursor(token: str | None) -> tuple[str | None, int]:
    """``(cursor, skip)`` of a token from ``cursor_token``; ``(None, 0)`` for none."""
    found = _decode(token, {"cursor", "skip"})
    if found is None:
        return None, 0
    cursor, skip = found["cursor"], found["skip"]
    if not (cursor is None or isinstance(cursor, str)) or not _position(skip):
        raise InvalidInput(_NOT_OURS)
    return cursor, skip


def offset_token(offset: int) -> str:
    return _encode({"offset": offset})


def token_offset(token: str | None) -> int:
    """The offset in a token from ``offset_token``; 0 for none."""
    found = _decode(token, {"offset"})
    if found is None:
        return 0
    if not _position(found["offset"]):
        raise InvalidInput(_NOT_OURS)
    return int(found["offset"])


def page_of(items: list[T], size: int, offset: int) -> tuple[list[T], str | None]:
    """The ``size`` items from ``offset``, and the token of the next page (if any)."""
    more = offset + size < len(items)
    return items[offset : offset + size], offset_token(offset + size) if more else None


def parse_order(order_by: Sequence[str], keys: Mapping[str, Callable[[Any], Any]]) -> Order:
    """MLflow ``order_by`` clauses (``"<key> [ASC|DESC]"``, first clause first) as sort keys;
    a key outside ``keys`` is refused."""
    if len(order_by) > ORDER_MAX:
        raise InvalidInput(f"order_by holds at most {ORDER_MAX} clauses")
    out: Order = []
    for clause in order_by:
        parts = clause.split()
        key = parts[0].removeprefix("attribute.").removeprefix("attributes.") if parts else ""
        direction = parts[1].upper() if len(parts) > 1 else "ASC"
        if key not in keys or len(parts) > 2 or direction not in ("ASC", "DESC"):
            raise InvalidInput(
                f"Invalid order_by clause {clause[:100]!r}: order by "
                + ", ".join(sorted(keys))
                + " with ASC or DESC"
            )
        out.append((keys[key], direction == "DESC"))
    return out


def ordered(items: list[T], order: Order) -> list[T]:
    out = list(items)
    for key, descending in reversed(order):  # stable sorts: the first clause sorts last
        out.sort(key=key, reverse=descending)
    return out


def _position(value: object) -> bool:
    return type(value) is int and 0 <= value <= POSITION_MAX


def _encode(fields: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(fields).encode()).decode()


def _decode(token: str | None, keys: set[str]) -> dict[str, Any] | None:
    if not token:
        return None
    if len(token) > TOKEN_MAX:
        raise InvalidInput(_NOT_OURS)
    try:
        raw = base64.b64decode(token, validate=True)
        found = strict_loads(raw, max_bytes=len(raw))
    except (ValueError, InvalidJSON) as exc:  # binascii.Error, and any non-ASCII text
        raise InvalidInput(_NOT_OURS) from exc
    if not isinstance(found, dict) or set(found) != keys:
        raise InvalidInput(_NOT_OURS)
    return found
