"""Blob garbage collection, called as a service on SQLite and PostgreSQL with a real blob folder.

Blobs are made "old" by giving the collector a database whose clock reads later (or reads a
moment taken between two uploads), never by sleeping for hours or patching anything.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cairn import errors
from cairn.domain.manifest import parse_manifest
from cairn.domain.references import Reference
from cairn.domain.registrations import Registration
from cairn.services.auth import EVERYWHERE, LOCAL_ADMIN, Actor, Permission, Role
from cairn.services.container import Services
from cairn.services.gc import GarbageCollector, GcReport
from cairn.services.uow import Database
from cairn.storage.blobs import BlobStat
from cairn.storage.sql.tables import audit_log, metadata
from tests.conftest import make_settings

GRACE = timedelta(hours=24)
COUNT_ROWS = select(
    *(
        select(func.count()).select_from(table).scalar_subquery().label(table.name)
        for table in metadata.sorted_tables
    )
)


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def upload(svc: Services, data: bytes) -> BlobStat:
    return svc.blobs.put(LOCAL_ADMIN, "default", [data], sha(data), len(data))


def register(svc: Services, model: str, *blobs: bytes) -> Reference:
    files = [{"path": f"f{i}.bin", "size": len(b), "digest": sha(b)} for i, b in enumerate(blobs)]
    registered = svc.versions.register(
        LOCAL_ADMIN, "default", model, Registration(parse_manifest(files))
    )
    return Reference("default", model, number=registered.version.number)


def collector(svc: Services, clock: Callable[[], datetime]) -> GarbageCollector:
    """A collector over the same stores, in a process whose clock is ``clock``; bytes as
    young as the cutoff says may go (no ``min_age``), so that cutoffs can fall between
    uploads a moment apart."""
    return GarbageCollector(Database(svc.db.engine, clock), svc.blob_store, min_age=timedelta(0))


def later(svc: Services) -> GarbageCollector:
    """A collector two days from now: everything uploaded so far is past a day's grace."""
    return collector(svc, lambda: datetime.now(UTC) + 2 * GRACE)


def a_moment_apart() -> datetime:
    """A time after every upload before the call and before every upload after it, also as
    file times tell it (they come from a clock a few milliseconds coarse)."""
    time.sleep(0.03)
    now = datetime.now(UTC)
    time.sleep(0.03)
    return now


def pulled(svc: Services, ref: Reference) -> dict[str, bytes]:
    """Every file of the version, read back and verified against its digest."""
    version = svc.versions.get(LOCAL_ADMIN, ref)
    assert version.files is not None
    return {
        f.path: b"".join(svc.blobs.read(LOCAL_ADMIN, "default", f.digest).chunks)
        for f in version.files
    }


def held(svc: Services, data: bytes) -> tuple[bool, bool]:
    """Whether the registry has a row for the blob, and whether the store has its bytes."""
    digest = sha(data)
    with svc.db.read(LOCAL_ADMIN, None) as store:
        row = digest in store.blobs.sizes([digest])
    return row, svc.blob_store.stat(digest) is not None


def digests(blobs: tuple[BlobStat, ...]) -> list[str]:
    return [b.digest for b in blobs]


def sweeps(svc: Services) -> list[dict[str, object]]:
    query = select(audit_log.c.payload).where(audit_log.c.action == "gc.sweep")
    with svc.db.engine.connect() as conn:
        return [dict(p) for p in conn.execute(query.order_by(audit_log.c.id)).scalars()]


def test_unreferenced_blobs_past_the_grace_go_and_a_versions_blobs_stay(
    services: Services,
) -> None:
    upload(services, b"kept")
    upload(services, b"abandoned")
    ref = register(services, "m", b"kept")

    report = later(services).collect(LOCAL_ADMIN, grace=GRACE)

    assert report.unreferenced == (BlobStat(sha(b"abandoned"), 9),)
    assert report.orphaned == ()
    assert (report.deleted, report.bytes, report.dry_run) == (1, 9, False)
    assert held(services, b"abandoned") == (False, False)
    assert held(services, b"kept") == (True, True)
    assert pulled(services, ref) == {"f0.bin": b"kept"}
    with pytest.raises(errors.BlobNotFound):
        services.blobs.read(LOCAL_ADMIN, "default", sha(b"abandoned"))


