"""A Merkle tree over the ledger's events, as RFC 9162 §2.1 defines it (no I/O here).

Hashing (§2.1.1), with SHA-256 and 0-based leaf indices::

    MTH({})       = SHA-256()
    MTH({d})      = SHA-256(0x00 || d)                       (a leaf)
    MTH(D[0:n])   = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))   k = largest power of 2 < n

so any implementation of RFC 9162 (or RFC 6962) computes the same roots and checks the same
proofs. A *node* ``(level, index)`` is the complete subtree over the leaves
``[index * 2**level, (index + 1) * 2**level)``; every hash a proof needs is the hash of a range of
leaves that splits into a few such nodes (:func:`subtrees`), so a store that keeps the nodes of
complete subtrees can answer any proof and any root without reading every leaf.

The verifiers follow §2.1.3.2 and §2.1.4.2 and are stricter than the RFC's text, as the
corrections to it require: the index must be below the size, the final ``sn`` must be 0, every
hash must be 32 bytes, a consistency proof from the empty tree is refused and an empty
consistency path proves only ``old == new`` with equal roots.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "Node",
    "ProofError",
    "consistency_ranges",
    "inclusion_ranges",
    "leaf_hash",
    "node_hash",
    "range_hash",
    "subtrees",
    "tree_root",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}): the root of the empty tree."""

Node = tuple[int, int]
"""``(level, index)``: the complete subtree of leaves ``[index << level, (index + 1) << level)``."""

Range = tuple[int, int]
"""``(lo, hi)``: the leaves ``lo .. hi - 1``."""

_LEAF = b"\x00"
_INNER = b"\x01"


