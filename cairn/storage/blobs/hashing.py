"""sha256 beside the I/O: a stream's chunks are hashed in a helper thread while the caller
writes them, so storing a blob costs about max(hash, write) rather than their sum. hashlib
releases the GIL on large buffers, so the two really run at once on two cores."""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any

_DEPTH = 4  # chunks the hash may lag behind the writes: bounds the memory held
_PARALLEL_FROM = 256 * 1024  # smaller chunks are hashed inline: a thread would cost more


class StreamHasher:
    """Counts and hashes the chunks that pass through ``feed``; read ``hexdigest`` after."""

    def __init__(self, hasher: Any | None = None) -> None:
        self.hasher = hasher if hasher is not None else hashlib.sha256()
        self.size = 0
        self._pipe: queue.Queue[bytes | None] | None = None
        self._thread: threading.Thread | None = None

    def feed(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        try:
            for chunk in chunks:
                self.size += len(chunk)
                if len(chunk) >= _PARALLEL_FROM:
                    self._helper().put(chunk)
                else:
                    self._drain()
                    self.hasher.update(chunk)
                yield chunk
        finally:
            self._drain()

    def hexdigest(self) -> str:
        self._drain()
        return str(self.hasher.hexdigest())

    def _helper(self) -> queue.Queue[bytes | None]:
        if self._pipe is None:
            pipe: queue.Queue[bytes | None] = queue.Queue(maxsize=_DEPTH)
            update = self.hasher.update

            def run() -> None:
                while (chunk := pipe.get()) is not None:
                    update(chunk)

            self._thread = threading.Thread(target=run, name="cairn-hash", daemon=True)
            self._thread.start()
            self._pipe = pipe
        return self._pipe

    def _drain(self) -> None:
        """Wait until every chunk handed to the helper is hashed, and let the helper go."""
        if self._pipe is not None and self._thread is not None:
            self._pipe.put(None)
            self._thread.join()
            self._pipe = self._thread = None
