"""Housekeeping rounds claimed in the database, on SQLite and PostgreSQL: one process of many
runs each round, and garbage collection runs by itself when its round is due.

"Processes" are registries over the same database whose clocks read what the test says; the
clock decides when a round is due, never a sleep.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from cairn.services.auth import LOCAL_ADMIN, SYSTEM
from cairn.services.container import GC_JOB, Services
from cairn.services.schedule import Schedule
from cairn.services.uow import Database

HOUR = timedelta(hours=1)


def at(svc: Services, clock: Callable[[], datetime], **settings: object) -> Services:
    """Another server process on the same stores, whose clock is ``clock``."""
    return Services(
        svc.settings.model_copy(update=settings),
        Database(svc.db.engine, clock),
        svc.blob_store,
        svc.audit.keys,
    )


def schedule(svc: Services, when: datetime) -> Schedule:
    return Schedule(Database(svc.db.engine, lambda: when))


def job_times(svc: Services) -> tuple[datetime, datetime | None, datetime | None] | None:
    with svc.db.read(LOCAL_ADMIN, None) as store:
        return store.jobs.times(GC_JOB)


def test_a_round_is_claimed_once_and_the_next_is_due_a_period_later(services: Services) -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)

    assert schedule(services, start).claim(SYSTEM, "job", 6 * HOUR)  # never seen: due
    assert not schedule(services, start).claim(SYSTEM, "job", 6 * HOUR)  # another process
    assert not schedule(services, start + 6 * HOUR - timedelta(seconds=1)).claim(
        SYSTEM, "job", 6 * HOUR
    )
    assert schedule(services, start + 6 * HOUR).claim(SYSTEM, "job", 6 * HOUR)
    assert schedule(services, start).claim(SYSTEM, "other-job", 6 * HOUR)  # jobs apart


def test_of_many_processes_claiming_at_once_exactly_one_wins(services: Services) -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    wins: list[bool] = []
    barrier = threading.Barrier(8)

    def claim() -> None:
        barrier.wait()
        wins.append(schedule(services, now).claim(SYSTEM, "race", HOUR))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(wins) == [False] * 7 + [True]


def test_maintenance_collects_garbage_when_its_round_is_due(services: Services) -> None:
    data = b"uploaded two days ago, never registered"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    services.blobs.put(LOCAL_ADMIN, "default", [data], digest, len(data))
    two_days_on = datetime.now(UTC) + 48 * HOUR
    # Bytes put this minute are kept whatever the grace (GarbageCollector.min_age): the row
    # goes now and the bytes in a later round, so this checks rows.
    first = at(services, lambda: two_days_on)
    second = at(services, lambda: two_days_on)

    assert first.maintain()["garbage_blobs"] == 1
    assert second.maintain()["garbage_blobs"] == 0  # the round was the first's
    with services.db.read(LOCAL_ADMIN, None) as store:
        assert store.blobs.sizes([digest]) == {}
    due, started, finished = job_times(services) or (None, None, None)
    assert started == two_days_on
    assert due == two_days_on + 24 * HOUR
    assert finished is not None and finished >= started


def test_an_interval_of_zero_leaves_collection_to_cairn_gc(services: Services) -> None:
    data = b"abandoned upload"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    services.blobs.put(LOCAL_ADMIN, "default", [data], digest, len(data))
    off = at(services, lambda: datetime.now(UTC) + 48 * HOUR, gc_interval_hours=0.0)

    assert off.maintain()["garbage_blobs"] == 0

    with services.db.read(LOCAL_ADMIN, None) as store:
        assert store.blobs.sizes([digest]) == {digest: len(data)}
    assert job_times(services) is None
