"""SQL's ``LIKE`` (``%`` any run of characters, ``_`` any one) matched in Python, as MLflow's
filters are where Cairn checks them on records rather than in SQL.

A pattern is not turned into one regular expression: ``%a%a%a%b`` as ``.*a.*a.*a.*b`` makes
Python's backtracking engine try every way to split a long value that does not match, which
takes years for a few ``%`` and a few thousand characters (a filter any reader may send).
Here the pattern is cut at each ``%`` into pieces of fixed length: the first must start the
value, the last end it, and each one between is found at its leftmost place after the one
before, which is a match exactly when any placement is; so the time grows with the value's
length times the pattern's, never beyond.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable


@functools.lru_cache(maxsize=256)
def like(pattern: str, fold: bool = False) -> Callable[[str], bool]:
    """Whether a text matches ``pattern`` (``fold``: ignoring case, as ``ILIKE``)."""
    flags = re.DOTALL | (re.IGNORECASE if fold else 0)
    parts = [
        re.compile("".join("." if ch == "_" else re.escape(ch) for ch in part), flags)
        for part in pattern.split("%")
    ]
    widths = [len(part) for part in pattern.split("%")]
    if len(parts) == 1:
        return lambda text: parts[0].fullmatch(text) is not None

    def matches(text: str) -> bool:
        head = parts[0].match(text)
        if head is None:
            return False
        pos = head.end()
        for part in parts[1:-1]:
            found = part.search(text, pos)
            if found is None:
                return False
            pos = found.end()
        tail = len(text) - widths[-1]
        return tail >= pos and parts[-1].fullmatch(text, tail) is not None

    return matches