def test_a_link_is_no_reference_and_goes_with_its_blob(services: Services) -> None:
    # Links say which namespaces may read a blob; only versions and OCI manifests keep one.
    services.namespaces.create(LOCAL_ADMIN, "team")
    upload(services, b"shared")
    services.blobs.put(LOCAL_ADMIN, "team", [b"shared"], sha(b"shared"), 6)
    services.blobs.put(LOCAL_ADMIN, "team", [b"only linked"], sha(b"only linked"), 11)
    kept = register(services, "m", b"shared")  # in default: team's link alone keeps nothing

    report = later(services).collect(LOCAL_ADMIN, grace=GRACE)

    assert digests(report.unreferenced) == [sha(b"only linked")]
    assert held(services, b"only linked") == (False, False)
    with services.db.read(LOCAL_ADMIN, None) as store:
        assert store.blobs.held("team", [sha(b"only linked"), sha(b"shared")]) == {
            sha(b"shared"): 6
        }
    assert services.blobs.missing(LOCAL_ADMIN, "team", [sha(b"only linked")]) == [
        sha(b"only linked")
    ]
    assert pulled(services, kept) == {"f0.bin": b"shared"}
    # Uploaded again, the blob is back, for that namespace.
    services.blobs.put(LOCAL_ADMIN, "team", [b"only linked"], sha(b"only linked"), 11)
    assert services.blobs.stat(LOCAL_ADMIN, "team", sha(b"only linked")).size == 11


def test_the_blobs_of_a_deleted_version_go_unless_another_version_shares_them(
    services: Services,
) -> None:
    for data in (b"shared", b"only in m:1"):
        upload(services, data)
    gone = register(services, "m", b"shared", b"only in m:1")
    stays = register(services, "n", b"shared")
    services.versions.delete(LOCAL_ADMIN, gone)

    report = later(services).collect(LOCAL_ADMIN, grace=GRACE)

    assert digests(report.unreferenced) == [sha(b"only in m:1")]
    assert held(services, b"shared") == (True, True)
    assert pulled(services, stays) == {"f0.bin": b"shared"}


def test_a_blob_uploaded_after_the_cutoff_survives_and_can_still_be_registered(
    services: Services,
) -> None:
    upload(services, b"old")
    cutoff = a_moment_apart()
    upload(services, b"in flight")  # uploaded, its version not yet registered

    report = collector(services, lambda: cutoff).collect(LOCAL_ADMIN, grace=timedelta(0))

    assert digests(report.unreferenced) == [sha(b"old")]
    assert held(services, b"in flight") == (True, True)
    ref = register(services, "m", b"in flight")
    assert pulled(services, ref) == {"f0.bin": b"in flight"}


def test_an_upload_session_in_progress_is_untouched_and_can_still_finish(
    services: Services,
) -> None:
    data = b"first half|second half"
    session = services.blobs.start_upload(LOCAL_ADMIN, "default")
    services.blobs.append(LOCAL_ADMIN, "default", session.id, 0, [data[:11]])

    report = later(services).collect(LOCAL_ADMIN, grace=GRACE)

    assert report.deleted == 0
    assert services.blob_store.session_size(session.id) == 11
    assert b"".join(services.blob_store.session_read(session.id)) == data[:11]
    services.blobs.append(LOCAL_ADMIN, "default", session.id, 11, [data[11:]])
    services.blobs.finish(LOCAL_ADMIN, "default", session.id, sha(data))
    ref = register(services, "m", data)
    assert pulled(services, ref) == {"f0.bin": data}
    assert later(services).collect(LOCAL_ADMIN, grace=GRACE).deleted == 0


def test_a_blob_uploaded_again_counts_from_its_latest_upload(services: Services) -> None:
    # First uploaded long ago (a process whose clock reads three days back), then again now
    # through a session: the grace runs from now, for the row and for the bytes.
    long_ago = datetime.now(UTC) - 3 * GRACE
    past = Services(
        services.settings,
        Database(services.db.engine, lambda: long_ago),
        services.blob_store,
        services.audit.keys,
    )
    upload(past, b"weights")
    session = services.blobs.start_upload(LOCAL_ADMIN, "default")
    services.blobs.append(LOCAL_ADMIN, "default", session.id, 0, [b"weights"])
    services.blobs.finish(LOCAL_ADMIN, "default", session.id, sha(b"weights"))

    now = collector(services, lambda: datetime.now(UTC))
    assert now.collect(LOCAL_ADMIN, grace=GRACE).deleted == 0
    assert held(services, b"weights") == (True, True)


def test_orphan_bytes_without_a_row_go_once_past_the_grace(services: Services) -> None:
    # What a crash between the bytes becoming durable and their row's commit leaves behind.
    orphan = services.blob_store.put([b"orphan"])
    cutoff = a_moment_apart()
    services.blob_store.put([b"young orphan"])

    report = collector(services, lambda: cutoff).collect(LOCAL_ADMIN, grace=timedelta(0))

    assert report.orphaned == (orphan,)
    assert report.unreferenced == ()
    assert services.blob_store.stat(orphan.digest) is None
    assert held(services, b"young orphan") == (False, True)