class ProofError(ValueError):
    """A proof that does not prove what it claims (or is malformed)."""


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d)."""
    return hashlib.sha256(_LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_INNER + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """k with k < n <= 2k (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def subtrees(lo: int, hi: int) -> list[Node]:
    """The complete subtrees that make up the leaves ``[lo, hi)``, left to right, largest first.

    Valid for the ranges a tree's hashes are made of: ``lo`` a multiple of a power of two that is
    at least ``hi - lo`` (``lo = 0`` for a whole tree). Their right fold is MTH(D[lo:hi]).
    """
    if not 0 <= lo <= hi:
        raise ValueError(f"not a range of leaves: [{lo}, {hi})")
    nodes: list[Node] = []
    start, size = lo, hi - lo
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            if start % (1 << level):
                raise ValueError(f"[{lo}, {hi}) is not a range of the tree")
            nodes.append((level, start >> level))
            start += 1 << level
    return nodes


def range_hash(lo: int, hi: int, nodes: Mapping[Node, bytes]) -> bytes:
    """MTH(D[lo:hi]) from the hashes of its :func:`subtrees` (``EMPTY_ROOT`` when empty)."""
    parts = [nodes[n] for n in subtrees(lo, hi)]
    if not parts:
        return EMPTY_ROOT
    digest = parts[-1]
    for left in reversed(parts[:-1]):
        digest = node_hash(left, digest)
    return digest


def tree_root(leaves: Sequence[bytes]) -> bytes:
    """MTH of the given leaf hashes, by the recursive definition (for small trees and tests)."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = _largest_power_of_two_below(len(leaves))
    return node_hash(tree_root(leaves[:k]), tree_root(leaves[k:]))


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The ranges whose hashes form PATH(index, D[0:size]) (§2.1.3.1), leaf side first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    path: list[Range] = []
    lo, hi, m = 0, size, index
    while hi - lo > 1:
        k = _largest_power_of_two_below(hi - lo)
        if m < k:
            path.append((lo + k, hi))
            hi = lo + k
        else:
            path.append((lo, lo + k))
            lo, m = lo + k, m - k
    path.reverse()
    return path


def consistency_ranges(old: int, new: int) -> list[Range]:
    """The ranges whose hashes form PROOF(old, D[0:new]) (§2.1.4.1), for 0 < old <= new."""
    if not 0 < old <= new:
        raise ValueError(f"no consistency proof from size {old} to size {new}")
    proof: list[Range] = []
    lo, hi, m, whole = 0, new, old, True
    while m != hi - lo:
        k = _largest_power_of_two_below(hi - lo)
        if m <= k:
            proof.append((lo + k, hi))
            hi = lo + k
        else:
            proof.append((lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        proof.append((lo, hi))
    proof.reverse()
    return proof


class CompactRange:
    """The hashes of the complete subtrees of a tree of ``size`` leaves (its "peaks"), enough
    to append a leaf and to compute the root: O(log n) hashes, whatever the size."""

    __slots__ = ("peaks", "size")

    def __init__(self, size: int = 0, peaks: Sequence[bytes] = ()) -> None:
        if len(peaks) != size.bit_count():
            raise ValueError(f"a tree of {size} leaves has {size.bit_count()} peaks")
        self.size = size
        self.peaks = list(peaks)

    def append(self, leaf: bytes) -> list[tuple[Node, bytes]]:
        """Add a leaf hash; the nodes this completes (the leaf itself first, as ``(0, i)``)."""
        index = self.size
        made: list[tuple[Node, bytes]] = [((0, index), leaf)]
        digest = leaf
        level = 0
        while index >> level & 1:
            digest = node_hash(self.peaks.pop(), digest)
            level += 1
            made.append(((level, index >> level), digest))
        self.peaks.append(digest)
        self.size += 1
        return made

    def extend(self, leaves: Iterable[bytes]) -> None:
        for leaf in leaves:
            self.append(leaf)

    def extend_data(self, data: Iterable[bytes], min_level: int) -> list[tuple[int, int, bytes]]:
        """Append a leaf for each of ``data`` (hashed as MTH({d})); the ``(level, index, hash)``
        of the completed nodes of ``min_level`` or more. :meth:`append` in a loop, without its
        per-leaf allocations (this runs once per stored event)."""
        sha256 = hashlib.sha256
        peaks = self.peaks
        size = self.size
        made: list[tuple[int, int, bytes]] = []
        for d in data:
            digest = sha256(_LEAF + d).digest()
            level = 0
            while size >> level & 1:
                digest = sha256(_INNER + peaks.pop() + digest).digest()
                level += 1
                if level >= min_level:
                    made.append((level, size >> level, digest))
            peaks.append(digest)
            size += 1
        self.size = size
        return made

    def root(self) -> bytes:
        if not self.peaks:
            return EMPTY_ROOT
        digest = self.peaks[-1]
        for left in reversed(self.peaks[:-1]):
            digest = node_hash(left, digest)
        return digest


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} is {len(value)} bytes, not {HASH_SIZE}")


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf`` is leaf ``index`` of the tree of ``size`` leaves with ``root``
    (RFC 9162 §2.1.3.2, strictly); ProofError otherwise."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of size {size}")
    _check_hash(leaf, "the leaf hash")
    _check_hash(root, "the root")
    fn, sn = index, size - 1
    digest = leaf
    for n, p in enumerate(proof):
        _check_hash(p, f"proof hash {n}")
        if sn == 0:
            raise ProofError("the proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            digest = node_hash(p, digest)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            digest = node_hash(digest, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the proof is shorter than the tree is deep")
    if digest != root:
        raise ProofError("the proof leads to another root")


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of ``new`` leaves with ``new_root`` extends the tree of ``old`` leaves
    with ``old_root`` (RFC 9162 §2.1.4.2, strictly); ProofError otherwise."""
    _check_hash(old_root, "the old root")
    _check_hash(new_root, "the new root")
    for n, p in enumerate(proof):
        _check_hash(p, f"proof hash {n}")
    if old < 1:
        raise ProofError("a consistency proof from the empty tree proves nothing")
    if new < old:
        raise ProofError(f"the new size {new} is below the old size {old}")
    if old == new:
        if proof:
            raise ProofError("equal sizes need an empty proof")
        if old_root != new_root:
            raise ProofError("equal sizes but different roots")
        return
    if not proof:
        raise ProofError("an empty proof between different sizes")
    path = list(proof)
    if old & (old - 1) == 0:  # an exact power of 2: the old root is a node of the new tree
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the proof is shorter than the tree is deep")
    if fr != old_root:
        raise ProofError("the proof does not lead to the old root")
    if sr != new_root:
        raise ProofError("the proof does not lead to the new root")
