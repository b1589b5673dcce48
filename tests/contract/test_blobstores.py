"""The BlobStore contract: every store passes every test here, on real files and a real S3
endpoint (moto's server, over HTTP), without mocks.

A new store joins by adding its name to ``STORES`` and a branch to ``_build``. Tests at the end
hold the local store to what only it promises (its layout on disk, its temp files); the S3
store's own promises are in test_s3_blobstore.py.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cairn.errors import (
    BlobNotFound,
    ConfigError,
    DigestMismatch,
    InvalidDigest,
    InvalidRange,
    SizeMismatch,
    UploadNotFound,
    UploadOffsetMismatch,
)
from cairn.storage.blobs import local as local_module
from cairn.storage.blobs.base import BlobEntry, BlobStat, BlobStore
from cairn.storage.blobs.local import LocalBlobStore
from cairn.storage.blobs.memory import MemoryBlobStore
from cairn.storage.blobs.reader import open_blob
from tests.contract.s3_server import S3Server

STORES = ["local", "memory", "s3"]
# Small enough that a few dozen bytes already span several chunks.
CHUNK = 5
DATA = b"the quick brown fox jumps over the lazy dog"
BAD_SESSION_IDS = ["../x", "a/b", "", "a" * 65, ".", "..", "a b", "x\n", "\\x", "é"]
BAD_DIGESTS = ["sha256:../../etc/passwd", "sha256:" + "A" * 64, "md5:" + "0" * 32, "0" * 64]


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _build(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> BlobStore:
    if kind == "local":
        return LocalBlobStore(tmp_path / "blobs", chunk_size=CHUNK)
    if kind == "s3":
        server: S3Server = request.getfixturevalue("s3_server")
        return server.store(chunk_size=CHUNK)
    return MemoryBlobStore(chunk_size=CHUNK)


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    return _build(request.param, tmp_path, request)


class ClientDisconnectedError(Exception):
    pass


def failing_after(*chunks: bytes) -> Iterator[bytes]:
    """A client that sends ``chunks`` and then drops the connection."""
    yield from chunks
    raise ClientDisconnectedError


def joined(chunks: Iterator[bytes]) -> bytes:
    return b"".join(chunks)


# put


def test_put_returns_the_digest_and_size_it_computed(store: BlobStore) -> None:
    assert store.put([DATA]) == BlobStat(sha(DATA), len(DATA))
    assert store.stat(sha(DATA)) == BlobStat(sha(DATA), len(DATA))


def test_put_accepts_a_correct_declared_digest_and_size(store: BlobStore) -> None:
    assert store.put([DATA], digest=sha(DATA), size=len(DATA)) == BlobStat(sha(DATA), len(DATA))


def test_put_with_a_wrong_digest_stores_nothing(store: BlobStore) -> None:
    with pytest.raises(DigestMismatch):
        store.put([DATA], digest=sha(b"other"))
    assert store.stat(sha(DATA)) is None
    assert store.stat(sha(b"other")) is None


@pytest.mark.parametrize("declared", [len(DATA) - 1, len(DATA) + 1, 0])
def test_put_with_a_wrong_size_stores_nothing(store: BlobStore, declared: int) -> None:
    with pytest.raises(SizeMismatch):
        store.put([DATA], size=declared)
    assert store.stat(sha(DATA)) is None


def test_put_with_both_wrong_reports_the_size(store: BlobStore) -> None:
    with pytest.raises(SizeMismatch):
        store.put([DATA], digest=sha(b"other"), size=1)


def test_put_whose_stream_fails_stores_nothing(store: BlobStore) -> None:
    with pytest.raises(ClientDisconnectedError):
        store.put(failing_after(DATA))
    assert store.stat(sha(DATA)) is None


def test_put_rejects_a_malformed_declared_digest(store: BlobStore) -> None:
    with pytest.raises(InvalidDigest):
        store.put([DATA], digest="sha256:" + "0" * 63)


def test_put_twice_is_idempotent(store: BlobStore) -> None:
    first = store.put([DATA])
    assert store.put([DATA[:10], DATA[10:]], digest=sha(DATA)) == first
    assert joined(store.read(sha(DATA))) == DATA


def test_put_of_an_existing_blob_still_checks_the_declared_digest(store: BlobStore) -> None:
    store.put([DATA])
    with pytest.raises(DigestMismatch):
        store.put([b"other"], digest=sha(DATA))
    assert joined(store.read(sha(DATA))) == DATA


def test_put_of_an_empty_blob(store: BlobStore) -> None:
    assert store.put([]) == BlobStat(sha(b""), 0)
    assert store.put([b"", b""], digest=sha(b""), size=0) == BlobStat(sha(b""), 0)
    assert joined(store.read(sha(b""))) == b""


def test_put_streams_many_small_chunks(store: BlobStore) -> None:
    data = os.urandom(50_000)
    pieces = (data[i : i + 7] for i in range(0, len(data), 7))
    assert store.put(pieces, size=len(data)) == BlobStat(sha(data), len(data))
    assert joined(store.read(sha(data))) == data


def test_concurrent_puts_all_land(store: BlobStore) -> None:
    blobs = [bytes([n]) * (n + 1) for n in range(8)]

    def push(data: bytes) -> None:
        for _ in range(5):
            store.put([data], digest=sha(data))

    threads = [threading.Thread(target=push, args=(b,)) for b in blobs + blobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [store.stat(sha(b)) for b in blobs] == [BlobStat(sha(b), len(b)) for b in blobs]


# read, stat, delete


def test_read_yields_the_whole_blob_in_bounded_chunks(store: BlobStore) -> None:
    store.put([DATA])
    chunks = list(store.read(sha(DATA)))
    assert b"".join(chunks) == DATA
    assert len(chunks) > 1
    assert all(0 < len(c) <= CHUNK for c in chunks)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (0, None),
        (7, None),
        (3, 11),
        (3, 4),
        (0, len(DATA)),
        (20, len(DATA)),
        (len(DATA), None),
        (len(DATA), len(DATA)),
        (9, 9),
        (0, 0),
    ],
)
def test_read_yields_exactly_the_range(store: BlobStore, start: int, end: int | None) -> None:
    store.put([DATA])
    assert joined(store.read(sha(DATA), start, end)) == DATA[start:end]


@pytest.mark.parametrize(
    ("start", "end"),
    [(-1, None), (0, len(DATA) + 1), (len(DATA) + 1, None), (5, 4), (-3, -1), (0, -1)],
)
def test_read_of_an_invalid_range_raises_when_called(
    store: BlobStore, start: int, end: int | None
) -> None:
    store.put([DATA])
    with pytest.raises(InvalidRange):
        store.read(sha(DATA), start, end)


def test_read_of_a_missing_blob_raises_when_called(store: BlobStore) -> None:
    with pytest.raises(BlobNotFound):
        store.read(sha(DATA))


def test_a_read_dropped_unfinished_is_harmless(store: BlobStore) -> None:
    store.put([DATA])
    store.read(sha(DATA))
    first = next(store.read(sha(DATA), 1))
    assert first == DATA[1 : 1 + CHUNK]
    assert store.delete(sha(DATA))


def test_stat_of_a_missing_blob_is_none(store: BlobStore) -> None:
    assert store.stat(sha(DATA)) is None


def test_delete_says_whether_the_blob_was_there(store: BlobStore) -> None:
    store.put([DATA])
    assert store.delete(sha(DATA)) is True
    assert store.stat(sha(DATA)) is None
    with pytest.raises(BlobNotFound):
        store.read(sha(DATA))
    assert store.delete(sha(DATA)) is False


@pytest.mark.parametrize("digest", BAD_DIGESTS)
def test_malformed_digests_are_rejected_everywhere(store: BlobStore, digest: str) -> None:
    store.session_write("s1", 0, [DATA])
    calls: list[Callable[[], object]] = [
        lambda: store.stat(digest),
        lambda: store.read(digest),
        lambda: store.delete(digest),
        lambda: store.session_commit("s1", digest),
    ]
    for call in calls:
        with pytest.raises(InvalidDigest):
            call()
    assert store.session_size("s1") == len(DATA)


# upload sessions


def test_session_writes_append_at_the_offset_they_name(store: BlobStore) -> None:
    assert store.session_write("s1", 0, [DATA[:10]]) == 10
    assert store.session_write("s1", 10, [DATA[10:20], DATA[20:]]) == len(DATA)
    assert store.session_size("s1") == len(DATA)
    assert joined(store.session_read("s1")) == DATA


def test_an_empty_write_at_zero_starts_a_session(store: BlobStore) -> None:
    assert store.session_write("s1", 0, []) == 0
    assert store.session_commit("s1", sha(b"")) == BlobStat(sha(b""), 0)
    assert joined(store.read(sha(b""))) == b""


@pytest.mark.parametrize("offset", [11, 100, -1])
def test_session_write_at_a_wrong_offset_changes_nothing(store: BlobStore, offset: int) -> None:
    store.session_write("s1", 0, [DATA[:10]])
    with pytest.raises(UploadOffsetMismatch):
        store.session_write("s1", offset, [b"xyz"])
    assert joined(store.session_read("s1")) == DATA[:10]


@pytest.mark.parametrize("offset", [1, -1])
def test_only_offset_zero_starts_a_session(store: BlobStore, offset: int) -> None:
    with pytest.raises(UploadOffsetMismatch):
        store.session_write("new", offset, [DATA])
    assert store.session_size("new") == 0
    with pytest.raises(UploadNotFound):
        store.session_commit("new", sha(DATA))


@pytest.mark.parametrize("offset", [0, 4, 10])
def test_rewriting_from_an_earlier_offset_discards_the_tail(store: BlobStore, offset: int) -> None:
    store.session_write("s1", 0, [DATA[:10]])
    assert store.session_write("s1", offset, [b"XY"]) == offset + 2
    assert joined(store.session_read("s1")) == DATA[:offset] + b"XY"


def test_a_failed_session_write_leaves_the_session_as_it_was(store: BlobStore) -> None:
    store.session_write("s1", 0, [DATA[:10]])
    with pytest.raises(ClientDisconnectedError):
        store.session_write("s1", 10, failing_after(DATA[10:20]))
    assert store.session_size("s1") == 10
    assert store.session_write("s1", 10, [DATA[10:]]) == len(DATA)
    assert joined(store.session_read("s1")) == DATA


@pytest.mark.parametrize("offset", [0, 4, 10])
def test_an_empty_write_at_an_earlier_offset_takes_the_session_back_to_it(
    store: BlobStore, offset: int
) -> None:
    # How the service takes back the bytes of a refused request (a last chunk sent with a
    # wrong digest): the session is again what it was before that request.
    store.session_write("s1", 0, [DATA[:10]])
    assert store.session_write("s1", offset, []) == offset
    assert store.session_size("s1") == offset
    assert joined(store.session_read("s1")) == DATA[:offset]
    assert store.session_write("s1", offset, [DATA[offset:]]) == len(DATA)
    assert store.session_commit("s1", sha(DATA)) == BlobStat(sha(DATA), len(DATA))


def test_reading_a_session_leaves_it_to_be_continued_or_committed(store: BlobStore) -> None:
    # A finish refused for its digest has read the whole session: nothing may be gone.
    store.session_write("s1", 0, [DATA[:10]])
    assert joined(store.session_read("s1")) == DATA[:10]
    assert joined(store.session_read("s1")) == DATA[:10]
    assert store.session_size("s1") == 10
    assert store.stat(sha(DATA[:10])) is None
    assert store.session_write("s1", 10, [DATA[10:]]) == len(DATA)
    assert store.session_commit("s1", sha(DATA)) == BlobStat(sha(DATA), len(DATA))
    assert joined(store.read(sha(DATA))) == DATA


def test_session_read_yields_bounded_chunks(store: BlobStore) -> None:
    store.session_write("s1", 0, [DATA])
    chunks = list(store.session_read("s1"))
    assert b"".join(chunks) == DATA
    assert all(0 < len(c) <= CHUNK for c in chunks)


def test_an_unknown_session_holds_nothing(store: BlobStore) -> None:
    assert store.session_size("never-seen") == 0
    assert joined(store.session_read("never-seen")) == b""


def test_commit_makes_the_blob_readable_and_drops_the_session(store: BlobStore) -> None:
    store.session_write("s1", 0, [DATA])
    assert store.session_commit("s1", sha(DATA)) == BlobStat(sha(DATA), len(DATA))
    assert joined(store.read(sha(DATA))) == DATA
    assert store.stat(sha(DATA)) == BlobStat(sha(DATA), len(DATA))
    assert store.session_size("s1") == 0
    assert joined(store.session_read("s1")) == b""


def test_commit_when_the_blob_exists_is_idempotent(store: BlobStore) -> None:
    store.put([DATA])
    store.session_write("s1", 0, [DATA])
    assert store.session_commit("s1", sha(DATA)) == BlobStat(sha(DATA), len(DATA))
    assert store.session_size("s1") == 0
    assert store.session_commit("s1", sha(DATA)) == BlobStat(sha(DATA), len(DATA))
    assert joined(store.read(sha(DATA))) == DATA


def test_commit_of_an_unknown_session_raises(store: BlobStore) -> None:
    with pytest.raises(UploadNotFound):
        store.session_commit("never-seen", sha(DATA))
    assert store.stat(sha(DATA)) is None


def test_session_delete_drops_the_bytes_and_tolerates_unknown_ids(store: BlobStore) -> None:
    store.session_write("s1", 0, [DATA])
    store.session_delete("s1")
    assert store.session_size("s1") == 0
    store.session_delete("s1")
    store.session_delete("never-seen")
    with pytest.raises(UploadOffsetMismatch):
        store.session_write("s1", len(DATA), [b"more"])


def test_sessions_are_independent(store: BlobStore) -> None:
    store.session_write("a", 0, [b"aaa"])
    store.session_write("B_2-x", 0, [b"bb"])
    assert (store.session_size("a"), store.session_size("B_2-x")) == (3, 2)


@pytest.mark.parametrize("session", BAD_SESSION_IDS)
def test_bad_session_ids_are_rejected_by_every_method(store: BlobStore, session: str) -> None:
    calls: list[Callable[[], object]] = [
        lambda: store.session_write(session, 0, [DATA]),
        lambda: store.session_size(session),
        lambda: store.session_read(session),
        lambda: store.session_commit(session, sha(DATA)),
        lambda: store.session_delete(session),
    ]
    for call in calls:
        with pytest.raises(UploadNotFound):
            call()


def test_the_longest_session_id_is_accepted(store: BlobStore) -> None:
    assert store.session_write("a" * 64, 0, [DATA]) == len(DATA)


# What only the local store promises.


def test_session_lock_admits_one_holder_at_a_time(store: BlobStore) -> None:
    order: list[str] = []
    first_in = threading.Event()
    release = threading.Event()

    def hold(name: str) -> None:
        with store.session_lock("s1"):
            order.append(f"{name} in")
            first_in.set()
            release.wait(5)
            order.append(f"{name} out")

    first = threading.Thread(target=hold, args=("a",))
    first.start()
    assert first_in.wait(5)
    second = threading.Thread(target=hold, args=("b",))
    second.start()
    second.join(0.2)
    assert order == ["a in"]  # b is waiting
    release.set()
    first.join(5)
    second.join(5)
    assert order == ["a in", "a out", "b in", "b out"]


def test_session_lock_refuses_ids_that_are_not_ours(store: BlobStore) -> None:
    with pytest.raises(UploadNotFound), store.session_lock("../escape"):
        pass


@pytest.fixture
def local(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "root", chunk_size=CHUNK)


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_local_layout_matches_the_module_docstring(local: LocalBlobStore) -> None:
    digest = local.put([DATA]).digest
    local.session_write("s1", 0, [b"partial"])
    hexdigest = digest.removeprefix("sha256:")
    assert files_under(local.root) == {
        "VERSION",
        f"blobs/sha256/{hexdigest[:2]}/{hexdigest}",
        "uploads/s1",
    }
    assert (local.root / "tmp").is_dir()
    assert (local.root / "VERSION").read_text() == f"{local_module.LAYOUT_VERSION}\n"
    assert f"layout, version {local_module.LAYOUT_VERSION}" in (local_module.__doc__ or "")


def test_local_blobs_are_read_only(local: LocalBlobStore) -> None:
    local.put([DATA])
    local.session_write("s1", 0, [b"abc"])
    local.session_commit("s1", sha(b"abc"))
    for name in files_under(local.root / "blobs"):
        assert (local.root / "blobs" / name).stat().st_mode & 0o777 == 0o444


def test_local_store_reopens_its_folder(local: LocalBlobStore) -> None:
    local.put([DATA])
    local.session_write("s1", 0, [b"abc"])
    again = LocalBlobStore(local.root)
    assert joined(again.read(sha(DATA))) == DATA
    assert again.session_size("s1") == 3


def test_local_store_refuses_another_layout_version(local: LocalBlobStore) -> None:
    (local.root / "VERSION").write_text("2\n")
    with pytest.raises(ConfigError):
        LocalBlobStore(local.root)


def test_local_read_serves_a_corrupted_file_without_verifying(local: LocalBlobStore) -> None:
    # Verification belongs to the service and the SDK; the store only moves bytes.
    local.put([DATA])
    hexdigest = sha(DATA).removeprefix("sha256:")
    path = local.root / "blobs" / "sha256" / hexdigest[:2] / hexdigest
    path.chmod(0o644)
    path.write_bytes(b"X" + DATA[1:])
    assert joined(local.read(sha(DATA))) == b"X" + DATA[1:]


@pytest.mark.parametrize(
    "attempt",
    [
        lambda s: s.put([DATA], digest=sha(b"other")),
        lambda s: s.put([DATA], size=1),
        lambda s: s.put(failing_after(DATA)),
    ],
    ids=["digest", "size", "stream"],
)
def test_local_failed_put_leaves_no_temp_file(
    local: LocalBlobStore, attempt: Callable[[LocalBlobStore], object]
) -> None:
    with pytest.raises((DigestMismatch, SizeMismatch, ClientDisconnectedError)):
        attempt(local)
    assert list((local.root / "tmp").iterdir()) == []
    assert list((local.root / "blobs" / "sha256").iterdir()) == []


def test_local_purge_stale_removes_only_old_files(local: LocalBlobStore) -> None:
    tmp = local.root / "tmp"
    old, fresh = tmp / "put-old", tmp / "put-fresh"
    old.write_bytes(b"left by a crash")
    fresh.write_bytes(b"still streaming")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    assert local.purge_stale(older_than_seconds=60) == 1
    assert sorted(p.name for p in tmp.iterdir()) == ["put-fresh"]
    assert local.purge_stale(older_than_seconds=60) == 0


# a blob as a seekable file (what the scanner reads through)


def test_a_blob_opens_as_a_seekable_file_over_any_store(store: BlobStore) -> None:
    data = bytes(range(256)) * 97  # spans several chunks and an odd tail
    stat = store.put([data])
    with open_blob(store, stat.digest, stat.size) as f:
        assert f.read(10) == data[:10]
        f.seek(-7, io.SEEK_END)
        assert f.read() == data[-7:]
        assert f.read(5) == b""
        f.seek(1000)
        assert f.read(3000) == data[1000:4000]
        assert f.tell() == 4000
        f.seek(5, io.SEEK_CUR)
        assert f.read(1) == data[4005:4006]
        f.seek(0)
        assert f.read() == data
        with pytest.raises(OSError):  # as a regular file says it
            f.seek(-1)
        with pytest.raises(OSError):
            f.seek(-len(data) - 1, io.SEEK_END)


# listing and conditional deletion: what the garbage collector relies on


def a_moment_apart() -> datetime:
    """A time strictly after everything done before the call and before everything done after
    it, also as file times tell it (they come from a clock a few milliseconds coarse)."""
    time.sleep(0.03)
    now = datetime.now(UTC)
    time.sleep(0.03)
    return now


def listed(store: BlobStore) -> dict[str, BlobEntry]:
    return {entry.digest: entry for entry in store.iter_blobs()}


def test_iter_blobs_lists_committed_blobs_and_no_session_bytes(store: BlobStore) -> None:
    assert listed(store) == {}
    store.put([DATA])
    store.session_write("s1", 0, [b"committed"])
    store.session_commit("s1", sha(b"committed"))
    store.session_write("s2", 0, [b"still uploading"])
    found = listed(store)
    assert {d: e.size for d, e in found.items()} == {
        sha(DATA): len(DATA),
        sha(b"committed"): len(b"committed"),
    }
    store.delete(sha(DATA))
    assert set(listed(store)) == {sha(b"committed")}


def test_iter_blobs_tells_when_each_blob_was_last_put(store: BlobStore) -> None:
    before = a_moment_apart()
    store.put([DATA])
    after = a_moment_apart()
    modified = listed(store)[sha(DATA)].modified
    assert modified.tzinfo is not None
    assert before < modified < after


def test_delete_put_before_removes_only_a_blob_put_earlier(store: BlobStore) -> None:
    store.put([DATA])
    cutoff = a_moment_apart()
    store.put([b"later"])
    assert store.delete(sha(b"later"), put_before=cutoff) is False
    assert store.stat(sha(b"later")) == BlobStat(sha(b"later"), 5)
    assert store.delete(sha(DATA), put_before=cutoff) is True
    assert store.stat(sha(DATA)) is None
    assert store.delete(sha(DATA), put_before=cutoff) is False  # absent: not an error


def test_putting_a_held_blob_again_counts_as_a_put(store: BlobStore) -> None:
    store.put([DATA])
    cutoff = a_moment_apart()
    store.put([DATA])
    assert listed(store)[sha(DATA)].modified > cutoff
    assert store.delete(sha(DATA), put_before=cutoff) is False
    assert joined(store.read(sha(DATA))) == DATA


@pytest.mark.parametrize("already_held", [False, True], ids=["new", "held"])
def test_committing_a_session_counts_as_a_put(store: BlobStore, already_held: bool) -> None:
    if already_held:
        store.put([DATA])
    store.session_write("s1", 0, [DATA])
    cutoff = a_moment_apart()  # the session's bytes are older than this; the blob is not
    store.session_commit("s1", sha(DATA))
    assert listed(store)[sha(DATA)].modified > cutoff
    assert store.delete(sha(DATA), put_before=cutoff) is False
    assert joined(store.read(sha(DATA))) == DATA


def race(*calls: Callable[[], object]) -> None:
    """Run ``calls`` in threads released together; each must finish, and without an error
    (a busy machine may be slow: what is checked after the race needs both done)."""
    start = threading.Barrier(len(calls))
    failures: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        start.wait(60)
        try:
            call()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads), "a call in the race never ended"
    assert failures == []


def test_a_put_racing_a_conditional_delete_never_loses_the_blob(store: BlobStore) -> None:
    # The put starts after the cutoff, so whichever comes first, the blob must be there
    # after both: refreshed before the delete looked, or stored anew after it removed it.
    # The delete starts a little later each round, to land at every point of the put.
    for n in range(12):
        data = DATA + bytes([n])
        store.put([data])
        cutoff = a_moment_apart()

        def delete(data: bytes = data, cutoff: datetime = cutoff, delay: float = n / 2000) -> None:
            time.sleep(delay)
            store.delete(sha(data), put_before=cutoff)

        race(lambda: store.put([data]), delete)  # noqa: B023 (run before the loop moves on)
        assert store.stat(sha(data)) == BlobStat(sha(data), len(data))
        assert joined(store.read(sha(data))) == data


def test_two_conditional_deletes_remove_a_blob_once(store: BlobStore) -> None:
    digests = [store.put([DATA + bytes([n])]).digest for n in range(20)]
    cutoff = a_moment_apart()
    removed: list[bool] = []

    def sweep() -> None:
        removed.extend(store.delete(d, put_before=cutoff) for d in digests)

    race(sweep, sweep)
    assert removed.count(True) == len(digests)
    assert listed(store) == {}


def test_local_listing_ignores_files_that_are_not_blobs(local: LocalBlobStore) -> None:
    local.put([DATA])
    hexdigest = sha(DATA).removeprefix("sha256:")
    (local.root / "blobs" / "sha256" / hexdigest[:2] / "notes.txt").write_text("not a blob")
    (local.root / "blobs" / "sha256" / "README").write_text("not a fan-out folder")
    assert set(listed(local)) == {sha(DATA)}
