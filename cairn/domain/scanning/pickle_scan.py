"""Scanning one stream as a pickle, or as the sequence of pickles some formats write.

A stream may hold several pickles back to back; each one is walked, since a loader that
reads them in a loop would run them all. The legacy (pre-zip) PyTorch format is five pickles
(magic number, protocol, system info, the object, storage keys) followed by raw tensor bytes
that are never unpickled; when the first pickle is PyTorch's magic number, the scan stops
after the fifth.

A stream that is *expected* to be a pickle (by its name, or by its protocol header) and does
not parse to the end of its first pickle is a scanner error. A stream that was only tried
(``.bin``) and breaks before importing anything is simply not a pickle: the unpickler would
have stopped there too, without importing anything.
"""

from __future__ import annotations

from typing import IO

from cairn.domain.scanning.byte_reader import ByteReader, PickleLimitExceeded, PickleSyntaxError
from cairn.domain.scanning.pickle_ops import PickleWalker
from cairn.domain.scanning.pickle_rules import GlobalJudge
from cairn.domain.scanning.results import FindingKind, FindingLog, Severity

TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_TORCH_LEGACY_PICKLES = 5


def scan_pickle(
    stream: IO[bytes],
    where: str,
    log: FindingLog,
    judge: GlobalJudge,
    *,
    expected: bool,
    stack_limit: int,
    memo_limit: int,
) -> bool:
    """Report what the pickle(s) in ``stream`` would import; return whether it was a pickle."""
    reader = ByteReader(stream)
    if reader.at_end():
        if expected:
            log.error(where, "the file is empty; a pickle was expected")
        return expected
    count = 0
    wanted: int | None = None  # how many pickles the format holds, when it says
    while True:
        walker = PickleWalker(reader, stack_limit=stack_limit, memo_limit=memo_limit)
        try:
            for ref in walker.references():
                verdict = judge.judge(ref)
                if verdict is not None:
                    log.add(where, verdict.kind, verdict.severity, verdict.message, ref.offset)
        except PickleSyntaxError as exc:
            imported = walker.imports > 0
            return _broken(exc, where, log, count, wanted, expected=expected, imported=imported)
        except PickleLimitExceeded as exc:
            log.error(where, f"{exc}; the rest was not scanned", reader.offset)
            return True
        count += 1
        if count == 1 and walker.result == TORCH_LEGACY_MAGIC:
            wanted = _TORCH_LEGACY_PICKLES
        if wanted is not None and count >= wanted:
            return True
        if reader.at_end():
            if wanted is not None:
                log.error(where, f"a legacy PyTorch file holds {wanted} pickles, not {count}")
            return True


def _broken(
    exc: PickleSyntaxError,
    where: str,
    log: FindingLog,
    count: int,
    wanted: int | None,
    *,
    expected: bool,
    imported: bool,
) -> bool:
    if count == 0:
        if not expected and not imported:
            return False
        log.error(where, f"not a complete pickle: {exc}", exc.offset)
    elif wanted is not None:
        log.error(where, f"pickle {count + 1} of a legacy PyTorch file is broken: {exc}")
    else:
        log.add(
            where,
            FindingKind.TRAILING_DATA,
            Severity.INFO,
            f"the data after pickle {count} is not a pickle ({exc})",
            exc.offset,
        )
    return True
