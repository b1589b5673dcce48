"""Scanning one file: recognising what its bytes are, and reading each part with its reader.

The format comes from the bytes first and the file's name second::

    PK\\x03\\x04 / PK\\x05\\x06   zip (also PyTorch's .pt/.pth/.bin, NumPy's .npz)
    \\x1f\\x8b                    gzip
    "ustar" at byte 257         tar
    \\x93NUMPY                   .npy
    .safetensors, or 8 bytes of length then '{'        safetensors
    .pkl .pickle .joblib .p .pt .pth .ckpt             pickle, expected
    \\x80 + protocol 0-5, or .bin                       pickle, tried
    anything else                                     unrecognised: nothing to read

A file read as a pickle is also opened as a zip when it ends like one, since PyTorch picks
the zip reading of a file that is both. Archives are scanned member by member, recursively,
up to ``max_nesting`` levels (gzip counts as one); past that is a scanner error.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO

from cairn.domain.scanning import archives
from cairn.domain.scanning.numpy_files import MAGIC as NPY_MAGIC
from cairn.domain.scanning.numpy_files import scan_npy
from cairn.domain.scanning.pickle_rules import GlobalJudge
from cairn.domain.scanning.pickle_scan import scan_pickle
from cairn.domain.scanning.results import (
    SCANNER_NAME,
    FileScanResult,
    FindingLog,
    scanner_version,
    status_of,
)
from cairn.domain.scanning.safetensors import HEADER_LIMIT, scan_safetensors

PICKLE_SUFFIXES = frozenset({".pkl", ".pickle", ".joblib", ".p", ".pt", ".pth", ".ckpt"})
MAYBE_PICKLE_SUFFIXES = frozenset({".bin"})
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_HEAD = 512


@dataclass(frozen=True, slots=True)
class ScanOptions:
    # Globals a namespace vouches for, as (module, name): ("sklearn.tree", "DecisionTree").
    # They pass as clean unless they are on a dangerous list.
    trusted_globals: frozenset[tuple[str, str]] = frozenset()
    max_nesting: int = 4
    max_members: int = 100_000
    max_findings: int = 1000
    max_pickle_stack: int = 1_000_000
    max_pickle_memo: int = 1_000_000
    max_safetensors_header: int = HEADER_LIMIT


def scan_file(stream: IO[bytes], path: str, options: ScanOptions | None = None) -> FileScanResult:
    """Scan one file of a model version, from its first byte, without running any of it.

    ``stream`` is a seekable binary file object (an open blob); ``path`` is the file's path in
    the model, used as a hint of its format. Every failure of the scanner itself, whatever
    it is, ends up as a ``scan_error`` finding, so a result is never clean by accident::

        with open(blob_path, "rb") as blob:
            result = scan_file(blob, "model/pytorch_model.bin")
        if result.status != "clean": ...
    """
    options = options or ScanOptions()
    log = FindingLog(options.max_findings)
    scan = _FileScan(options, log)
    try:
        scan.stream(stream, path, "", 0)
    except Exception as exc:  # whatever broke, the file must not read as clean
        log.error("", f"the scanner failed: {type(exc).__name__}: {exc}"[:500])
    findings = log.findings()
    return FileScanResult(
        path=path,
        status=status_of(findings),
        format=scan.format,
        findings=findings,
        scanner=SCANNER_NAME,
        scanner_version=scanner_version(),
    )


def detect(head: bytes, name: str) -> str:
    """The format of a stream: its first bytes first, its name's suffix second."""
    suffix = PurePosixPath(name.replace("\\", "/")).suffix.lower()
    if head.startswith(_ZIP_MAGIC):
        return "zip"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head[257:262] == b"ustar":
        return "tar"
    if head.startswith(NPY_MAGIC):
        return "npy"
    if suffix == ".safetensors" or _looks_like_safetensors(head):
        return "safetensors"
    if suffix in PICKLE_SUFFIXES:
        return "pickle"
    if (head[:1] == b"\x80" and head[1:2] and head[1] <= 5) or suffix in MAYBE_PICKLE_SUFFIXES:
        return "maybe-pickle"
    if suffix == ".tar":
        return "tar"
    return "unrecognised"


class _FileScan:
    def __init__(self, options: ScanOptions, log: FindingLog) -> None:
        self._options = options
        self._log = log
        self._judge = GlobalJudge(options.trusted_globals)
        self._budget = archives.MemberBudget(options.max_members)
        self.format = "unrecognised"

    def stream(self, stream: IO[bytes], name: str, where: str, depth: int) -> None:
        """Scan one stream: the file itself (depth 0) or a member, from its start."""
        stream.seek(0)
        head = stream.read(_HEAD)
        stream.seek(0)
        kind = detect(head, name)
        if depth == 0:
            self.format = kind
        if kind in ("zip", "tar", "gzip"):
            self._archive(kind, stream, name, where, depth)
        elif kind == "safetensors":
            limit = self._options.max_safetensors_header
            scan_safetensors(stream, where, self._log, limit)
        elif kind == "npy":
            scan_npy(stream, where, self._log, lambda s: self._pickle(s, where, expected=True))
        elif kind in ("pickle", "maybe-pickle"):
            was_pickle = self._pickle(stream, where, expected=kind == "pickle")
            if depth == 0:
                self.format = "pickle" if was_pickle else "unrecognised"
            stream.seek(0)
            if zipfile.is_zipfile(stream):
                self._archive("zip", stream, name, where, depth)

    def _pickle(self, stream: IO[bytes], where: str, *, expected: bool) -> bool:
        return scan_pickle(
            stream,
            where,
            self._log,
            self._judge,
            expected=expected,
            stack_limit=self._options.max_pickle_stack,
            memo_limit=self._options.max_pickle_memo,
        )

    def _archive(self, kind: str, stream: IO[bytes], name: str, where: str, depth: int) -> None:
        if depth >= self._options.max_nesting:
            limit = self._options.max_nesting
            self._log.error(where, f"archives nested more than {limit} deep are not scanned")
            return
        stream.seek(0)

        def member(inner: IO[bytes], inner_name: str, at: str) -> None:
            self.stream(inner, inner_name, at, depth + 1)

        if kind == "zip":
            archives.scan_zip(stream, where, self._log, member, self._budget)
        elif kind == "tar":
            archives.scan_tar(stream, where, self._log, member, self._budget)
        else:
            with archives.gunzip(stream) as inner:
                self.stream(inner, _strip_gz(name), where, depth + 1)


def _looks_like_safetensors(head: bytes) -> bool:
    return len(head) > 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < 2**32


def _strip_gz(name: str) -> str:
    lowered = name.lower()
    if lowered.endswith(".tgz"):
        return name[:-4] + ".tar"
    return name[:-3] if lowered.endswith(".gz") else name
