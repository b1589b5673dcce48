"""What a scan says: findings, one result per file, and the summary of a version.

A file's status follows from its findings, so it can never disagree with them:

- ``flagged``: at least one finding of severity medium or above that is not a scanner error;
  something in the file is known or suspected to be unsafe.
- ``error``: the scan could not finish (unparseable or truncated data, a limit reached, an
  exception) and nothing worse was found. An error is a failure, never a pass.
- ``clean``: every finding, if any, is low (informational).
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from importlib.metadata import version

SCANNER_NAME = "cairn-scan"
# Bumped whenever a rule changes what a file's status would be.
RULES_VERSION = "1"


@functools.cache
def scanner_version() -> str:
    """Cairn's rules and the picklescan release whose blocklist they consult."""
    return f"{RULES_VERSION}+picklescan-{version('picklescan')}"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}


class ScanStatus(StrEnum):
    CLEAN = "clean"
    FLAGGED = "flagged"
    ERROR = "error"


class FindingKind(StrEnum):
    DANGEROUS_GLOBAL = "dangerous_global"
    UNKNOWN_GLOBAL = "unknown_global"
    DYNAMIC_GLOBAL = "dynamic_global"
    EXTENSION_CODE = "extension_code"
    TRAILING_DATA = "trailing_data"
    UNSAFE_MEMBER_PATH = "unsafe_member_path"
    DUPLICATE_MEMBER = "duplicate_member"
    ARCHIVE_LINK = "archive_link"
    SPECIAL_MEMBER = "special_member"
    SAFETENSORS_HEADER = "safetensors_header"
    NUMPY_HEADER = "numpy_header"
    SCAN_ERROR = "scan_error"
    TOO_MANY_FINDINGS = "too_many_findings"


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the scanner noticed.

    ``path`` is where inside the scanned file: ``""`` for the file itself, a member's name in an
    archive, and ``outer.zip!/inner.pkl`` for a member of a nested archive. ``offset`` is the
    byte offset in that stream, where it helps (pickle opcodes).
    """

    path: str
    kind: FindingKind
    severity: Severity
    message: str
    offset: int | None = None


@dataclass(frozen=True, slots=True)
class FileScanResult:
    path: str
    status: ScanStatus
    # What the bytes were read as: pickle, zip, tar, gzip, safetensors, npy, or unrecognised
    # (no structure this scanner reads, such as JSON or text; nothing in it was flagged).
    format: str
    findings: tuple[Finding, ...]
    scanner: str
    scanner_version: str

    @property
    def worst_severity(self) -> Severity | None:
        return _worst(f.severity for f in self.findings)


@dataclass(frozen=True, slots=True)
class VersionScanSummary:
    status: ScanStatus
    files: tuple[FileScanResult, ...]  # sorted by path
    worst_severity: Severity | None
    scanner: str
    scanner_version: str

    @property
    def flagged_paths(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.files if f.status is ScanStatus.FLAGGED)

    @property
    def error_paths(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.files if f.status is ScanStatus.ERROR)


def status_of(findings: Iterable[Finding]) -> ScanStatus:
    failed = False
    for finding in findings:
        if finding.kind is FindingKind.SCAN_ERROR:
            failed = True
        elif finding.severity.rank >= Severity.MEDIUM.rank:
            return ScanStatus.FLAGGED
    return ScanStatus.ERROR if failed else ScanStatus.CLEAN


def summarise_version(results: Iterable[FileScanResult]) -> VersionScanSummary:
    """Fold the per-file results of one version: flagged beats error beats clean.

    A version with no files is clean. When the files were scanned by different scanner
    versions, every version is named.
    """
    files = tuple(sorted(results, key=lambda r: r.path))
    statuses = {r.status for r in files}
    if ScanStatus.FLAGGED in statuses:
        status = ScanStatus.FLAGGED
    elif ScanStatus.ERROR in statuses:
        status = ScanStatus.ERROR
    else:
        status = ScanStatus.CLEAN
    return VersionScanSummary(
        status=status,
        files=files,
        worst_severity=_worst(f.severity for r in files for f in r.findings),
        scanner=", ".join(sorted({r.scanner for r in files})) or SCANNER_NAME,
        scanner_version=", ".join(sorted({r.scanner_version for r in files})) or scanner_version(),
    )


def _worst(severities: Iterable[Severity]) -> Severity | None:
    return max(severities, key=lambda s: s.rank, default=None)


class FindingLog:
    """Collects one file's findings in the order they were found.

    The same finding at the same place is kept once (a global imported a thousand times is one
    finding). Past ``limit`` findings the rest are counted into one closing finding that
    carries the worst severity among them, so truncating the list never softens the status.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._items: list[Finding] = []
        self._seen: set[tuple[str, FindingKind, Severity, str]] = set()
        self._dropped = 0
        self._dropped_worst: Severity | None = None
        self._dropped_error = False

    def add(
        self,
        path: str,
        kind: FindingKind,
        severity: Severity,
        message: str,
        offset: int | None = None,
    ) -> None:
        path, message = printable(path), printable(message)
        key = (path, kind, severity, message)
        if key in self._seen:
            return
        if len(self._items) >= self._limit:
            self._dropped += 1
            if kind is FindingKind.SCAN_ERROR:
                self._dropped_error = True
            else:
                self._dropped_worst = _worst(s for s in (self._dropped_worst, severity) if s)
            return
        self._seen.add(key)
        self._items.append(Finding(path, kind, severity, message, offset))

    def error(self, path: str, message: str, offset: int | None = None) -> None:
        self.add(path, FindingKind.SCAN_ERROR, Severity.HIGH, message, offset)

    def findings(self) -> tuple[Finding, ...]:
        items = list(self._items)
        if self._dropped:
            message = f"{self._dropped} further findings not listed"
            if self._dropped_worst is not None:
                kind = FindingKind.TOO_MANY_FINDINGS
                items.append(Finding("", kind, self._dropped_worst, message))
            if self._dropped_error:
                # A scanner error among the dropped ones must still turn the status to error.
                items.append(Finding("", FindingKind.SCAN_ERROR, Severity.HIGH, message))
        return tuple(items)


def printable(text: str) -> str:
    """``text`` with control, format and surrogate characters written as escapes (``\\x00``,
    ``\\u202e``). Findings quote what the bytes of a file say (a pickle's global names, an
    archive member's name), and those may hold anything: escaped, a finding can be stored by
    every database, shown in a terminal without driving it, and still says what was there."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == " " else _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp", "Co", "Cn"):
        return ch
    code = ord(ch)
    return (
        f"\\x{code:02x}"
        if code < 0x100
        else f"\\u{code:04x}"
        if code < 0x10000
        else f"\\U{code:08x}"
    )
