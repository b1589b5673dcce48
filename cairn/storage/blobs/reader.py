"""A blob as a seekable, read-only file object, over any ``BlobStore``'s range reads.

For readers that need to seek — the scanner jumps to a zip's central directory and reads a
safetensors header before its data — without holding the blob in memory or knowing where the
store keeps it.
"""

from __future__ import annotations

import errno
import io

from cairn.storage.blobs.base import BlobStore

BUFFER = 1 << 20


class _RangeReader(io.RawIOBase):
    def __init__(self, store: BlobStore, digest: str, size: int) -> None:
        self._store, self._digest, self._size, self._position = store, digest, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        if base + offset < 0:  # as a regular file answers it
            raise OSError(errno.EINVAL, "Invalid argument: a negative seek position")
        self._position = base + offset
        return self._position

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        end = min(self._size, self._position + len(buffer))
        if end <= self._position:
            return 0
        filled = 0
        for chunk in self._store.read(self._digest, self._position, end):
            buffer[filled : filled + len(chunk)] = chunk
            filled += len(chunk)
        self._position += filled
        return filled


def open_blob(store: BlobStore, digest: str, size: int) -> io.BufferedReader:
    """The blob ``digest`` of ``size`` bytes as a buffered, seekable binary file."""
    return io.BufferedReader(_RangeReader(store, digest, size), buffer_size=BUFFER)
