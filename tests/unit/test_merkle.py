"""escrow.merkle against RFC 9162 §2.1: published roots, the transparency-dev proof vectors, and a
reference written straight from the RFC's recursive definitions (MTH, PATH, SUBPROOF)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from escrow import merkle

VECTORS = json.loads((Path(__file__).parent / "data/rfc9162/vectors.json").read_text())

# testonly/constants.go of transparency-dev/merkle (Apache-2.0, see data/rfc9162/LICENSE): the
# leaf inputs and the roots of the trees of their first 0..8 leaves.
LEAF_INPUTS = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657"]
LEAF_INPUTS.append("606162636465666768696a6b6c6d6e6f")
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


# --- the reference: RFC 9162 §2.1.1, §2.1.3.1, §2.1.4.1 transcribed on lists of leaf inputs ---


def ref_mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = 1
    while k * 2 < len(d):
        k *= 2
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = 1
    while k * 2 < len(d):
        k *= 2
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [ref_mth(d)]
    k = 1
    while k * 2 < len(d):
        k *= 2
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def data(n: int) -> list[bytes]:
    return [f"event {i}".encode() for i in range(n)]


def hashes_of(ranges: list[tuple[int, int]], d: list[bytes]) -> list[bytes]:
    """The proof escrow.merkle builds: each range's hash from the nodes of its subtrees."""
    leaves = [merkle.leaf_hash(x) for x in d]
    nodes = {}
    for lo, hi in ranges:
        for level, index in merkle.subtrees(lo, hi):
            nodes[(level, index)] = merkle.tree_root(leaves[index << level : (index + 1) << level])
    return [merkle.range_hash(lo, hi, nodes) for lo, hi in ranges]


# --- roots -------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", range(9))
def test_roots_of_the_published_trees(size: int) -> None:
    leaves = [merkle.leaf_hash(bytes.fromhex(x)) for x in LEAF_INPUTS[:size]]
    assert merkle.tree_root(leaves).hex() == ROOTS[size]
    compact = merkle.CompactRange()
    compact.extend(leaves)
    assert compact.root().hex() == ROOTS[size]


def test_compact_range_and_subtree_hashes_agree_with_the_reference_for_every_size() -> None:
    d = data(70)
    leaves = [merkle.leaf_hash(x) for x in d]
    compact = merkle.CompactRange()
    nodes: dict[merkle.Node, bytes] = {}
    for n in range(71):
        assert compact.root() == ref_mth(d[:n]), n
        assert merkle.range_hash(0, n, nodes) == ref_mth(d[:n]), n
        if n < 70:
            nodes.update(compact.append(leaves[n]))
    # every node the compact range reported is the hash of its complete subtree
    for (level, index), digest in nodes.items():
        assert digest == ref_mth(d[index << level : (index + 1) << level])
    assert len(nodes) == 70 + 35 + 17 + 8 + 4 + 2 + 1  # complete subtrees of 70 leaves, per level


def test_subtrees_split_a_ragged_range_into_aligned_complete_trees() -> None:
    # 13 = 8 + 4 + 1 leaves from 0; [16, 23) = 4 + 2 + 1 from 16
    assert merkle.subtrees(0, 13) == [(3, 0), (2, 2), (0, 12)]
    assert merkle.subtrees(16, 23) == [(2, 4), (1, 10), (0, 22)]
    assert merkle.subtrees(5, 5) == []
    with pytest.raises(ValueError):
        merkle.subtrees(3, 7)  # 4 leaves starting at an odd leaf: no node of the tree


# --- proofs against the reference ---------------------------------------------------------------


def test_inclusion_proofs_equal_the_rfc_path_and_verify() -> None:
    for size in range(1, 40):
        d = data(size)
        root = ref_mth(d)
        for index in range(size):
            proof = hashes_of(merkle.inclusion_ranges(index, size), d)
            assert proof == ref_path(index, d), (index, size)
            merkle.verify_inclusion(index, size, merkle.leaf_hash(d[index]), proof, root)
            wrong = merkle.leaf_hash(b"not " + d[index])
            with pytest.raises(merkle.ProofError):
                merkle.verify_inclusion(index, size, wrong, proof, root)


def test_consistency_proofs_equal_the_rfc_subproof_and_verify() -> None:
    for new in range(1, 34):
        d = data(new)
        for old in range(1, new + 1):
            proof = hashes_of(merkle.consistency_ranges(old, new), d)
            assert proof == ref_subproof(old, d, True), (old, new)
            merkle.verify_consistency(old, new, ref_mth(d[:old]), ref_mth(d), proof)
            if old < new:
                changed = [*d[: old - 1], b"changed", *d[old:]]  # the old tree's last leaf
                with pytest.raises(merkle.ProofError):
                    merkle.verify_consistency(old, new, ref_mth(changed[:old]), ref_mth(d), proof)


def test_log_sized_proofs() -> None:
    # a million leaves: depth 20, so at most 20 hashes either way
    assert len(merkle.inclusion_ranges(123_456, 1_000_000)) <= 20
    assert len(merkle.consistency_ranges(999_999, 1_000_000)) <= 2 * 20


# --- the transparency-dev vectors (positive and mutated cases) ----------------------------------


def b64(x: str | None) -> bytes:
    return base64.b64decode(x) if x is not None else b""


def accepts_inclusion(case: dict[str, Any]) -> bool:
    try:
        merkle.verify_inclusion(
            case["leafIdx"],
            case["treeSize"],
            b64(case["leafHash"]),
            [b64(p) for p in case["proof"] or []],
            b64(case["root"]),
        )
    except merkle.ProofError:
        return False
    return True


def accepts_consistency(case: dict[str, Any]) -> bool:
    try:
        merkle.verify_consistency(
            case["size1"],
            case["size2"],
            b64(case["root1"]),
            b64(case["root2"]),
            [b64(p) for p in case["proof"] or []],
        )
    except merkle.ProofError:
        return False
    return True


@pytest.mark.parametrize("name", sorted(VECTORS["inclusion"]))
def test_inclusion_vector(name: str) -> None:
    case = VECTORS["inclusion"][name]
    assert accepts_inclusion(case) is not case["wantErr"], case["desc"]


STRICTER = {"additional/sizes-are-equal-one-and-proof-is-empty.json"}
"""Cases the vectors accept and escrow refuses on purpose: its roots are 12-byte strings ("don't
care 2"), and escrow requires every hash of a proof, roots included, to be 32 bytes."""


@pytest.mark.parametrize("name", sorted(VECTORS["consistency"]))
def test_consistency_vector(name: str) -> None:
    case = VECTORS["consistency"][name]
    want = not case["wantErr"] and name not in STRICTER
    assert accepts_consistency(case) is want, case["desc"]


def test_the_stricter_case_is_accepted_with_32_byte_roots() -> None:
    root = hashlib.sha256(b"don't care").digest()
    merkle.verify_consistency(1, 1, root, root, [])


def test_all_196_vectors_are_there() -> None:
    assert len(VECTORS["inclusion"]) + len(VECTORS["consistency"]) == 196
    assert sum(not c["wantErr"] for c in VECTORS["inclusion"].values()) >= 5
