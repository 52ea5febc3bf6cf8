"""The hash chain: how a row is hashed, the rows as stored, and the checks ``verify`` runs on
the rows, the chain head and the idempotency-key table.

Every row's ``hash`` is SHA-256 over its fields and its predecessor's hash (``prev_hash``, the
:data:`GENESIS_HASH` for position 1); the ``chain_head`` row (:mod:`escrow.store.schema`) keeps
the last row's position and hash, its recorded time and the Merkle tree's peaks.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Iterable
from json.encoder import encode_basestring_ascii as _json_str
from typing import Any, NamedTuple

from escrow import merkle
from escrow.errors import IntegrityError

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of position 1."""


class StoredRow(NamedTuple):
    """An event row as stored: every hashed column, and the hash."""

    position: int
    stream: str
    version: int
    type: str
    effective_date: str
    recorded_at: str
    data: str
    idempotency_key: str | None
    prev_hash: str
    hash: str


def _chain_hash(
    position: int,
    stream: str,
    version: int,
    type_: str,
    effective_date: str,
    recorded_at: str,
    data: str,
    idempotency_key: str | None,
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of the canonical JSON array of a row's fields and its predecessor's hash.

    The text is exactly ``json.dumps([...], separators=(",", ":"))`` (ASCII-escaped strings, the
    key ``null`` when absent), built with the C string escaper because this runs once per event.
    """
    canonical = "[%d,%s,%d,%s,%s,%s,%s,%s,%s]" % (  # noqa: UP031 (fastest; same as json.dumps)
        position,
        _json_str(stream),
        version,
        _json_str(type_),
        _json_str(effective_date),
        _json_str(recorded_at),
        _json_str(data),
        "null" if idempotency_key is None else _json_str(idempotency_key),
        _json_str(prev_hash),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def row_hash(row: StoredRow) -> str:
    """The hash a row must carry: :func:`_chain_hash` of its fields (the ``hash`` field aside)."""
    return _chain_hash(*row[:-1])


@functools.lru_cache(maxsize=1024)
def _parse_recorded(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _recorded_time(position: int, text: object) -> dt.datetime:
    """A stored row's recorded time; IntegrityError naming the row when it is not one."""
    problem = f"the recorded time of the event at position {position} is not a UTC time"
    if not isinstance(text, str):
        raise IntegrityError(f"{problem}: {text!r}")
    try:
        at = _parse_recorded(text)
    except ValueError:
        raise IntegrityError(f"{problem}: {text[:40]!r}") from None
    if at.utcoffset() is None:
        raise IntegrityError(f"{problem}: {text[:40]!r}")
    return at


def _check_recorded(
    position: int, recorded: str, last: dt.datetime | None
) -> tuple[str | None, dt.datetime | None]:
    """A problem if ``recorded`` is not an aware time or is earlier than ``last``; the time."""
    try:
        at = _recorded_time(position, recorded)
    except IntegrityError as exc:
        return str(exc), last
    if last is not None and at < last:
        return (
            f"recorded_at of position {position} ({recorded}) is earlier than its"
            f" predecessor's ({last.isoformat()})",
            last,
        )
    return None, at


def _peaks_text(tree: merkle.CompactRange) -> str:
    return ",".join(peak.hex() for peak in tree.peaks)


def _peaks_of(size: int, text: object) -> merkle.CompactRange | None:
    """The tree's peaks kept in the chain head (None when it keeps none, or not a tree's)."""
    if text is None:
        return None
    try:
        peaks = [bytes.fromhex(p) for p in str(text).split(",")] if text else []
        if any(len(p) != 32 for p in peaks):
            return None
        return merkle.CompactRange(size, peaks)
    except ValueError:
        return None


def _check_head_extras(head: Any, tree: merkle.CompactRange, last_at: str | None) -> str | None:
    """The chain head's recorded time and tree peaks, where kept, against the rows'."""
    if head is None:
        return None
    if head[2] is not None and head[2] != last_at:
        return "the chain head's recorded time does not match the last row's"
    if head[3] is not None and head[3] != _peaks_text(tree):
        return "the chain head's Merkle peaks do not match the rows"
    return None


def _check_head(head: Any, last: int, last_hash: str) -> tuple[int, str] | None:
    """Where the log's end disagrees with the chain head, and how (None when it agrees)."""
    if head is None:
        return max(last, 1), "the store has no chain head"
    position, digest = int(head[0]), str(head[1])
    if position > last:
        return last + 1, (
            f"the chain head is at position {position} but the log ends at {last}:"
            f" event{'s' if position - last > 1 else ''} {last + 1}"
            + (f"..{position}" if position - last > 1 else "")
            + " deleted"
        )
    if position < last:
        return position + 1, (
            f"position {position + 1} is past the chain head ({position}): written around the store"
        )
    if digest != last_hash:
        return max(last, 1), f"hash of position {last} does not match the chain head"
    return None


def _check_keys(table: Iterable[Any], on_rows: dict[str, int], last: int) -> tuple[int, str] | None:
    """Where the idempotency-key table and the keys on the rows disagree (None when they agree).

    Every key on a row must be in the table, pointing at that row as the first of its append,
    and every key in the table must sit on the row it points at.
    """
    in_table: set[str] = set()
    for key, first, last_of_append in table:
        in_table.add(key)
        row = on_rows.get(key)
        if row is None:
            return int(first), f"idempotency key {key!r} is on no event row"
        if row != first or not first <= last_of_append <= last:
            return row, f"idempotency key {key!r} does not match the rows it covers"
    for key, row in sorted(on_rows.items(), key=lambda item: item[1]):
        if key not in in_table:
            return row, f"idempotency key {key!r} on position {row} is missing from its table"
    return None
