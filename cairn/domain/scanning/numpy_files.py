"""NumPy ``.npy`` files (also the members of ``.npz``): a pickle hides behind object dtypes.

The layout, from NumPy's format description::

    \\x93NUMPY, major, minor      version 1.0: header length uint16 LE; 2.0 and 3.0: uint32 LE
    header                        a Python dict literal (latin-1; UTF-8 in 3.0) with 'descr',
                                  'fortran_order' and 'shape'
    data                          raw array bytes, or, when the dtype holds Python objects
                                  ('O'), a pickle of the array: np.load(allow_pickle=True)
                                  runs it

The header is read with :func:`ast.literal_eval`, which parses literals and evaluates nothing.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import IO

from cairn.domain.scanning.results import FindingKind, FindingLog, Severity

MAGIC = b"\x93NUMPY"
HEADER_LIMIT = 65536  # NumPy itself refuses headers over 10,000 bytes by default


def scan_npy(
    stream: IO[bytes], where: str, log: FindingLog, scan_pickle: Callable[[IO[bytes]], object]
) -> None:
    stream.seek(0)
    preamble = stream.read(len(MAGIC) + 2)
    major = preamble[len(MAGIC)] if len(preamble) == len(MAGIC) + 2 else None
    if major not in (1, 2, 3):
        _report(log, where, f"unknown .npy format version {major}")
        return
    width = 2 if major == 1 else 4
    length = int.from_bytes(stream.read(width), "little")
    if length > HEADER_LIMIT:
        _report(log, where, f"the .npy header length {length} is over {HEADER_LIMIT}")
        return
    raw = stream.read(length)
    if len(raw) < length:
        _report(log, where, "the file ends inside the .npy header")
        return
    try:
        header = ast.literal_eval(raw.decode("utf-8" if major == 3 else "latin-1"))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        _report(log, where, "the .npy header is not a Python literal")
        return
    if not isinstance(header, dict) or "descr" not in header:
        _report(log, where, "the .npy header is not a dict with a 'descr'")
        return
    if holds_objects(header["descr"]):
        scan_pickle(stream)  # the stream now stands at the pickle


def holds_objects(descr: object) -> bool:
    """Whether a dtype description (a type string or a list of fields) has an object part."""
    if isinstance(descr, str):
        return descr.lstrip("<>|=").startswith("O")
    if isinstance(descr, list):
        return any(
            isinstance(field, tuple) and len(field) >= 2 and holds_objects(field[1])
            for field in descr
        )
    return False


def _report(log: FindingLog, where: str, message: str) -> None:
    log.add(where, FindingKind.NUMPY_HEADER, Severity.WARNING, message)
