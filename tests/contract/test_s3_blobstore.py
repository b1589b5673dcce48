"""What only the S3 store promises, beyond the contract every store passes: its layout in the
bucket, puts that stream in bounded parts and leave nothing behind when they fail, sessions
assembled by the service, locks that outlive a crashed holder, presigned downloads, and S3's
failures named as Cairn's errors. Against moto's server over HTTP; no mocks."""

from __future__ import annotations

import hashlib
import os
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest

from cairn import errors
from cairn.config import load_settings
from cairn.storage.blobs import open_blob_store
from cairn.storage.blobs import s3 as s3_package
from cairn.storage.blobs.base import BlobStat
from cairn.storage.blobs.s3 import S3BlobStore, S3Options
from cairn.storage.blobs.s3.lease import Lease
from cairn.storage.blobs.s3.staging import MIN_PART
from tests.conftest import free_port
from tests.contract.s3_server import S3Server

PART = MIN_PART  # the smallest part S3 (and moto) accept
DATA = b"the quick brown fox jumps over the lazy dog"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def prefix_of(store: S3BlobStore) -> str:
    return store.bucket.prefix


def random_stream(size: int, block: int = 256 << 10) -> tuple[Iterator[bytes], Callable[[], str]]:
    """``size`` random bytes made as they are consumed (never all at once), and a function
    giving their digest once they have all been."""
    hasher = hashlib.sha256()

    def chunks() -> Iterator[bytes]:
        left = size
        while left:
            piece = os.urandom(min(block, left))
            hasher.update(piece)
            left -= len(piece)
            yield piece

    return chunks(), lambda: "sha256:" + hasher.hexdigest()


