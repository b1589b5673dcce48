"""The model-file scanner: reads bytes, runs nothing (DESIGN §2.7, §5).

Every file of a version is scanned on its own with :func:`scan_file`, and the results are
folded into one verdict with :func:`summarise_version`::

    scan_file(stream, path) ─► FileScanResult ─┐
    scan_file(stream, path) ─► FileScanResult ─┼─► summarise_version ─► VersionScanSummary
    …                                          ┘

What is read, and what is flagged at which severity:

    pickle (also PyTorch's data.pkl, legacy .pt files, object-dtype .npy, and any pickle
    inside zip, tar or gzip archives, nested)
        dangerous_global   critical  os.system, subprocess, builtins.eval/exec/getattr/
                                     __import__, runpy, importlib, … (Cairn's list + picklescan)
        dynamic_global     critical  STACK_GLOBAL whose names are computed while loading
        extension_code     high      EXT1/2/4: a global from copyreg's extension registry
        unknown_global     medium    any global not on the known-safe list
        trailing_data      low       bytes after the last pickle that are not a pickle
    archives
        unsafe_member_path high      absolute paths, '..' climbing out of the folder
                           medium    other '..' segments, control characters
        archive_link       high      symlinks/hard links pointing out of the archive; zip symlinks
                           medium    other links
        special_member     medium    device files and FIFOs in tar
        duplicate_member   medium    the same name twice
    safetensors
        safetensors_header high      header length past the file or the limit, overlapping or
                                     out-of-file offsets, malformed data_offsets
                           medium    bad JSON, UTF-8 or __metadata__, unknown dtype, shape and
                                     size disagreeing, unused bytes
    any
        scan_error         high      truncated or unparseable data, a limit reached, an
                                     exception: the status is ``error``, never ``clean``

See :mod:`cairn.domain.scanning.pickle_rules` for how globals are judged.
"""

from cairn.domain.scanning.results import (
    SCANNER_NAME,
    FileScanResult,
    Finding,
    FindingKind,
    ScanStatus,
    Severity,
    VersionScanSummary,
    scanner_version,
    summarise_version,
)
from cairn.domain.scanning.scan import ScanOptions, scan_file

__all__ = [
    "SCANNER_NAME",
    "FileScanResult",
    "Finding",
    "FindingKind",
    "ScanOptions",
    "ScanStatus",
    "Severity",
    "VersionScanSummary",
    "scan_file",
    "scanner_version",
    "summarise_version",
]
