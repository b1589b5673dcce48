"""The bounds of the integers a client names, checked at the edge so that none reaches a
column that would refuse to bind it (a 500 on PostgreSQL, an OverflowError on SQLite)."""

from __future__ import annotations

ID_MAX = 2**31 - 1  # row ids, version numbers, MLflow experiment ids: 32-bit columns
INDEX_MAX = 2**63 - 1  # audit log indexes, byte offsets and sizes, times: 64-bit columns


def parse_id(raw: object) -> int | None:
    """``raw`` (an int, or its decimal spelling in ASCII digits) if it is an id from 1 to
    ``ID_MAX``; None otherwise, never a number cut or rounded into another one."""
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        return None
    text = str(raw)
    if not text.isascii() or not text.isdigit() or len(text) > len(str(ID_MAX)):
        return None
    value = int(text)
    return value if 1 <= value <= ID_MAX else None
