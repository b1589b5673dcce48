"""A lock held in one S3 object, for callers in any process that share the bucket.

Taking it is creating the object with a conditional write (``If-None-Match: *``), which S3
lets exactly one writer win; leaving it is deleting it. The holder rewrites the object every
third of the lease (conditional on the ETag it last wrote), and a waiter takes over an object
not rewritten for a whole lease — its holder crashed — again with a write conditional on the
ETag it saw, so of two waiters only one wins. Ages are measured by the store's clock (an
object's Last-Modified against the response's Date), so the machines' clocks do not matter.

What no lease can rule out: a holder paused, or cut off from the store, for longer than the
lease goes on after another caller took over. A holder that must not act late checks
``fresh()`` just before it acts: its last rewrite was confirmed less than half a lease ago, so
no one can have taken over yet.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from types import TracebackType

from cairn.errors import CairnError, StorageUnavailable
from cairn.storage.blobs.s3.bucket import Bucket

__all__ = ["LEASE_SECONDS", "Lease"]

LEASE_SECONDS = 30.0
WAIT_SECONDS = 900.0  # a waiter gives up after this long: something is wrong with the store
_FIRST_PAUSE, _LONGEST_PAUSE = 0.01, 0.25

log = logging.getLogger("cairn.blobs.s3")


class Lease:
    """``with Lease(bucket, key):`` holds ``key`` for one caller at a time; re-entrant use of
    one instance is not supported."""

    def __init__(
        self,
        bucket: Bucket,
        key: str,
        *,
        seconds: float = LEASE_SECONDS,
        wait_seconds: float = WAIT_SECONDS,
    ) -> None:
        self._bucket, self._key = bucket, key
        self._seconds, self._wait = seconds, wait_seconds
        self._owner = uuid.uuid4().hex
        self._writes = 0
        self._etag = ""
        self._confirmed = 0.0  # monotonic time our last confirmed write was sent
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def __enter__(self) -> Lease:
        self._acquire()
        self._stop.clear()
        self._renewer = threading.Thread(target=self._renew, name="cairn-s3-lease", daemon=True)
        self._renewer.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
            self._renewer = None
        with self._guard:
            etag = self._etag
        try:
            # Conditional, so a holder that lost the lease never removes the next holder's.
            self._bucket.delete(self._key, if_match=etag)
        except CairnError as refused:
            # A service that refuses conditional deletes: release it plainly rather than leave
            # the next caller waiting a whole lease. Failing that, it goes stale and is taken.
            log.warning("conditional release of lock %s failed: %s", self._key, refused)
            try:
                self._bucket.delete(self._key)
            except CairnError as failure:
                log.warning("could not release lock %s: %s", self._key, failure)

    def fresh(self) -> bool:
        """Whether no other caller can have taken the lock over yet."""
        with self._guard:
            return time.monotonic() - self._confirmed < self._seconds / 2

    def _acquire(self) -> None:
        deadline = time.monotonic() + self._wait
        pause = _FIRST_PAUSE
        while True:
            sent = time.monotonic()
            etag = self._bucket.put(
                self._key, self._body(), metadata={"owner": self._owner}, if_absent=True
            )
            if etag is None:
                sent = time.monotonic()
                etag = self._take_over_if_stale()
            if etag is not None:
                with self._guard:
                    self._etag, self._confirmed = etag, sent
                return
            if time.monotonic() > deadline:
                raise StorageUnavailable(
                    f"waited {self._wait:.0f} s for the lock {self._key}", key=self._key
                )
            time.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE)

    def _take_over_if_stale(self) -> str | None:
        held = self._bucket.head(self._key)
        if held is None:
            return None  # released meanwhile: the next round may take it
        if held.metadata.get("owner") == self._owner:
            return held.etag  # our own write, whose answer was lost and retried
        if held.age is None or held.age <= self._seconds:
            return None
        log.warning("taking over lock %s, not renewed for %.0f s", self._key, held.age)
        return self._bucket.put(
            self._key, self._body(), metadata={"owner": self._owner}, if_match=held.etag
        )

    def _renew(self) -> None:
        while not self._stop.wait(self._seconds / 3):
            with self._guard:
                etag = self._etag
            sent = time.monotonic()
            try:
                renewed = self._bucket.put(
                    self._key, self._body(), metadata={"owner": self._owner}, if_match=etag
                )
                if renewed is None:
                    held = self._bucket.head(self._key)
                    mine = held is not None and held.metadata.get("owner") == self._owner
                    renewed = held.etag if held is not None and mine else None
            except CairnError as failure:
                log.warning("could not renew lock %s: %s", self._key, failure)
                continue  # fresh() turns false if this goes on
            if renewed is None:
                log.error("lost lock %s to another caller", self._key)
                return
            with self._guard:
                self._etag, self._confirmed = renewed, sent

    def _body(self) -> bytes:
        # A new body on every write, so that every write gets a new ETag.
        self._writes += 1
        return f"{self._owner} {self._writes}\n".encode("ascii")