def patterned(size: int, block: int = 64 << 10) -> Iterator[bytes]:
    """``size`` bytes made block by block from their position: the same every time, so their
    digest can be known before they are sent, and never all in memory."""
    for start in range(0, size, block):
        seed = hashlib.sha256(start.to_bytes(8, "big")).digest()
        yield (seed * (block // len(seed)))[: min(block, size - start)]


def digest_of(chunks: Iterator[bytes]) -> str:
    hasher = hashlib.sha256()
    for chunk in chunks:
        hasher.update(chunk)
    return "sha256:" + hasher.hexdigest()


@pytest.fixture
def store(s3_server: S3Server) -> S3BlobStore:
    return s3_server.store(chunk_size=1 << 20, part_size=PART)


# layout


def test_the_layout_matches_the_package_docstring(s3_server: S3Server, store: S3BlobStore) -> None:
    hexdigest = store.put([DATA]).digest.removeprefix("sha256:")
    store.session_write("s1", 0, [b"partial"])
    keys = s3_server.keys(prefix_of(store))
    marker = next(k for k in keys if ".put-" in k)
    assert keys == {
        "VERSION",
        f"blobs/sha256/{hexdigest[:2]}/{hexdigest}",
        marker,
        f"sessions/s1/{0:020d}",
    }
    assert marker.startswith(f"blobs/sha256/{hexdigest[:2]}/{hexdigest}.put-")
    put_at = int(marker.rsplit("-", 1)[1])
    assert abs(time.time() - put_at / 1e6) < 60
    version = s3_server.client.get_object(Bucket=s3_server.bucket, Key=prefix_of(store) + "VERSION")
    assert version["Body"].read() == f"{s3_package.LAYOUT_VERSION}\n".encode()
    assert f"layout under the prefix, version {s3_package.LAYOUT_VERSION}" in (
        s3_package.__doc__ or ""
    )


def test_a_prefix_laid_out_another_way_is_refused(s3_server: S3Server, store: S3BlobStore) -> None:
    s3_server.client.put_object(
        Bucket=s3_server.bucket, Key=prefix_of(store) + "VERSION", Body=b"2\n"
    )
    with pytest.raises(errors.ConfigError, match="layout"):
        s3_server.store(prefix_of(store).rstrip("/"))


def test_a_store_reopens_its_prefix(s3_server: S3Server, store: S3BlobStore) -> None:
    store.put([DATA])
    store.session_write("s1", 0, [b"abc"])
    again = s3_server.store(prefix_of(store).rstrip("/"))
    assert b"".join(again.read(sha(DATA))) == DATA
    assert again.session_size("s1") == 3


def test_listing_ignores_objects_that_are_not_blobs(
    s3_server: S3Server, store: S3BlobStore
) -> None:
    store.put([DATA])
    hexdigest = sha(DATA).removeprefix("sha256:")
    for key in (f"blobs/sha256/{hexdigest[:2]}/notes.txt", "blobs/sha256/README"):
        s3_server.client.put_object(Bucket=s3_server.bucket, Key=prefix_of(store) + key, Body=b"x")
    assert [entry.digest for entry in store.iter_blobs()] == [sha(DATA)]


def test_read_serves_a_corrupted_object_without_verifying(
    s3_server: S3Server, store: S3BlobStore
) -> None:
    # Verification belongs to the service and the SDK; the store only moves bytes.
    store.put([DATA])
    hexdigest = sha(DATA).removeprefix("sha256:")
    key = prefix_of(store) + f"blobs/sha256/{hexdigest[:2]}/{hexdigest}"
    s3_server.client.put_object(Bucket=s3_server.bucket, Key=key, Body=b"X" + DATA[1:])
    assert b"".join(store.read(sha(DATA))) == b"X" + DATA[1:]


# streaming puts


def test_a_put_of_several_parts_streams_with_one_part_in_memory(
    s3_server: S3Server, store: S3BlobStore
) -> None:
    size = 4 * PART + PART // 2
    digest = digest_of(patterned(size))
    tracemalloc.start()
    try:
        stat = store.put(patterned(size), digest=digest, size=size)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stat == BlobStat(digest, size)
    # A part buffered and its copy on the way out: well under the blob's size.
    assert peak < 3 * PART < size
    key = prefix_of(store) + f"blobs/sha256/{digest[7:9]}/{digest[7:]}"
    # Sent straight to its key in five parts (a multipart object's ETag ends with the count).
    etag = s3_server.client.head_object(Bucket=s3_server.bucket, Key=key)["ETag"]
    assert etag.strip('"').endswith("-5")
    assert digest_of(store.read(digest)) == digest
    assert s3_server.uploads(prefix_of(store)) == []


@pytest.mark.parametrize("size", [100, 2 * PART + 1], ids=["one-request", "multipart"])
@pytest.mark.parametrize("wrong", ["digest", "size"])
def test_a_mismatch_leaves_no_object_and_no_upload(
    s3_server: S3Server, store: S3BlobStore, size: int, wrong: str
) -> None:
    digest = digest_of(patterned(size))
    declared = {"digest": sha(b"something else"), "size": size}
    if wrong == "size":
        declared = {"digest": digest, "size": size + 1}
    with pytest.raises((errors.DigestMismatch, errors.SizeMismatch)):
        store.put(patterned(size), **declared)  # type: ignore[arg-type]
    assert s3_server.keys(prefix_of(store)) == {"VERSION"}
    assert s3_server.uploads(prefix_of(store)) == []


def test_a_stream_that_breaks_off_leaves_no_upload(s3_server: S3Server, store: S3BlobStore) -> None:
    def broken() -> Iterator[bytes]:
        yield os.urandom(2 * PART + 7)  # two parts sent before the break
        raise ConnectionResetError

    with pytest.raises(ConnectionResetError):
        store.put(broken(), digest=sha(b"x"))
    assert s3_server.keys(prefix_of(store)) == {"VERSION"}
    assert s3_server.uploads(prefix_of(store)) == []


def test_a_put_without_a_declared_digest_is_copied_under_it(
    s3_server: S3Server, store: S3BlobStore
) -> None:
    chunks, digest = random_stream(PART + 3)
    stat = store.put(chunks)
    assert stat.digest == digest()
    assert digest_of(store.read(stat.digest)) == stat.digest
    keys = s3_server.keys(prefix_of(store))
    assert not [k for k in keys if k.startswith("tmp/")]
    assert s3_server.uploads(prefix_of(store)) == []


# upload sessions


def test_a_session_of_large_pieces_is_assembled_by_the_service(
    s3_server: S3Server, store: S3BlobStore
) -> None:
    pieces = [os.urandom(PART + 11), os.urandom(PART + 5), os.urandom(1000)]
    offset = 0
    for piece in pieces:
        offset = store.session_write("big", offset, [piece])
    whole = b"".join(pieces)
    del pieces
    tracemalloc.start()
    try:
        stat = store.session_commit("big", sha(whole))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stat == BlobStat(sha(whole), len(whole))
    assert peak < PART  # copied server-side: the bytes never came through this process
    assert b"".join(store.read(stat.digest)) == whole
    assert not [k for k in s3_server.keys(prefix_of(store)) if k.startswith("sessions/")]


def test_small_pieces_are_gathered_into_parts_of_the_right_size(store: S3BlobStore) -> None:
    # Pieces too small to be parts, then one large enough, then small ones again.
    pieces = [os.urandom(PART // 3) for _ in range(4)] + [os.urandom(PART + 1), b"end"]
    offset = 0
    for piece in pieces:
        offset = store.session_write("mixed", offset, [piece])
    whole = b"".join(pieces)
    assert store.session_commit("mixed", sha(whole)) == BlobStat(sha(whole), len(whole))
    assert b"".join(store.read(sha(whole))) == whole


def test_a_session_is_continued_by_another_store_on_the_same_prefix(
    s3_server: S3Server, store: S3BlobStore
) -> None:
    store.session_write("s1", 0, [DATA[:10]])
    other = s3_server.store(prefix_of(store).rstrip("/"))
    assert other.session_size("s1") == 10
    assert other.session_write("s1", 10, [DATA[10:]]) == len(DATA)
    assert store.session_commit("s1", sha(DATA)) == BlobStat(sha(DATA), len(DATA))


def test_a_cut_session_stays_cut_when_the_rewrite_fails(store: S3BlobStore) -> None:
    store.session_write("s1", 0, [DATA[:10]])
    store.session_write("s1", 10, [DATA[10:20]])

    def broken() -> Iterator[bytes]:
        yield b"XY"
        raise ConnectionResetError

    with pytest.raises(ConnectionResetError):
        store.session_write("s1", 4, broken())
    assert store.session_size("s1") == 4
    assert b"".join(store.session_read("s1")) == DATA[:4]
    assert store.session_write("s1", 4, [DATA[4:]]) == len(DATA)
    assert b"".join(store.session_read("s1")) == DATA


# locks


def test_a_lock_left_by_a_crashed_holder_is_taken_over_after_its_lease(
    s3_server: S3Server,
) -> None:
    store = s3_server.store(lease_seconds=1)
    # What a holder that died leaves: the lock object, never renewed, never removed.
    s3_server.client.put_object(
        Bucket=s3_server.bucket,
        Key=prefix_of(store) + "locks/sessions/s1",
        Body=b"crashed 1\n",
        Metadata={"owner": "crashed"},
    )
    started = time.monotonic()
    with store.session_lock("s1"):
        waited = time.monotonic() - started
    assert 1 <= waited < 10
    assert "locks/sessions/s1" not in s3_server.keys(prefix_of(store))


def test_a_long_holder_keeps_its_lock_by_renewing_it(s3_server: S3Server) -> None:
    store = s3_server.store(lease_seconds=1)
    entered: list[float] = []

    def second() -> None:
        with store.session_lock("s1"):
            entered.append(time.monotonic())

    with store.session_lock("s1"):
        time.sleep(2.5)  # well past the lease: only renewals keep it
        waiter = threading.Thread(target=second)
        waiter.start()
        time.sleep(2)
        assert entered == []  # still ours
        released = time.monotonic()
    waiter.join(10)
    assert entered
    assert entered[0] >= released


def test_a_holder_whose_lock_was_taken_over_knows_it(s3_server: S3Server) -> None:
    store = s3_server.store()
    key = "locks/blobs/" + "0" * 64
    with Lease(store.bucket, key, seconds=1) as lease:
        assert lease.fresh()
        # Another caller took it over (as after a pause longer than the lease).
        s3_server.client.put_object(
            Bucket=s3_server.bucket,
            Key=prefix_of(store) + key,
            Body=b"other 1\n",
            Metadata={"owner": "other"},
        )
        time.sleep(1)
        assert not lease.fresh()
    # Its release is conditional: the new holder's lock stays.
    found = s3_server.client.head_object(Bucket=s3_server.bucket, Key=prefix_of(store) + key)
    assert found["Metadata"] == {"owner": "other"}


# housekeeping


def test_purge_stale_aborts_abandoned_uploads_and_old_leftovers(
    s3_server: S3Server, store: S3BlobStore
) -> None:
    prefix = prefix_of(store)
    store.put([DATA])
    store.session_write("s1", 0, [b"kept"])
    # moto dates every upload in 2010, so only an abandoned one can be tested here.
    s3_server.client.create_multipart_upload(
        Bucket=s3_server.bucket, Key=prefix + "tmp/put-crashed"
    )
    s3_server.client.put_object(Bucket=s3_server.bucket, Key=prefix + "tmp/put-old", Body=b"x")
    time.sleep(1.1)  # the store's clock counts whole seconds
    assert store.purge_stale(older_than_seconds=0) == 2
    assert s3_server.uploads(prefix) == []
    assert not [k for k in s3_server.keys(prefix) if k.startswith("tmp/")]
    assert b"".join(store.read(sha(DATA))) == DATA
    assert store.session_size("s1") == 4
    assert store.purge_stale(older_than_seconds=3600) == 0


# presigned downloads


def test_a_presigned_url_serves_the_blob_and_its_ranges(s3_server: S3Server) -> None:
    store = s3_server.store(presign_seconds=60)
    store.put([DATA])
    url = store.presigned_url(sha(DATA))
    assert url is not None
    assert httpx.get(url).content == DATA
    partial = httpx.get(url, headers={"Range": "bytes=4-8"})
    assert (partial.status_code, partial.content) == (206, DATA[4:9])
    assert s3_server.store().presigned_url(sha(DATA)) is None  # not configured: no redirects


# configuration and failures


def test_the_blob_url_selects_the_s3_store(s3_server: S3Server) -> None:
    settings = load_settings(
        blob_url=s3_server.url(),
        s3_endpoint_url=s3_server.endpoint,
        s3_region="us-east-1",
        s3_access_key_id="testing",
        s3_secret_access_key="testing",
        s3_addressing_style="path",
    )
    store = open_blob_store(settings.effective_blob_url, settings)
    assert isinstance(store, S3BlobStore)
    assert store.put([DATA]) == BlobStat(sha(DATA), len(DATA))


@pytest.mark.parametrize(
    ("changed", "setting"),
    [
        ({"s3_secret_access_key": None}, "CAIRN_S3_SECRET_ACCESS_KEY"),
        ({"s3_access_key_id": None}, "CAIRN_S3_ACCESS_KEY_ID"),
        ({"blob_url": "s3://Not_A_Bucket/x"}, "CAIRN_BLOB_URL"),
        ({"blob_url": "s3://no-such-bucket/x"}, "CAIRN_BLOB_URL"),
    ],
)
def test_a_wrong_s3_setting_is_named(
    s3_server: S3Server, changed: dict[str, str | None], setting: str
) -> None:
    values: dict[str, str | None] = {
        "blob_url": s3_server.url(),
        "s3_endpoint_url": s3_server.endpoint,
        "s3_region": "us-east-1",
        "s3_access_key_id": "testing",
        "s3_secret_access_key": "testing",
        "s3_addressing_style": "path",
    }
    settings = load_settings(**{**values, **changed})
    with pytest.raises(errors.ConfigError) as caught:
        open_blob_store(settings.effective_blob_url, settings)
    assert caught.value.details["setting"] == setting


def test_a_store_that_does_not_answer_is_unavailable_after_retries() -> None:
    nobody = S3Options(
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        region="us-east-1",
        access_key_id="testing",
        secret_access_key="testing",
        addressing_style="path",
    )
    started = datetime.now(UTC)
    with pytest.raises(errors.StorageUnavailable, match="did not answer"):
        S3BlobStore.open("s3://cairn-tests/x", nobody)
    assert (datetime.now(UTC) - started).total_seconds() < 60
