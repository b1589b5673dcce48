"""Blob garbage collection: mark and sweep, with a grace period for uploads in flight.

Two kinds of garbage, both older than the cutoff (``now - grace``):

* **unreferenced**: a ``blobs`` row that no version's file and no OCI manifest names (its
  versions were deleted, or it was uploaded and never registered). The row goes first, in a
  transaction whose DELETE re-checks both conditions in the same statement; the bytes go
  after the commit.
* **orphaned**: bytes in the blob store with no row at all (a crash between the bytes
  becoming durable and their row being committed, or between the two steps above).

Why no row ever points at missing bytes (DESIGN invariant 2): bytes are removed only once no
row names them, either because this run's commit deleted the row or because there was none;
and every removal is ``delete(put_before=…)``, which keeps a blob put again since. An upload
that records a row always puts the bytes first (a put of bytes already held refreshes them),
so an upload racing the collector either refreshed the bytes before the removal looked, and
they stay, or stores them anew after it. What remains is an upload between its put and its
row's commit: nothing but time separates those two steps, so bytes put within ``min_age``
(ten minutes) stay whatever the grace; rows obey the grace alone, and bytes whose row went
meanwhile are orphans for a later run. Versions reference blobs through ``version_files``,
OCI manifests (configs, derived tars, referrers' layers) through ``oci_blob_refs``; their
foreign keys and the DELETE's re-check keep a referenced row.

A namespace's link to a blob (``blob_links``: which namespaces may read it) is no reference:
an uploaded blob no version or manifest names goes after the grace whoever holds it, and its
links go with its row (the foreign key cascades), so no namespace is left holding bytes that
are gone; uploaded again, the blob is linked again.

Upload sessions are never touched: their bytes live apart from blobs and expire on their own
(``BlobService.purge_expired``). Several processes may collect at once: each row is deleted by
one transaction only, and deleting bytes already gone is not an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice

from cairn.errors import InvalidInput
from cairn.services.auth import EVERYWHERE, Actor, Permission, authorize
from cairn.services.uow import Database
from cairn.storage.blobs import BlobStat, BlobStore
from cairn.storage.blobs.base import BlobEntry

BATCH = 500
# Far longer than an upload takes from its bytes' put to its row's commit (milliseconds; at
# worst a database lock wait).
MIN_AGE = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class GcReport:
    """What a run collected (or, in a dry run, would collect), each kind sorted by digest:
    ``unreferenced`` rows (their bytes go with them unless put within ``min_age``; then a
    later run removes them as orphans) and ``orphaned`` bytes."""

    dry_run: bool
    cutoff: datetime
    unreferenced: tuple[BlobStat, ...]
    orphaned: tuple[BlobStat, ...]

    @property
    def deleted(self) -> int:
        return len(self.unreferenced) + len(self.orphaned)

    @property
    def bytes(self) -> int:
        return sum(b.size for b in self.unreferenced) + sum(b.size for b in self.orphaned)


class GarbageCollector:
    """Collects blobs no version needs. Its clock is the database's (``Database.clock``)."""

    def __init__(self, db: Database, store: BlobStore, *, min_age: timedelta = MIN_AGE) -> None:
        self.db = db
        self.store = store
        self.min_age = min_age

    def collect(self, actor: Actor, *, grace: timedelta, dry_run: bool = False) -> GcReport:
        """Delete the blobs no version names that are older than ``grace``; with ``dry_run``,
        only say which. A global admin's task: it reaches into every namespace."""
        authorize(actor, Permission.ADMIN, EVERYWHERE)
        if grace < timedelta(0):
            raise InvalidInput("the grace period cannot be negative", field="grace")
        now = self.db.clock()
        cutoff = now - grace
        put_before = min(cutoff, now - self.min_age)
        unreferenced = self._unreferenced(actor, cutoff)
        orphaned = self._orphaned(actor, put_before)
        if dry_run:
            return GcReport(True, cutoff, tuple(unreferenced), tuple(orphaned))
        # Orphans first, so that the run's one audit entry can say what was removed.
        removed = [b for b in orphaned if self.store.delete(b.digest, put_before=put_before)]
        swept = self._sweep(actor, unreferenced, removed, cutoff)
        for blob in swept:
            self.store.delete(blob.digest, put_before=put_before)
        return GcReport(False, cutoff, tuple(swept), tuple(removed))

    def _unreferenced(self, actor: Actor, cutoff: datetime) -> list[BlobStat]:
        # Marked in short reads, so the sweep's write transaction stays short as well.
        found: list[BlobStat] = []
        after: str | None = None
        while True:
            with self.db.read(actor, EVERYWHERE, Permission.ADMIN) as store:
                page = store.blobs.unreferenced(cutoff, after, BATCH)
            found.extend(BlobStat(digest, size) for digest, size in page)
            if len(page) < BATCH:
                return found
            after = page[-1][0]

    def _orphaned(self, actor: Actor, put_before: datetime) -> list[BlobStat]:
        # The store is listed before the rows are read: a row recorded after this read
        # follows a put that refreshed the bytes, which ``delete(put_before=…)`` then keeps.
        old = (e for e in self.store.iter_blobs() if e.modified < put_before)
        found: list[BlobStat] = []
        for batch in _batches(old, BATCH):
            with self.db.read(actor, EVERYWHERE, Permission.ADMIN) as store:
                known = store.blobs.sizes(e.digest for e in batch)
            found.extend(BlobStat(e.digest, e.size) for e in batch if e.digest not in known)
        return sorted(found, key=lambda b: b.digest)

    def _sweep(
        self,
        actor: Actor,
        unreferenced: list[BlobStat],
        removed: list[BlobStat],
        cutoff: datetime,
    ) -> list[BlobStat]:
        """Delete the rows still unreferenced and record the run; return the rows deleted."""
        if not unreferenced and not removed:
            return []
        with self.db.write(actor, Permission.ADMIN, EVERYWHERE) as uow:
            rows = uow.store.blobs.delete_unreferenced((b.digest for b in unreferenced), cutoff)
            swept = sorted((BlobStat(d, s) for d, s in rows), key=lambda b: b.digest)
            if swept or removed:
                uow.record(
                    "gc.sweep",
                    "blobs",
                    event=False,  # housekeeping, as upload.purge: nothing a subscriber acts on
                    deleted=len(swept) + len(removed),
                    bytes=sum(b.size for b in swept) + sum(b.size for b in removed),
                    unreferenced=len(swept),
                    orphaned=len(removed),
                    cutoff=cutoff.isoformat(),
                )
        return swept


def _batches(entries: Iterable[BlobEntry], size: int) -> Iterator[list[BlobEntry]]:
    it = iter(entries)
    while batch := list(islice(it, size)):
        yield batch
