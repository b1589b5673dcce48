"""The audit log's Merkle tree: RFC 9162 §2.1 (the RFC 6962 tree, restated for CT 2.0), SHA-256.

A leaf hashes as ``SHA-256(0x00 || entry)`` and an inner node as ``SHA-256(0x01 || left ||
right)``; the prefixes keep a leaf from ever passing for a node. A tree of ``n > 1`` leaves
is split at ``k``, the largest power of two below ``n``: the first ``k`` leaves on the left,
the rest on the right. The root commits to the entries but not to ``n``, so a verifier must
take each ``(size, root)`` pair from a signed checkpoint, never from the party proving.

Memoisation. Every left part of that split, at every depth, is a *perfect aligned* subtree:
``2**h`` leaves starting at a multiple of ``2**h``. Its hash depends on those leaves only, and
the log is append-only, so once they all exist the hash is the same for every later tree size
— appending never invalidates it. ``MerkleTree`` keeps those hashes (for subtrees of at least
``memo_min_leaves`` leaves, in a bounded LRU), so after the first pass a root or a proof costs
O(log n) look-ups plus at most about ``2 * memo_min_leaves`` leaf hashes, wherever the leaf.
The one way to break the premise is to feed the tree leaves that are later taken back (read in
a transaction that rolls back): feed it committed leaves, or call ``forget_beyond``.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

from cairn.errors import InvalidInput

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "LeafSource",
    "MerkleTree",
    "leaf_hash",
    "node_hash",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

LeafSource = Callable[[int, int], Sequence[bytes]]
"""``leaves(start, end)``: the leaf hashes at indexes ``start <= i < end``, exactly that many."""


def leaf_hash(data: bytes) -> bytes:
    """The hash of one log entry as a leaf: ``SHA-256(0x00 || data)``."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an inner node: ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (``n >= 2``): where the RFC cuts a tree."""
    return 1 << ((n - 1).bit_length() - 1)


def _hash_in_memory(hashes: Sequence[bytes]) -> bytes:
    # Hashing neighbours pairwise and lifting an odd last node to the next level unchanged
    # builds the same tree as the recursive split (the split only ever leaves the ragged edge
    # on the right), without recursion.
    level = list(hashes)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


