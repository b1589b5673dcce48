"""Upload sessions outlive processes but not their time to live: abandoned ones are purged."""

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from cairn import errors
from cairn.services.auth import LOCAL_ADMIN, SYSTEM
from cairn.services.registry import Registry
from cairn.services.uow import Database


def _registry_at(registry: Registry, when: datetime) -> Registry:
    """The same stores, seen by a process whose clock reads ``when``."""
    return Registry(
        registry.settings, Database(registry.db.engine, lambda: when), registry.blob_store
    )


def test_abandoned_sessions_are_purged_after_their_ttl(registry: Registry) -> None:
    abandoned = registry.blobs.start_upload(LOCAL_ADMIN)
    registry.blobs.append(LOCAL_ADMIN, abandoned.id, 0, [b"half a model"])
    assert registry.blob_store.session_size(abandoned.id) == len(b"half a model")

    ttl = timedelta(seconds=registry.settings.upload_ttl_seconds)
    soon = _registry_at(registry, datetime.now(UTC) + ttl - timedelta(minutes=5))
    assert soon.maintain()["upload_sessions"] == 0
    assert registry.blobs.upload_status(LOCAL_ADMIN, abandoned.id).offset == len(b"half a model")

    later = _registry_at(registry, datetime.now(UTC) + ttl + timedelta(minutes=5))
    assert later.maintain()["upload_sessions"] == 1
    with pytest.raises(errors.UploadNotFound):
        registry.blobs.upload_status(LOCAL_ADMIN, abandoned.id)
    assert registry.blob_store.session_size(abandoned.id) == 0


def test_an_append_keeps_a_session_alive(registry: Registry) -> None:
    session = registry.blobs.start_upload(LOCAL_ADMIN)
    ttl = timedelta(seconds=registry.settings.upload_ttl_seconds)
    near_expiry = _registry_at(registry, datetime.now(UTC) + ttl - timedelta(minutes=1))
    near_expiry.blobs.append(LOCAL_ADMIN, session.id, 0, [b"more"])
    after_first_expiry = _registry_at(registry, datetime.now(UTC) + ttl + timedelta(minutes=5))
    assert after_first_expiry.blobs.purge_expired(SYSTEM) == 0
    assert registry.blobs.upload_status(LOCAL_ADMIN, session.id).offset == 4


def test_a_session_finished_in_another_process_is_hashed_from_its_bytes(
    registry: Registry,
) -> None:
    # A second Registry over the same stores stands in for another server process: it has
    # none of the first one's in-memory hashing state, only the database and the blob store.
    other = Registry(registry.settings, registry.db, registry.blob_store)
    session = registry.blobs.start_upload(LOCAL_ADMIN)
    registry.blobs.append(LOCAL_ADMIN, session.id, 0, [b"first half, "])
    other.blobs.append(LOCAL_ADMIN, session.id, 12, [b"second half"])
    data = b"first half, second half"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    stat = registry.blobs.finish(LOCAL_ADMIN, session.id, digest)
    assert stat.size == len(data)
    assert b"".join(registry.blob_store.read(digest)) == data
