"""The audit log's Merkle tree, held to a naive reference written from RFC 6962 §2.1.

The reference below shares nothing with ``cairn.domain.merkle``: it hashes with ``hashlib``
directly and follows the RFC's recursive definitions of MTH, PATH and PROOF/SUBPROOF word for
word, re-hashing whole subtrees at every step. It is slow and obviously right; the module is
fast and is checked against it for every tree size 1..64 and every index and old size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cache

import pytest

from cairn.domain import merkle
from cairn.domain.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)
from cairn.errors import InvalidInput
from tests.unit.domain.expect import raises_exactly

# --- the naive reference: RFC 6962 §2.1, over leaf hashes (MTH of one entry is its leaf hash)


def ref_leaf(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def ref_largest_power_of_two_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(hashes: Sequence[bytes]) -> bytes:
    n = len(hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashes[0]
    k = ref_largest_power_of_two_below(n)
    return hashlib.sha256(b"\x01" + ref_mth(hashes[:k]) + ref_mth(hashes[k:])).digest()


def ref_path(m: int, hashes: Sequence[bytes]) -> list[bytes]:
    n = len(hashes)
    if n == 1:
        return []
    k = ref_largest_power_of_two_below(n)
    if m < k:
        return [*ref_path(m, hashes[:k]), ref_mth(hashes[k:])]
    return [*ref_path(m - k, hashes[k:]), ref_mth(hashes[:k])]


def ref_subproof(m: int, hashes: Sequence[bytes], whole: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if whole else [ref_mth(hashes)]
    k = ref_largest_power_of_two_below(n)
    if m <= k:
        return [*ref_subproof(m, hashes[:k], whole), ref_mth(hashes[k:])]
    return [*ref_subproof(m - k, hashes[k:], False), ref_mth(hashes[:k])]


def ref_proof(m: int, hashes: Sequence[bytes]) -> list[bytes]:
    return ref_subproof(m, hashes, True)


# --- fixtures

SMALL = 64
ENTRIES = [f"audit entry {i}".encode() for i in range(SMALL)]
LEAVES = [ref_leaf(entry) for entry in ENTRIES]
SIZES = range(1, SMALL + 1)


@cache
def ref_root(size: int) -> bytes:
    return ref_mth(LEAVES[:size])


class CountingLeaves:
    """A leaf source over a list that may grow, counting what the tree asks it for."""

    def __init__(self, hashes: list[bytes]) -> None:
        self.hashes = hashes
        self.fetched = 0
        self.calls = 0

    def __call__(self, start: int, end: int) -> Sequence[bytes]:
        self.calls += 1
        self.fetched += end - start
        return self.hashes[start:end]


# Memo settings that exercise every path at these small sizes: memoised down to single
# leaves, a middling threshold, nothing memoised (the default, at <= 64 leaves), and an LRU
# so small it evicts all the time.
MEMO_SETTINGS = [
    {"memo_min_leaves": 1},
    {"memo_min_leaves": 4},
    {},
    {"memo_min_leaves": 2, "memo_max_entries": 3},
    {"memo_min_leaves": 1, "memo_max_entries": 0},
]


@pytest.fixture(params=MEMO_SETTINGS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
def tree(request: pytest.FixtureRequest) -> MerkleTree:
    return MerkleTree(CountingLeaves(LEAVES), **request.param)


def flipped(value: bytes, at: int = 0) -> bytes:
    return value[:at] + bytes([value[at] ^ 0x01]) + value[at + 1 :]


# --- hashing and published facts


def test_leaf_and_node_hashes_use_the_rfc_prefixes() -> None:
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert (
        node_hash(b"L" * 32, b"R" * 32) == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    )
    assert leaf_hash(b"") != hashlib.sha256(b"").digest()


def test_the_empty_root_is_the_published_one() -> None:
    published = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert ref_mth([]).hex() == published
    assert EMPTY_ROOT.hex() == published
    assert MerkleTree(CountingLeaves([])).root(0) == EMPTY_ROOT


# The eight entries of the certificate-transparency reference implementation's tests, and the
# roots it publishes for their prefixes of 1..8 entries.
CT_ENTRIES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


@pytest.mark.parametrize("memo_min_leaves", [1, 2, 256])
def test_the_certificate_transparency_vector_roots(memo_min_leaves: int) -> None:
    hashes = [ref_leaf(entry) for entry in CT_ENTRIES]
    tree = MerkleTree(CountingLeaves(hashes), memo_min_leaves=memo_min_leaves)
    for size, published in enumerate(CT_ROOTS, start=1):
        assert ref_mth(hashes[:size]).hex() == published  # the reference agrees with CT...
        assert tree.root(size).hex() == published  # ...and so does the module


# --- agreement with the reference, and every honest proof verifies


def test_roots_match_the_reference(tree: MerkleTree) -> None:
    for size in SIZES:
        assert tree.root(size) == ref_root(size)


def test_inclusion_proofs_match_the_reference_and_verify(tree: MerkleTree) -> None:
    for size in SIZES:
        for index in range(size):
            proof = tree.inclusion_proof(index, size)
            assert proof == ref_path(index, LEAVES[:size])
            assert verify_inclusion(LEAVES[index], index, size, proof, ref_root(size))


def test_consistency_proofs_match_the_reference_and_verify(tree: MerkleTree) -> None:
    for new_size in SIZES:
        for old_size in range(1, new_size):
            proof = tree.consistency_proof(old_size, new_size)
            assert proof == ref_proof(old_size, LEAVES[:new_size])
            assert verify_consistency(
                old_size, new_size, ref_root(old_size), ref_root(new_size), proof
            )


def test_trivial_consistency() -> None:
    tree = MerkleTree(CountingLeaves(LEAVES))
    assert tree.consistency_proof(0, 5) == []
    assert tree.consistency_proof(5, 5) == []
    assert tree.consistency_proof(0, 0) == []
    assert verify_consistency(0, 5, EMPTY_ROOT, ref_root(5), [])
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert verify_consistency(5, 5, ref_root(5), ref_root(5), [])
    assert not verify_consistency(0, 5, ref_root(1), ref_root(5), [])
    assert not verify_consistency(0, 0, EMPTY_ROOT, ref_root(1), [])
    assert not verify_consistency(0, 5, EMPTY_ROOT, ref_root(5), [ref_root(1)])
    assert not verify_consistency(5, 5, ref_root(5), ref_root(4), [])
    assert not verify_consistency(5, 5, ref_root(5), ref_root(5), [ref_root(5)])


# --- tampering: every change to a proof, a hash or a claim is refused


def inclusion_tamperings(
    index: int, size: int, proof: list[bytes]
) -> list[tuple[bytes, int, int, list[bytes], bytes]]:
    leaf, root = LEAVES[index], ref_root(size)
    cases = [
        (flipped(leaf), index, size, proof, root),
        (flipped(leaf, 31), index, size, proof, root),
        (leaf, index, size, proof, flipped(root)),
        (leaf, index, size, [*proof, LEAVES[0]], root),
        (leaf, index, size, [LEAVES[0], *proof], root),
        (leaf[:31], index, size, proof, root),
        (leaf, index, size, proof, root + b"\x00"),
        (leaf, index, size, proof, EMPTY_ROOT),
        (leaf, size, size, proof, root),
        (leaf, -1, size, proof, root),
        (leaf, index, 0, proof, root),
        (leaf, index, -size, proof, root),
    ]
    for at, element in enumerate(proof):
        cases.append((leaf, index, size, [*proof[:at], flipped(element), *proof[at + 1 :]], root))
        cases.append((leaf, index, size, proof[:at] + proof[at + 1 :], root))
        cases.append((leaf, index, size, [*proof[:at], element[:31], *proof[at + 1 :]], root))
    # A different index in the same tree, with that index's own leaf or with this one.
    for other in range(size):
        if other != index:
            cases.append((leaf, other, size, proof, root))
            cases.append((LEAVES[other], other, size, proof, root))
    # The root does not commit to the size, so a claim about another size is only a claim
    # when it comes with that size's root (as a signed checkpoint pairs them).
    for other_size in (size - 1, size + 1):
        if index < other_size <= SMALL and ref_path(index, LEAVES[:other_size]) != proof:
            cases.append((leaf, index, other_size, proof, ref_root(other_size)))
    return cases


def test_tampered_inclusion_proofs_are_refused() -> None:
    tree = MerkleTree(CountingLeaves(LEAVES), memo_min_leaves=2)
    for size in SIZES:
        for index in range(size):
            proof = tree.inclusion_proof(index, size)
            for case in inclusion_tamperings(index, size, proof):
                assert not verify_inclusion(*case), (index, size, case)


def consistency_tamperings(
    old_size: int, new_size: int, proof: list[bytes]
) -> list[tuple[int, int, bytes, bytes, list[bytes]]]:
    old_root, new_root = ref_root(old_size), ref_root(new_size)
    cases = [
        (old_size, new_size, flipped(old_root), new_root, proof),
        (old_size, new_size, old_root, flipped(new_root, 31), proof),
        (old_size, new_size, new_root, old_root, proof),
        (new_size, old_size, new_root, old_root, proof),
        (old_size, new_size, old_root, new_root, [*proof, LEAVES[0]]),
        (old_size, new_size, old_root, new_root, [LEAVES[0], *proof]),
        (old_size, new_size, old_root, new_root, []),
        (old_size, new_size, old_root, new_root, [old_root, *proof]),
        (old_size, new_size, old_root[:31], new_root, proof),
        (-old_size, new_size, old_root, new_root, proof),
    ]
    for at, element in enumerate(proof):
        before, after = proof[:at], proof[at + 1 :]
        for changed in ([*before, flipped(element), *after], [*before, element + b"\x00", *after]):
            cases.append((old_size, new_size, old_root, new_root, changed))
        cases.append((old_size, new_size, old_root, new_root, before + after))
    # Other sizes, each with its own root (see the inclusion case), where the honest proof
    # for that pair of sizes is not this one.
    others = [(old_size - 1, new_size), (old_size + 1, new_size)]
    others += [(old_size, new_size - 1), (old_size, new_size + 1)]
    for other_old, other_new in others:
        valid = 0 < other_old < other_new <= SMALL
        if valid and ref_proof(other_old, LEAVES[:other_new]) != proof:
            cases.append((other_old, other_new, ref_root(other_old), ref_root(other_new), proof))
    return cases


def test_tampered_consistency_proofs_are_refused() -> None:
    tree = MerkleTree(CountingLeaves(LEAVES), memo_min_leaves=2)
    for new_size in SIZES:
        for old_size in range(1, new_size):
            proof = tree.consistency_proof(old_size, new_size)
            for case in consistency_tamperings(old_size, new_size, proof):
                assert not verify_consistency(*case), (old_size, new_size, case)


def test_a_leaf_from_another_tree_is_not_included() -> None:
    proof = ref_path(3, LEAVES[:10])
    assert not verify_inclusion(ref_leaf(b"forged"), 3, 10, proof, ref_root(10))


# --- arguments


@pytest.mark.parametrize(("index", "size"), [(-1, 5), (5, 5), (6, 5), (0, 0), (0, -1)])
def test_an_inclusion_proof_outside_the_tree_is_invalid_input(index: int, size: int) -> None:
    with raises_exactly(InvalidInput) as info:
        MerkleTree(CountingLeaves(LEAVES)).inclusion_proof(index, size)
    assert info.value.details == {"index": index, "size": size}


@pytest.mark.parametrize(("old_size", "new_size"), [(-1, 5), (6, 5), (1, 0), (-2, -1)])
def test_a_consistency_proof_that_shrinks_is_invalid_input(old_size: int, new_size: int) -> None:
    with raises_exactly(InvalidInput) as info:
        MerkleTree(CountingLeaves(LEAVES)).consistency_proof(old_size, new_size)
    assert "cannot prove" in info.value.message


def test_a_negative_size_has_no_root() -> None:
    with raises_exactly(InvalidInput):
        MerkleTree(CountingLeaves(LEAVES)).root(-1)


def test_a_size_beyond_the_leaf_source_is_refused_not_hashed() -> None:
    tree = MerkleTree(CountingLeaves(LEAVES[:10]), memo_min_leaves=4)
    with pytest.raises(ValueError, match="gave 2 hashes for"):
        tree.root(12)
    assert tree.root(10) == ref_root(10)


def test_a_leaf_hash_of_the_wrong_length_is_refused() -> None:
    tree = MerkleTree(CountingLeaves([*LEAVES[:3], b"short"]))
    with pytest.raises(ValueError, match="not 32 bytes"):
        tree.root(4)


@pytest.mark.parametrize(
    "settings", [{"memo_min_leaves": 0}, {"memo_min_leaves": 3}, {"memo_max_entries": -1}]
)
def test_memo_settings_are_checked(settings: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="memo_"):
        MerkleTree(CountingLeaves(LEAVES), **settings)


def test_the_public_names_exist() -> None:
    assert merkle.__all__ == sorted(merkle.__all__)
    assert all(hasattr(merkle, name) for name in merkle.__all__)


# --- a large log: the memo makes repeat work cheap, and appending keeps it

LARGE = 100_000
THRESHOLD = 256  # the default memo_min_leaves


def synthetic_leaves(start: int, end: int) -> list[bytes]:
    return [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(start, end)]


@pytest.fixture(scope="module")
def large_hashes() -> list[bytes]:
    return synthetic_leaves(0, LARGE)


def test_a_large_tree_hashes_each_leaf_once_then_proves_from_the_memo(
    large_hashes: list[bytes],
) -> None:
    source = CountingLeaves(list(large_hashes))
    tree = MerkleTree(source)
    root = tree.root(LARGE)
    assert root == ref_mth(large_hashes)
    assert source.fetched == LARGE  # every leaf read exactly once
    assert 0 < tree.memoised < 2 * LARGE // THRESHOLD

    for index in (0, 12_345, 65_535, 65_536, 99_999):
        source.fetched = source.calls = 0
        proof = tree.inclusion_proof(index, LARGE)
        assert source.fetched <= 2 * THRESHOLD
        assert source.calls <= 3
        assert verify_inclusion(large_hashes[index], index, LARGE, proof, root)
    assert tree.inclusion_proof(12_345, LARGE) == ref_path(12_345, large_hashes)

    source.fetched = 0
    proof = tree.consistency_proof(70_001, LARGE)
    assert source.fetched <= 2 * THRESHOLD
    assert verify_consistency(70_001, LARGE, tree.root(70_001), root, proof)
    assert proof == ref_proof(70_001, large_hashes)


def test_appending_keeps_the_memo(large_hashes: list[bytes]) -> None:
    source = CountingLeaves(list(large_hashes))
    tree = MerkleTree(source)
    old_root = tree.root(LARGE)

    source.hashes.extend(synthetic_leaves(LARGE, LARGE + 1_000))
    source.fetched = 0
    new_root = tree.root(LARGE + 1_000)
    assert source.fetched <= 1_000 + 2 * THRESHOLD
    assert new_root == ref_mth(source.hashes)

    source.fetched = 0
    proof = tree.consistency_proof(LARGE, LARGE + 1_000)
    assert source.fetched <= 2 * THRESHOLD
    assert verify_consistency(LARGE, LARGE + 1_000, old_root, new_root, proof)
    assert tree.root(LARGE) == old_root


def test_a_bounded_memo_stays_bounded_and_right(large_hashes: list[bytes]) -> None:
    source = CountingLeaves(list(large_hashes[:5_000]))
    tree = MerkleTree(source, memo_min_leaves=16, memo_max_entries=10)
    root = tree.root(5_000)
    assert tree.memoised == 10
    assert root == ref_mth(large_hashes[:5_000])
    proof = tree.inclusion_proof(4_321, 5_000)
    assert verify_inclusion(large_hashes[4_321], 4_321, 5_000, proof, root)


def test_without_a_memo_every_root_reads_every_leaf() -> None:
    source = CountingLeaves(LEAVES)
    tree = MerkleTree(source, memo_min_leaves=1, memo_max_entries=0)
    tree.root(SMALL)
    tree.root(SMALL)
    assert source.fetched == 2 * SMALL
    assert tree.memoised == 0


def test_forget_beyond_drops_only_subtrees_past_the_cut() -> None:
    hashes = list(LEAVES[:40])
    source = CountingLeaves(hashes)
    tree = MerkleTree(source, memo_min_leaves=4)
    tree.root(40)
    # The log loses its tail after leaf 20 and grows again with different entries.
    hashes[20:] = [ref_leaf(b"rewritten %d" % i) for i in range(20, 40)]
    tree.forget_beyond(20)
    assert tree.root(40) == ref_mth(hashes)
    source.fetched = 0
    tree.root(16)  # [0, 16) was not past the cut, so it is still memoised
    assert source.fetched == 0