class MerkleTree:
    """Roots and proofs over leaf hashes that live elsewhere (in SQL), read through ``leaves``.

    The tree does not know how many leaves exist: every call names the tree size it is about,
    and the caller must not name a size beyond the log. One instance may be shared by threads.

    >>> hashes = [leaf_hash(entry) for entry in (b"a", b"b", b"c")]
    >>> tree = MerkleTree(lambda start, end: hashes[start:end])
    >>> verify_inclusion(hashes[2], 2, 3, tree.inclusion_proof(2, 3), tree.root(3))
    True
    """

    def __init__(
        self, leaves: LeafSource, *, memo_min_leaves: int = 256, memo_max_entries: int = 65_536
    ) -> None:
        if memo_min_leaves < 1 or memo_min_leaves & (memo_min_leaves - 1):
            raise ValueError(f"memo_min_leaves must be a power of two, not {memo_min_leaves}")
        if memo_max_entries < 0:
            raise ValueError(f"memo_max_entries must be >= 0, not {memo_max_entries}")
        self._leaves = leaves
        self._min_leaves = memo_min_leaves
        self._min_height = memo_min_leaves.bit_length() - 1
        self._max_entries = memo_max_entries
        # (height, position) -> hash of leaves [position * 2**height, (position + 1) * 2**height)
        self._memo: OrderedDict[tuple[int, int], bytes] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def memoised(self) -> int:
        """How many subtree hashes are held now (at most ``memo_max_entries``)."""
        return len(self._memo)

    def root(self, size: int) -> bytes:
        """The Merkle tree hash of the first ``size`` leaves; ``EMPTY_ROOT`` for none."""
        if size < 0:
            raise InvalidInput(f"a tree size cannot be negative ({size})", size=size)
        return EMPTY_ROOT if size == 0 else self._hash(0, size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """The audit path of leaf ``index`` in the tree of ``size`` leaves (RFC 9162 §2.1.3.1)."""
        if not 0 <= index < size:
            raise InvalidInput(
                f"leaf {index} is not in a tree of {size} leaves", index=index, size=size
            )
        siblings: list[bytes] = []  # from the root down; the proof lists them leaf first
        lo, hi = 0, size
        window: Callable[[int, int], bytes] | None = None
        while hi - lo > 1:
            window = window or self._window(lo, hi)
            hash_of = window or self._hash
            k = _split(hi - lo)
            if index < lo + k:
                siblings.append(hash_of(lo + k, hi))
                hi = lo + k
            else:
                siblings.append(hash_of(lo, lo + k))
                lo += k
        siblings.reverse()
        return siblings

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """The proof that the tree of ``old_size`` leaves is a prefix of the one of ``new_size``.

        RFC 9162 §2.1.4.1; empty when ``old_size`` is 0 or equals ``new_size``.
        """
        if not 0 <= old_size <= new_size:
            raise InvalidInput(
                f"cannot prove a tree of {old_size} leaves grew into one of {new_size}",
                old_size=old_size,
                new_size=new_size,
            )
        if old_size in (0, new_size):
            return []
        nodes: list[bytes] = []  # from the root down, as in the inclusion proof
        lo, hi = 0, new_size
        old_tree_is_a_node = True  # SUBPROOF's flag: the verifier already holds this hash
        window: Callable[[int, int], bytes] | None = None
        while hi != old_size:
            window = window or self._window(lo, hi)
            hash_of = window or self._hash
            k = _split(hi - lo)
            if old_size - lo <= k:
                nodes.append(hash_of(lo + k, hi))
                hi = lo + k
            else:
                nodes.append(hash_of(lo, lo + k))
                lo += k
                old_tree_is_a_node = False
        if not old_tree_is_a_node:
            nodes.append((window or self._hash)(lo, hi))
        nodes.reverse()
        return nodes

    def forget_beyond(self, size: int) -> None:
        """Drop memoised subtrees that reach past the first ``size`` leaves.

        For a caller whose log lost its tail (a rolled-back transaction the tree had read).
        """
        with self._lock:
            stale = [key for key in self._memo if (key[1] + 1) << key[0] > size]
            for key in stale:
                del self._memo[key]

    def _window(self, lo: int, hi: int) -> Callable[[int, int], bytes] | None:
        # Once a proof's walk is down to a range below the memo threshold, every hash it still
        # needs lies inside [lo, hi): one fetch serves them all, where one per sibling would
        # cost a query each.
        if hi - lo > self._min_leaves:
            return None
        block = self._fetch(lo, hi)
        return lambda start, end: _hash_in_memory(block[start - lo : end - lo])

    def _hash(self, start: int, end: int) -> bytes:
        n = end - start
        if n >= self._min_leaves and n & (n - 1) == 0 and start % n == 0:
            height = n.bit_length() - 1
            return self._perfect(height, start >> height)
        if n <= self._min_leaves:
            return _hash_in_memory(self._fetch(start, end))
        k = _split(n)
        return node_hash(self._hash(start, start + k), self._hash(start + k, end))

    def _perfect(self, height: int, position: int) -> bytes:
        key = (height, position)
        with self._lock:
            known = self._memo.get(key)
            if known is not None:
                self._memo.move_to_end(key)
                return known
        if height == self._min_height:
            start = position << height
            digest = _hash_in_memory(self._fetch(start, start + (1 << height)))
        else:
            left = self._perfect(height - 1, 2 * position)
            digest = node_hash(left, self._perfect(height - 1, 2 * position + 1))
        # Two threads may both compute a missing hash; they get the same bytes, so the
        # second store is harmless and the lock is never held while hashing or fetching.
        with self._lock:
            self._memo[key] = digest
            self._memo.move_to_end(key)
            while len(self._memo) > self._max_entries:
                self._memo.popitem(last=False)
        return digest

    def _fetch(self, start: int, end: int) -> Sequence[bytes]:
        hashes = self._leaves(start, end)
        # A short answer means the caller named a size beyond its log; hashing on would
        # produce a wrong root (and memoise it), so stop here.
        if len(hashes) != end - start:
            raise ValueError(f"leaf source gave {len(hashes)} hashes for [{start}, {end})")
        if any(len(h) != HASH_SIZE for h in hashes):
            raise ValueError(f"leaf source gave a hash that is not {HASH_SIZE} bytes")
        return hashes


def _are_hashes(*values: bytes) -> bool:
    return all(len(value) == HASH_SIZE for value in values)


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``proof`` shows ``leaf`` (a leaf hash) at ``index`` in the tree ``(size, root)``.

    RFC 9162 §2.1.3.2. Any malformed input (sizes, lengths, extra or missing hashes) is False.
    """
    if not 0 <= index < size or not _are_hashes(leaf, root, *proof):
        return False
    fn, sn = index, size - 1
    computed = leaf
    for sibling in proof:
        if sn == 0:
            return False  # more hashes than the path has levels
        if fn & 1 or fn == sn:
            computed = node_hash(sibling, computed)
            # Levels where this node was the last, unpaired one add no hash: skip them.
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            computed = node_hash(computed, sibling)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and computed == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows the tree ``(old_size, old_root)`` is a prefix of the new one.

    RFC 9162 §2.1.4.2. Any malformed input is False. Every tree extends the empty one, and a
    tree extends itself, with an empty proof.
    """
    if not 0 <= old_size <= new_size or not _are_hashes(old_root, new_root, *proof):
        return False
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT and (new_size > 0 or new_root == EMPTY_ROOT)
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        # The old tree is a whole node of the new one, so the proof leaves its hash out.
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    old_computed = new_computed = path[0]
    for node in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            old_computed = node_hash(node, old_computed)
            new_computed = node_hash(node, new_computed)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            new_computed = node_hash(new_computed, node)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and old_computed == old_root and new_computed == new_root
