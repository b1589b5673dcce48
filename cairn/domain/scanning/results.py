"""What a scan says: findings, one result per file, and the summary of a version.

Each finding has a severity, which says what it means for the file:

- ``blocking``: the file is known to reach something that runs commands, imports or runs
  code while it is loaded, opens sockets or files (``os.system``, ``eval``, …), or is built
  to escape where it is unpacked. Only a waiver of that finding on that version lets it by.
- ``warning``: unusual, not known to be dangerous: a global nobody vouched for, code shipped
  by value as cloudpickle writes it (an MLflow ``PythonModel``), an odd archive member name.
  A policy may accept warnings (``accept_scan_warnings``).
- ``info``: worth knowing, changes nothing (bytes after the last pickle).

A file's status follows from its findings (those not waived), so it can never disagree with
them:

- ``flagged``: at least one blocking finding that is not a scanner error.
- ``error``: the scan could not finish (unparseable or truncated data, a limit reached, an
  exception) and nothing blocking was found. An error is a failure, never a pass.
- ``warnings``: at least one warning, nothing worse.
- ``clean``: every finding, if any, is informational.

A finding is named by its ``finding_id`` (a digest of the file, the place in it, the kind and
the message), the same on every scan of the same bytes by the same rules: what a waiver names.
"""

from __future__ import annotations

import functools
import hashlib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib.metadata import version
from typing import Any

SCANNER_NAME = "cairn-scan"
# Bumped whenever a rule changes what a file's status would be.
RULES_VERSION = "2"


@functools.cache
def scanner_version() -> str:
    """Cairn's rules and the picklescan release whose blocklist they consult."""
    return f"{RULES_VERSION}+picklescan-{version('picklescan')}"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    BLOCKING = "blocking"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.BLOCKING: 2}


class ScanStatus(StrEnum):
    CLEAN = "clean"
    WARNINGS = "warnings"
    FLAGGED = "flagged"
    ERROR = "error"


# Worst first: how the statuses of files (and of findings) fold into one.
STATUS_ORDER = (ScanStatus.FLAGGED, ScanStatus.ERROR, ScanStatus.WARNINGS, ScanStatus.CLEAN)


class FindingKind(StrEnum):
    DANGEROUS_GLOBAL = "dangerous_global"
    CODE_BY_VALUE = "code_by_value"
    LOAD_TIME_CALL = "load_time_call"
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


def finding_id(file: str, path: str, kind: str, message: str) -> str:
    """The stable name of one finding of one file (see the module's docstring)."""
    digest = hashlib.sha256("\0".join((file, path, kind, message)).encode("utf-8", "replace"))
    return digest.hexdigest()[:16]


def status_of(findings: Iterable[Finding]) -> ScanStatus:
    return status_of_pairs((f.kind.value, f.severity.value) for f in findings)


# What the severities of results stored before rules version 2 mean now.
LEGACY_SEVERITIES = {"critical": "blocking", "high": "blocking", "medium": "warning", "low": "info"}


def status_of_pairs(findings: Iterable[tuple[str, str]]) -> ScanStatus:
    """The status that findings given as (kind, severity) amount to; a severity this version
    does not know counts as blocking, so an unreadable result never passes."""
    found = {ScanStatus.CLEAN}
    for kind, stored in findings:
        severity = LEGACY_SEVERITIES.get(stored, stored)
        if severity not in ("blocking", "warning", "info"):
            severity = Severity.BLOCKING
        if kind == FindingKind.SCAN_ERROR:
            found.add(ScanStatus.ERROR)
        elif severity == Severity.BLOCKING:
            return ScanStatus.FLAGGED
        elif severity == Severity.WARNING:
            found.add(ScanStatus.WARNINGS)
    return fold(found)


def fold(statuses: Iterable[ScanStatus]) -> ScanStatus:
    """The worst of ``statuses`` (clean when there are none)."""
    present = set(statuses)
    return next((s for s in STATUS_ORDER if s in present), ScanStatus.CLEAN)


def summarise_version(results: Iterable[FileScanResult]) -> VersionScanSummary:
    """Fold the per-file results of one version: flagged beats error beats warnings beats
    clean.

    A version with no files is clean. When the files were scanned by different scanner
    versions, every version is named.
    """
    files = tuple(sorted(results, key=lambda r: r.path))
    return VersionScanSummary(
        status=fold(r.status for r in files),
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
        self.add(path, FindingKind.SCAN_ERROR, Severity.BLOCKING, message, offset)

    def findings(self) -> tuple[Finding, ...]:
        items = list(self._items)
        if self._dropped:
            message = f"{self._dropped} further findings not listed"
            if self._dropped_worst is not None:
                kind = FindingKind.TOO_MANY_FINDINGS
                items.append(Finding("", kind, self._dropped_worst, message))
            if self._dropped_error:
                # A scanner error among the dropped ones must still turn the status to error.
                items.append(Finding("", FindingKind.SCAN_ERROR, Severity.BLOCKING, message))
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


def scan_reason(scan: Mapping[str, Any], shown: int = 3) -> str:
    """What a version's ``scan`` validation (its status and details) amounts to, in words,
    naming the worst findings not waived: what a refused promotion says."""
    status = str(scan.get("status", "missing"))
    findings = [f for f in scan.get("findings") or () if isinstance(f, dict)]
    worst = {"flagged": Severity.BLOCKING, "warnings": Severity.WARNING}.get(status)
    named = [
        f
        for f in findings
        if not f.get("waived")
        and (
            LEGACY_SEVERITIES.get(str(f.get("severity")), f.get("severity")) == worst
            or (status == "error" and f.get("kind") == "scan_error")
        )
    ]
    if not named:
        return f"the scan is {status}"
    listed = "; ".join(
        f"{f.get('file')}: {f.get('message')} ({f.get('kind')}, finding {f.get('id')})"
        for f in named[:shown]
    )
    more = f"; and {len(named) - shown} more" if len(named) > shown else ""
    return f"the scan is {status}: {listed}{more}"