def test_bytes_put_moments_ago_stay_whatever_the_grace(services: Services) -> None:
    # An upload commits its row a moment after its bytes: bytes younger than ``min_age``
    # stay even with no grace at all. Their rows obey the grace, and bytes left without a
    # row go with a later run, once old enough.
    upload(services, b"abandoned")
    services.blob_store.put([b"on its way"])  # its row not committed yet
    now = datetime.now(UTC)
    first = GarbageCollector(Database(services.db.engine, lambda: now), services.blob_store)

    report = first.collect(LOCAL_ADMIN, grace=timedelta(0))

    assert (digests(report.unreferenced), report.orphaned) == ([sha(b"abandoned")], ())
    assert held(services, b"abandoned") == (False, True)
    assert held(services, b"on its way") == (False, True)
    upload(services, b"on its way")  # the row arrives; a version may now name it
    ref = register(services, "m", b"on its way")

    an_hour_on = now + timedelta(hours=1)
    second = GarbageCollector(Database(services.db.engine, lambda: an_hour_on), services.blob_store)
    report = second.collect(LOCAL_ADMIN, grace=timedelta(0))

    assert (report.unreferenced, digests(report.orphaned)) == ((), [sha(b"abandoned")])
    assert held(services, b"abandoned") == (False, False)
    assert pulled(services, ref) == {"f0.bin": b"on its way"}


def test_a_dry_run_changes_nothing_and_lists_what_a_run_then_deletes(
    services: Services,
) -> None:
    for data in (b"kept", b"abandoned", b"also abandoned"):
        upload(services, data)
    services.blob_store.put([b"orphan"])
    ref = register(services, "m", b"kept")
    gc = later(services)
    with services.db.engine.connect() as conn:
        rows_before = dict(conn.execute(COUNT_ROWS).mappings().one())
    files_before = sorted(e.digest for e in services.blob_store.iter_blobs())

    dry = gc.collect(LOCAL_ADMIN, grace=GRACE, dry_run=True)

    with services.db.engine.connect() as conn:
        assert dict(conn.execute(COUNT_ROWS).mappings().one()) == rows_before
    assert sorted(e.digest for e in services.blob_store.iter_blobs()) == files_before
    assert dry.dry_run and sweeps(services) == []
    assert digests(dry.unreferenced) == sorted([sha(b"abandoned"), sha(b"also abandoned")])
    assert digests(dry.orphaned) == [sha(b"orphan")]

    real = gc.collect(LOCAL_ADMIN, grace=GRACE)

    assert (real.unreferenced, real.orphaned) == (dry.unreferenced, dry.orphaned)
    assert sorted(e.digest for e in services.blob_store.iter_blobs()) == [sha(b"kept")]
    assert pulled(services, ref) == {"f0.bin": b"kept"}


def test_each_run_that_deletes_something_is_audited_once(services: Services) -> None:
    upload(services, b"abandoned")
    services.blob_store.put([b"orphan"])
    gc = later(services)

    gc.collect(LOCAL_ADMIN, grace=GRACE)
    gc.collect(LOCAL_ADMIN, grace=GRACE)  # nothing left: no entry

    [entry] = sweeps(services)
    assert {k: entry[k] for k in ("deleted", "bytes", "unreferenced", "orphaned")} == {
        "deleted": 2,
        "bytes": len(b"abandoned") + len(b"orphan"),
        "unreferenced": 1,
        "orphaned": 1,
    }


def test_a_row_referenced_after_the_mark_is_kept_by_the_sweep(services: Services) -> None:
    # The DELETE re-checks the reference itself: a version registered between the mark and
    # the sweep keeps its blob (here the two steps are run by hand, in that order).
    upload(services, b"weights")
    cutoff = datetime.now(UTC) + GRACE
    with services.db.read(LOCAL_ADMIN, None) as store:
        assert store.blobs.unreferenced(cutoff) == [(sha(b"weights"), 7)]
    ref = register(services, "m", b"weights")
    with services.db.write(LOCAL_ADMIN, Permission.ADMIN, EVERYWHERE) as uow:
        assert uow.store.blobs.delete_unreferenced([sha(b"weights")], cutoff) == []
    assert pulled(services, ref) == {"f0.bin": b"weights"}


def test_a_version_naming_a_collected_blob_is_refused_cleanly(services: Services) -> None:
    upload(services, b"weights")
    later(services).collect(LOCAL_ADMIN, grace=GRACE)
    with pytest.raises(errors.MissingBlobs):
        register(services, "m", b"weights")
    upload(services, b"weights")  # uploading it again is enough
    assert pulled(services, register(services, "m", b"weights")) == {"f0.bin": b"weights"}


