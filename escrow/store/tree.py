"""The SQL of the Merkle tree (RFC 9162, :mod:`escrow.merkle`) over the rows' hashes.

Complete subtrees of ``2**TREE_LEVEL`` leaves or more are kept in ``merkle_nodes``, written in
the append's transaction (:func:`_grow_tree`); the smaller ones are recomputed from the rows.
Tree heads and inclusion and consistency proofs read O(log n) rows, never the whole log.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from escrow import merkle
from escrow.errors import IntegrityError, StoreError
from escrow.store.prepared import insert_into
from escrow.store.schema import TREE_LEVEL, _events, _tree_nodes

_ALL_NODES = sa.select(_tree_nodes.c.level, _tree_nodes.c.idx, _tree_nodes.c.hash)
_FIRST_HASH = sa.select(_events.c.hash).where(_events.c.position == 1)
_ROW_HASHES = (
    sa.select(_events.c.hash)
    .where(_events.c.position.between(sa.bindparam("lo"), sa.bindparam("hi")))
    .order_by(_events.c.position)
)
_ALL_HASHES = sa.select(_events.c.hash).order_by(_events.c.position)
_NODES_PER_QUERY = 200


def _leaf_of(digest: str, position: int) -> bytes:
    """The leaf hash of the row at ``position``: SHA-256(0x00 || its 32-byte hash)."""
    try:
        raw = bytes.fromhex(digest)
    except ValueError:
        raw = b""
    if len(raw) != merkle.HASH_SIZE:
        raise IntegrityError(f"the hash of position {position} is not 64 hexadecimal digits")
    return merkle.leaf_hash(raw)


def _leaves(conn: Connection, lo: int, hi: int) -> list[bytes]:
    """The leaf hashes of leaves ``[lo, hi)``: the rows at positions ``lo + 1 .. hi``."""
    digests = conn.execute(_ROW_HASHES, {"lo": lo + 1, "hi": hi}).scalars().all()
    if len(digests) != hi - lo:
        raise IntegrityError(f"the log lacks events among positions {lo + 1}..{hi}")
    return [_leaf_of(d, lo + 1 + i) for i, d in enumerate(digests)]


def _kept_nodes(conn: Connection, nodes: Iterable[merkle.Node]) -> dict[merkle.Node, bytes]:
    """The hashes of those of ``nodes`` that ``merkle_nodes`` holds."""
    wanted = sorted({n for n in nodes if n[0] >= TREE_LEVEL})
    found: dict[merkle.Node, bytes] = {}
    level_, index_ = _tree_nodes.c.level, _tree_nodes.c.idx
    for first in range(0, len(wanted), _NODES_PER_QUERY):
        # OR of key lookups: SQLite answers a row-value IN list with a full scan
        chunk = wanted[first : first + _NODES_PER_QUERY]
        query = _ALL_NODES.where(sa.or_(*(sa.and_(level_ == lv, index_ == i) for lv, i in chunk)))
        for level, index, digest in conn.execute(query):
            try:
                found[(int(level), int(index))] = bytes.fromhex(digest)
            except ValueError:
                raise IntegrityError(
                    f"the Merkle tree's node (level {level}, index {index}) is not hexadecimal"
                ) from None
    return found


def _tree_hashes(
    conn: Connection,
    nodes: Iterable[merkle.Node],
    kept: dict[merkle.Node, bytes] | None = None,
) -> dict[merkle.Node, bytes]:
    """The hashes of complete subtrees: kept ones read (unless given), the others computed from
    the rows."""
    wanted = set(nodes)
    found = dict(kept) if kept is not None else _kept_nodes(conn, wanted)
    missing = sorted(wanted - found.keys(), key=lambda n: n[1] << n[0])
    while missing:
        # one read for the neighbouring small subtrees of one 2**TREE_LEVEL block
        level, index = missing[0]
        lo = index << level
        block = [n for n in missing if (n[1] << n[0]) >> TREE_LEVEL == lo >> TREE_LEVEL]
        block = block if level < TREE_LEVEL else [missing[0]]
        hi = max((i + 1) << lv for lv, i in block)
        leaves = _leaves(conn, lo, hi)
        for lv, i in block:
            start = (i << lv) - lo
            compact = merkle.CompactRange()
            compact.extend(leaves[start : start + (1 << lv)])
            found[(lv, i)] = compact.root()
        missing = missing[len(block) :]
    return found


def _proof(conn: Connection, ranges: list[tuple[int, int]]) -> list[bytes]:
    nodes = _tree_hashes(conn, [n for lo, hi in ranges for n in merkle.subtrees(lo, hi)])
    return [merkle.range_hash(lo, hi, nodes) for lo, hi in ranges]


def _check_size(size: int, last: int) -> None:
    if not 0 <= size <= last:
        raise StoreError(f"the log holds {last} events, not {size}")


def _grow_tree(
    conn: Connection,
    size: int,
    digests: Sequence[str],
    tree: merkle.CompactRange | None = None,
) -> merkle.CompactRange:
    """Add the rows after position ``size`` to the tree: insert the kept nodes they complete;
    the tree's new peaks.

    ``tree``: the peaks at ``size`` if known. Otherwise they are read (O(log n) kept nodes and
    the hashes of at most 2**TREE_LEVEL - 1 rows), never the whole log; a tree left behind by
    an older escrow is rebuilt first."""
    if tree is None:
        peaks = merkle.subtrees(0, size)
        kept = _kept_nodes(conn, peaks)
        if len(kept) < sum(1 for level, _ in peaks if level >= TREE_LEVEL):
            _rebuild_tree(conn, size)
            kept = _kept_nodes(conn, peaks)
        hashes = _tree_hashes(conn, peaks, kept)
        tree = merkle.CompactRange(size, [hashes[p] for p in peaks])
    else:
        tree = merkle.CompactRange(tree.size, list(tree.peaks))
    made = tree.extend_data([bytes.fromhex(d) for d in digests], TREE_LEVEL)
    if made:
        _insert_nodes(conn, [(level, index, node.hex()) for level, index, node in made])
    return tree


_INSERT_NODE = insert_into(_tree_nodes)


def _insert_nodes(conn: Connection, rows: list[tuple[int, int, str]]) -> None:
    """One executemany on the driver's own connection, as for the event rows (SQLAlchemy's
    execution machinery cost more than the insert: an append completes a node in ~1 of 16)."""
    _INSERT_NODE.many_in_order(conn, rows)


def _rebuild_tree(conn: Connection, size: int) -> None:
    """Write the kept nodes of the first ``size`` rows anew (a ledger made before the tree)."""
    conn.execute(_tree_nodes.delete())
    tree = merkle.CompactRange()
    rows: list[tuple[int, int, str]] = []
    result = conn.execute(_ALL_HASHES.limit(size).execution_options(yield_per=5000))
    for n, digest in enumerate(result.scalars(), start=1):
        for (level, index), node in tree.append(_leaf_of(digest, n)):
            if level >= TREE_LEVEL:
                rows.append((level, index, node.hex()))
        if len(rows) >= 5000:
            _insert_nodes(conn, rows)
            rows = []
    if rows:
        _insert_nodes(conn, rows)


def _check_nodes(
    tree: merkle.CompactRange, digest: str, stored: dict[merkle.Node, str]
) -> str | None:
    """Add the row to ``tree``; a problem if a kept node it completes differs (it is consumed)."""
    for (level, index), node in tree.append(_leaf_of(digest, tree.size + 1)):
        if level >= TREE_LEVEL:
            kept = stored.pop((level, index), None)
            if kept is not None and kept != node.hex():
                return (
                    f"the Merkle tree's node over events {(index << level) + 1}.."
                    f"{(index + 1) << level} does not match them"
                )
    return None


def _check_extra_nodes(stored: dict[merkle.Node, str]) -> tuple[int, str] | None:
    """A kept node left over after the walk covers events the log does not have."""
    if not stored:
        return None
    level, index = min(stored, key=lambda n: (n[1] << n[0], -n[0]))
    first, last = (index << level) + 1, (index + 1) << level
    return first, f"the Merkle tree has a node over events {first}..{last}, beyond the log"
