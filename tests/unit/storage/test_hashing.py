"""Hashing beside the I/O gives exactly hashlib's answer, whatever the chunking."""

import hashlib
import os

import pytest

from cairn.storage.blobs.hashing import StreamHasher


@pytest.mark.parametrize(
    "sizes",
    [[], [0], [10], [1 << 20] * 5, [100, 1 << 20, 7, 300_000, 1 << 20, 1], [256 * 1024] * 9],
)
def test_the_digest_and_size_match_hashlib(sizes: list[int]) -> None:
    chunks = [os.urandom(n) for n in sizes]
    hashing = StreamHasher()
    passed = list(hashing.feed(iter(chunks)))
    assert passed == chunks  # every chunk goes through, in order, unchanged
    assert hashing.size == sum(sizes)
    assert hashing.hexdigest() == hashlib.sha256(b"".join(chunks)).hexdigest()
    assert hashing.hexdigest() == hashlib.sha256(b"".join(chunks)).hexdigest()


def test_a_running_hash_carries_on_from_where_it_was() -> None:
    start = hashlib.sha256(b"already seen ")
    hashing = StreamHasher(start)
    list(hashing.feed([b"x" * (1 << 20), b"tail"]))
    expected = hashlib.sha256(b"already seen " + b"x" * (1 << 20) + b"tail").hexdigest()
    assert hashing.hexdigest() == expected


def test_a_consumer_that_stops_early_leaves_no_helper_waiting() -> None:
    hashing = StreamHasher()
    stream = hashing.feed(iter([b"a" * (1 << 20)] * 10))
    next(stream)
    stream.close()  # like a write that failed after the first chunk
    assert hashing.hexdigest() == hashlib.sha256(b"a" * (1 << 20)).hexdigest()
