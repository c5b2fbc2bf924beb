"""RFC 6962 / RFC 9162 Merkle tree hashing and proofs: pure functions, no I/O.

Leaves are the canonical bytes of custody entries in seq order (leaf index = seq - 1).
A tree of any size is described by its *complete* subtrees: the node at ``(level, index)``
covers leaves ``[index * 2**level, (index + 1) * 2**level)``. Those never change once their
last leaf exists, so they can be stored and looked up; every other hash (the right edge of a
tree whose size is not a power of two) is derived from O(log n) of them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

from vault.errors import VerificationError

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeKey = tuple[int, int]  # (level, index) of a complete subtree
NodeLookup = Callable[[int, int], bytes]


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two smaller than ``size`` (size >= 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def nodes_completed_by(index: int) -> list[NodeKey]:
    """The complete subtrees whose last leaf is leaf ``index``, bottom up (the leaf first).

    These are the nodes to store when the leaf is appended; each above the leaf is the hash
    of its left sibling (already stored) and the node just below it.
    """
    keys = [(0, index)]
    level, position = 0, index
    while position & 1:
        level, position = level + 1, position >> 1
        keys.append((level, position))
    return keys


def subtree_root(start: int, end: int, lookup: NodeLookup) -> bytes:
    """MTH(D[start:end]) for a range the RFC's recursion produces (``start`` aligned)."""
    size = end - start
    if size <= 0:
        raise ValueError(f"empty range {start}:{end}")
    if size & (size - 1) == 0 and start % size == 0:
        return lookup(size.bit_length() - 1, start // size)
    k = _split(size)
    return node_hash(subtree_root(start, start + k, lookup), subtree_root(start + k, end, lookup))


def tree_root(size: int, lookup: NodeLookup) -> bytes:
    return EMPTY_ROOT if size == 0 else subtree_root(0, size, lookup)


def inclusion_proof(index: int, size: int, lookup: NodeLookup) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 section 2.1.3.1, leaf-side first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(subtree_root(start + k, end, lookup))
            end = start + k
        else:
            path.append(subtree_root(start, start + k, lookup))
            start += k
    path.reverse()
    return path


def consistency_proof(old_size: int, new_size: int, lookup: NodeLookup) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]) of RFC 9162 section 2.1.4.1."""
    if not 0 < old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to {new_size}")
    proof: list[bytes] = []
    start, end, complete = 0, new_size, True
    m = old_size
    while m != end:
        k = _split(end - start)
        if m - start <= k:
            proof.append(subtree_root(start + k, end, lookup))
            end = start + k
        else:
            proof.append(subtree_root(start, start + k, lookup))
            start += k
            complete = False
    if not complete:
        proof.append(subtree_root(start, end, lookup))
    proof.reverse()
    return proof


def needed_nodes(build: Callable[[NodeLookup], object]) -> set[NodeKey]:
    """The stored nodes ``build`` reads, found by a dry run (so they can be fetched at once)."""
    wanted: set[NodeKey] = set()

    def record(level: int, index: int) -> bytes:
        wanted.add((level, index))
        return bytes(32)

    build(record)
    return wanted


class TreeBuilder:
    """Appends leaf hashes in order, keeping only the peaks (O(log n) memory)."""

    def __init__(self) -> None:
        self.size = 0
        self._peaks: list[tuple[int, bytes]] = []  # (level, hash), left to right

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf hash; returns the complete subtrees it completes (level, pos, hash)."""
        index, level, current = self.size, 0, leaf
        made = [(0, index, leaf)]
        while self._peaks and self._peaks[-1][0] == level:
            current = node_hash(self._peaks.pop()[1], current)
            level += 1
            made.append((level, index >> level, current))
        self._peaks.append((level, current))
        self.size += 1
        return made

    def root(self) -> bytes:
        if not self._peaks:
            return EMPTY_ROOT
        root = self._peaks[-1][1]
        for _, left in reversed(self._peaks[:-1]):
            root = node_hash(left, root)
        return root


def root_from_leaves(leaves: Iterable[bytes]) -> tuple[int, bytes]:
    """(size, MTH) of leaf hashes streamed in order."""
    builder = TreeBuilder()
    for leaf in leaves:
        builder.append(leaf)
    return builder.size, builder.root()


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 section 2.1.3.2; raises VerificationError saying what failed."""
    if not 0 <= index < size:
        raise VerificationError(f"leaf index {index} is outside a tree of size {size}")
    fn, sn, current = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            raise VerificationError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            current = node_hash(sibling, current)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            current = node_hash(current, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise VerificationError("inclusion proof is shorter than the tree is deep")
    if current != root:
        raise VerificationError(
            f"leaf {index} does not lead to the root of the tree of size {size}"
        )


def _trivially_consistent(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    if old_size > new_size:
        raise VerificationError(f"tree shrank from {old_size} to {new_size} entries")
    if old_size == new_size:
        if proof:
            raise VerificationError("a proof between equal sizes must be empty")
        if old_root != new_root:
            raise VerificationError(f"two different roots for the same size {old_size}")
        return True
    return old_size == 0  # the empty tree is a prefix of every tree


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 section 2.1.4.2; raises VerificationError saying what failed."""
    if _trivially_consistent(old_size, new_size, old_root, new_root, proof):
        return
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is itself a node
        path.insert(0, old_root)
    if not path:
        raise VerificationError("consistency proof is empty")
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise VerificationError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise VerificationError("consistency proof is too short")
    if fr != old_root:
        raise VerificationError(f"the log's first {old_size} entries are not the ones signed")
    if sr != new_root:
        raise VerificationError(f"consistency proof does not lead to the root of size {new_size}")
