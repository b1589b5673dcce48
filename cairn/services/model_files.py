"""Reading the few small files a version's metadata is derived from (``cairn.domain.derived``).

Runs before the registration's transaction, as the scan does, and reads little: the small
files ``model_files.wanted`` names whole (each at most ``SMALL_FILE_MAX`` bytes) and, of each
safetensors file, its 8-byte length and its header (at most ``HEADER_MAX`` bytes, and
``HEADERS_TOTAL_MAX`` for all of them). A blob that
is missing or shorter than the manifest says is skipped: the transaction refuses such a
registration precisely anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

from cairn.domain import model_files as mf
from cairn.domain.derived import Derived, derive
from cairn.domain.manifest import FileEntry
from cairn.errors import BlobNotFound, InvalidRange
from cairn.storage.blobs import BlobStore


def read_derived(blobs: BlobStore, files: Sequence[FileEntry]) -> Derived:
    """What the version's own files say about it."""
    found = mf.wanted(files)
    small: dict[str, bytes] = {}
    for entry in found.small():
        data = _read(blobs, entry, 0, entry.size)
        if data is not None:
            small[entry.path] = data
    tensors: dict[str, dict[str, int]] = {}
    budget = mf.HEADERS_TOTAL_MAX
    for entry in found.safetensors:  # one header in memory at a time, parsed as it comes
        prefix = _read(blobs, entry, 0, 8)
        length = mf.safetensors_header_length(prefix or b"", entry.size)
        if length is None or length > budget:
            continue
        budget -= length
        header = _read(blobs, entry, 8, 8 + length)
        counts = mf.read_safetensors_header(header) if header is not None else None
        if counts is not None:
            tensors[entry.path] = counts
    return derive(files, small, tensors)


def _read(blobs: BlobStore, entry: FileEntry, start: int, end: int) -> bytes | None:
    try:
        return b"".join(blobs.read(entry.digest, start, end))
    except (BlobNotFound, InvalidRange):
        return None
