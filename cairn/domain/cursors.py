"""Opaque pagination cursors: the last row's sort key, base64url-encoded JSON."""

from __future__ import annotations

import base64
import json

from cairn.domain.jsonsafe import strict_loads
from cairn.errors import InvalidCursor, InvalidJSON

# Integer cursors hold ids and version numbers, which are 32-bit columns: a larger key was
# never issued, and PostgreSQL would refuse to bind it.
INT_KEY_MAX = 2**31 - 1


def encode_cursor(key: int | str) -> str:
    raw = json.dumps([key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_int_cursor(cursor: str | None) -> int | None:
    """The integer key inside ``cursor`` (None for no cursor); ``InvalidCursor`` if tampered."""
    if not cursor:
        return None
    key = _decode(cursor)
    if type(key) is not int or not 0 <= key <= INT_KEY_MAX:
        raise InvalidCursor("this cursor does not belong to this listing")
    return key


def decode_str_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    key = _decode(cursor)
    if not isinstance(key, str):
        raise InvalidCursor("this cursor does not belong to this listing")
    return key


def _decode(cursor: str) -> object:
    if len(cursor) > 512:
        raise InvalidCursor("the cursor is too long to be one of ours")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = strict_loads(raw, max_bytes=len(raw))
    except (ValueError, InvalidJSON) as exc:  # binascii.Error, and any non-ASCII text
        raise InvalidCursor("the cursor is not one this server issued") from exc
    if not isinstance(value, list) or len(value) != 1:
        raise InvalidCursor("the cursor is not one this server issued")
    return value[0]
