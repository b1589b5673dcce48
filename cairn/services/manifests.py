"""A process-local cache of manifests' file lists, keyed by manifest digest.

A manifest digest names its file list for good (that is what content addressing means), so a
cached list can never be stale: no invalidation, only eviction.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from cairn.domain.manifest import FileEntry

ENTRIES_MAX = 4096
FILES_MAX = 1000  # larger manifests are read from the database each time


class ManifestCache:
    def __init__(self, entries: int = ENTRIES_MAX) -> None:
        self._entries = entries
        self._lists: OrderedDict[str, tuple[FileEntry, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: str) -> tuple[FileEntry, ...] | None:
        with self._lock:
            found = self._lists.get(digest)
            if found is not None:
                self._lists.move_to_end(digest)
            return found

    def put(self, digest: str, files: tuple[FileEntry, ...]) -> None:
        if len(files) > FILES_MAX:
            return
        with self._lock:
            self._lists[digest] = files
            self._lists.move_to_end(digest)
            while len(self._lists) > self._entries:
                self._lists.popitem(last=False)