def test_a_row_another_transaction_holds_is_skipped_not_waited_for(
    pg_registry: Services,
) -> None:
    services = pg_registry
    # PostgreSQL: a registration that has inserted a file naming the blob holds the blob's
    # row until it commits (its foreign key check locks it; so does ``held(hold=True)``).
    # The sweep passes such a row by instead of deleting it or waiting.
    upload(services, b"being registered")
    upload(services, b"abandoned")
    with services.db.write(LOCAL_ADMIN, Permission.WRITE, "default") as registration:
        assert registration.store.blobs.held("default", [sha(b"being registered")], hold=True)
        report = later(services).collect(LOCAL_ADMIN, grace=GRACE)
    assert digests(report.unreferenced) == [sha(b"abandoned")]
    assert held(services, b"being registered") == (True, True)


def test_two_collectors_at_once_delete_each_blob_once(services: Services) -> None:
    garbage = [f"abandoned {n}".encode() for n in range(30)]
    orphans = [f"orphan {n}".encode() for n in range(10)]
    kept = [f"kept {n}".encode() for n in range(5)]
    for data in garbage + kept:
        upload(services, data)
    for data in orphans:
        services.blob_store.put([data])
    refs = [register(services, f"m{n}", data) for n, data in enumerate(kept)]
    # Two processes: each its own Database (SQLite's in-process writer lock is per object).
    collectors = [later(services), later(services)]
    reports: list[GcReport] = []
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def run(gc: GarbageCollector) -> None:
        start.wait(10)
        try:
            reports.append(gc.collect(LOCAL_ADMIN, grace=GRACE))
        except BaseException as exc:  # reported below, with the test's own assertion
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(gc,)) for gc in collectors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert failures == [] and len(reports) == 2
    first, second = reports
    assert not set(first.unreferenced) & set(second.unreferenced)
    assert not set(first.orphaned) & set(second.orphaned)
    swept = {b.digest for r in reports for b in r.unreferenced + r.orphaned}
    assert swept == {sha(d) for d in garbage + orphans}
    assert sorted(e.digest for e in services.blob_store.iter_blobs()) == sorted(
        sha(d) for d in kept
    )
    for ref, data in zip(refs, kept, strict=True):
        assert pulled(services, ref) == {"f0.bin": data}
    assert 1 <= len(sweeps(services)) <= 2


@pytest.mark.parametrize(
    "actor",
    [
        Actor("ns-admin", roles={"default": frozenset({Role.ADMIN})}),
        Actor("writer", global_roles=frozenset({Role.WRITER})),
    ],
    ids=["namespace-admin", "global-writer"],
)
def test_only_a_global_admin_may_collect_and_a_refusal_writes_nothing(
    services: Services, actor: Actor
) -> None:
    upload(services, b"abandoned")
    services.blob_store.put([b"orphan"])
    gc = later(services)
    for dry_run in (True, False):
        with pytest.raises(errors.PermissionDenied):
            gc.collect(actor, grace=GRACE, dry_run=dry_run)
    assert held(services, b"abandoned") == (True, True)
    assert held(services, b"orphan") == (False, True)
    assert sweeps(services) == []


def test_a_negative_grace_is_refused(services: Services) -> None:
    upload(services, b"abandoned")
    with pytest.raises(errors.InvalidInput):
        services.gc.collect(LOCAL_ADMIN, grace=timedelta(hours=-1))
    assert held(services, b"abandoned") == (True, True)


def test_a_held_read_waits_for_a_sweep_in_progress_and_then_finds_no_row(
    pg_registry: Services,
) -> None:
    services = pg_registry
    # The other order: the sweep holds the row first. A registration reading its blobs with
    # ``hold=True`` waits for the sweep's commit and then finds the blob missing (a clean
    # MissingBlobs), rather than passing its check and failing on the foreign key later.
    upload(services, b"weights")
    cutoff = datetime.now(UTC) + GRACE
    swept, release = threading.Event(), threading.Event()

    def sweep() -> None:
        with services.db.write(LOCAL_ADMIN, Permission.ADMIN, EVERYWHERE) as uow:
            assert uow.store.blobs.delete_unreferenced([sha(b"weights")], cutoff)
            swept.set()
            release.wait(10)

    sweeper = threading.Thread(target=sweep)
    sweeper.start()
    assert swept.wait(10)
    threading.Timer(0.3, release.set).start()
    started = time.monotonic()
    with services.db.write(LOCAL_ADMIN, Permission.WRITE, "default") as registration:
        found = registration.store.blobs.held("default", [sha(b"weights")], hold=True)
    sweeper.join(10)
    assert found == {}
    assert time.monotonic() - started >= 0.25  # it waited for the sweep to commit


@pytest.fixture
def pg_registry(tmp_path: Path, pg_url: str) -> Iterator[Services]:
    """Row locks are PostgreSQL's (SQLite has one writer at a time): these run there only."""
    svc = Services.open(make_settings(tmp_path, pg_url))
    yield svc
    svc.close()
