"""Upload sessions outlive processes but not their time to live: abandoned ones are purged."""

import hashlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from cairn import errors
from cairn.services.auth import LOCAL_ADMIN, SYSTEM
from cairn.services.container import Services
from cairn.services.uow import Database


def _registry_at(services: Services, when: datetime) -> Services:
    """The same stores, seen by a process whose clock reads ``when``."""
    return Services(
        services.settings,
        Database(services.db.engine, lambda: when),
        services.blob_store,
        services.audit.keys,
    )


def test_abandoned_sessions_are_purged_after_their_ttl(services: Services) -> None:
    abandoned = services.blobs.start_upload(LOCAL_ADMIN, "default")
    services.blobs.append(LOCAL_ADMIN, "default", abandoned.id, 0, [b"half a model"])
    assert services.blob_store.session_size(abandoned.id) == len(b"half a model")

    ttl = timedelta(seconds=services.settings.upload_ttl_seconds)
    soon = _registry_at(services, datetime.now(UTC) + ttl - timedelta(minutes=5))
    assert soon.maintain()["upload_sessions"] == 0
    assert services.blobs.upload_status(LOCAL_ADMIN, "default", abandoned.id).offset == len(
        b"half a model"
    )

    later = _registry_at(services, datetime.now(UTC) + ttl + timedelta(minutes=5))
    assert later.maintain()["upload_sessions"] == 1
    with pytest.raises(errors.UploadNotFound):
        services.blobs.upload_status(LOCAL_ADMIN, "default", abandoned.id)
    assert services.blob_store.session_size(abandoned.id) == 0


def test_an_append_keeps_a_session_alive(services: Services) -> None:
    session = services.blobs.start_upload(LOCAL_ADMIN, "default")
    ttl = timedelta(seconds=services.settings.upload_ttl_seconds)
    near_expiry = _registry_at(services, datetime.now(UTC) + ttl - timedelta(minutes=1))
    near_expiry.blobs.append(LOCAL_ADMIN, "default", session.id, 0, [b"more"])
    after_first_expiry = _registry_at(services, datetime.now(UTC) + ttl + timedelta(minutes=5))
    assert after_first_expiry.blobs.purge_expired(SYSTEM) == 0
    assert services.blobs.upload_status(LOCAL_ADMIN, "default", session.id).offset == 4


def test_a_session_finished_in_another_process_is_hashed_from_its_bytes(
    services: Services,
) -> None:
    # A second Services over the same stores stands in for another server process: it has
    # none of the first one's in-memory hashing state, only the database and the blob store.
    other = Services(services.settings, services.db, services.blob_store, services.audit.keys)
    session = services.blobs.start_upload(LOCAL_ADMIN, "default")
    services.blobs.append(LOCAL_ADMIN, "default", session.id, 0, [b"first half, "])
    other.blobs.append(LOCAL_ADMIN, "default", session.id, 12, [b"second half"])
    data = b"first half, second half"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    stat = services.blobs.finish(LOCAL_ADMIN, "default", session.id, digest)
    assert stat.size == len(data)
    assert b"".join(services.blob_store.read(digest)) == data


def test_two_appends_at_one_offset_never_mix_their_bytes(services: Services) -> None:
    # A client that gives up on a slow append and retries it must not interleave the two
    # bodies: the second waits for the first, then finds the offset has moved on.
    import threading

    session = services.blobs.start_upload(LOCAL_ADMIN, "default")
    first_started, let_first_finish = threading.Event(), threading.Event()

    def slow_body() -> Iterator[bytes]:
        yield b"A" * 1000
        first_started.set()
        let_first_finish.wait(5)
        yield b"A" * 1000

    outcomes: dict[str, object] = {}

    def append(name: str, body: Iterable[bytes]) -> None:
        try:
            outcomes[name] = services.blobs.append(
                LOCAL_ADMIN, "default", session.id, 0, body
            ).offset
        except errors.CairnError as exc:
            outcomes[name] = exc

    first = threading.Thread(target=append, args=("first", slow_body()))
    first.start()
    assert first_started.wait(5)
    retry = threading.Thread(target=append, args=("retry", [b"B" * 2000]))
    retry.start()
    retry.join(0.2)
    assert retry.is_alive()  # waiting for the first append to finish
    let_first_finish.set()
    first.join(5)
    retry.join(5)

    assert outcomes["first"] == 2000
    assert isinstance(outcomes["retry"], errors.UploadOffsetMismatch)
    digest = "sha256:" + hashlib.sha256(b"A" * 2000).hexdigest()
    services.blobs.finish(LOCAL_ADMIN, "default", session.id, digest)
    assert b"".join(services.blob_store.read(digest)) == b"A" * 2000
