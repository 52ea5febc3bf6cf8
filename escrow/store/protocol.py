"""What the service layer sees of the store: the records it hands back and
:class:`EventStoreLike`, the Protocol the service modules are typed against.

:class:`escrow.store.EventStore` is the one implementation (over SQLite or PostgreSQL); the
Protocol lists what ``escrow.service``, ``escrow.projector``, ``escrow.simulate``,
``escrow.runner`` and ``escrow.audit`` use of it, and nothing else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from sqlalchemy.engine import Connection

from escrow.domain.event_base import Event


class StoredEvent(NamedTuple):
    """An event as stored: where it sits globally and in its stream, and when it was recorded.

    A named tuple rather than a frozen dataclass: one is made per event read, and a tuple is
    made in a fifth of the time a frozen dataclass's ``__init__`` takes."""

    position: int
    stream: str
    version: int
    event: Event
    recorded_at: dt.datetime

    @property
    def effective_date(self) -> dt.date:
        """The business date the event belongs to (``event.on``)."""
        return self.event.on


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What one append wrote to one stream.

    For an empty append ``first_version`` and ``first_position`` are 0, ``last_version`` is the
    stream's version and ``last_position`` the position of the stream's last event (0 if none).
    """

    stream: str
    first_version: int
    last_version: int
    first_position: int
    last_position: int
    duplicate: bool


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one :meth:`EventStore.append_many` wrote: one result per stream, in order."""

    results: tuple[AppendResult, ...]
    duplicate: bool
    recorded_at: dt.datetime | None = field(default=None, compare=False)
    """When the rows were recorded (None for a duplicate or an empty append)."""
    request: str | None = field(default=None, compare=False)
    """For a duplicate: the act its key was first delivered with (None if none was given)."""

    @property
    def first_position(self) -> int:
        """The first position written (0 when nothing was)."""
        return min((r.first_position for r in self.results if r.first_position), default=0)

    @property
    def last_position(self) -> int:
        """The last position written (0 when nothing was)."""
        return max((r.last_position for r in self.results if r.first_position), default=0)


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of walking the hash chain: the first row that breaks it, if any."""

    ok: bool
    events_checked: int
    first_bad_position: int | None
    reason: str | None
    roots: dict[int, bytes] = field(default_factory=dict, compare=False)
    """The Merkle root of the first N events, recomputed from the rows, for each N asked for
    and the number checked (only the sizes the walk reached)."""
    first_hash: str | None = field(default=None, compare=False)
    """The hash of the event at position 1 (the ledger's id), None for an empty log."""


@dataclass(frozen=True, slots=True)
class TreeHead:
    """The Merkle tree of the first ``size`` events: its root and the ledger's id."""

    size: int
    root: bytes
    first_hash: str | None
    """The hash of the event at position 1, None for an empty log."""


Write = tuple[str, int, Sequence[Event]]
"""One stream's part of :meth:`EventStore.append_many`: (stream, expected_version, events)."""


class EventStoreLike(Protocol):
    """What the service layer uses of an event store (:class:`escrow.store.EventStore`): its
    transactions, appends, stream and log reads, idempotency keys, ``escrow_meta`` values and
    the hash chain's verification. See :class:`escrow.store.EventStore` for each one's contract.
    """

    read_only: bool
    """Whether the store was opened read-only (nothing is ever written)."""

    schema_versions: tuple[int, int]
    """The ledger's schema version when opened, and now (they differ after a migration)."""

    @property
    def in_transaction(self) -> bool:
        """Whether a :meth:`transaction` is open."""
        ...

    def transaction(self) -> AbstractContextManager[Connection]:
        """One write transaction holding the append lock for the whole block (joined when one
        is open)."""
        ...

    committed_head: tuple[int, str] | None
    """The chain head (position, hash) the last committed write transaction left, if known."""

    def chain_head(self) -> tuple[int, str]:
        """The chain head (position, hash) as the open transaction sees it."""
        ...

    def connection(self) -> AbstractContextManager[Connection]:
        """The open transaction's connection, or a fresh connection for one read."""
        ...

    def meta_value(self, key: str) -> str | None:
        """A value of the ``escrow_meta`` table (None when absent)."""
        ...

    def set_meta(self, conn: Connection, key: str, value: str | None) -> None:
        """Set (None: remove) a value of ``escrow_meta``, inside ``conn``'s transaction."""
        ...

    def append_many(
        self,
        writes: Sequence[Write],
        idempotency_key: str | None = None,
        request: str | None = None,
    ) -> BatchResult:
        """Append to several streams in one transaction: all of it is written, or none."""
        ...

    def load(
        self, stream: str, upto_version: int | None = None, *, after_version: int = 0
    ) -> list[StoredEvent]:
        """The events of ``stream`` in version order, after ``after_version`` and up to and
        including ``upto_version``."""
        ...

    def stream_version(self, stream: str) -> int:
        """The stream's current version (0 for an unknown stream)."""
        ...

    def read_all(self, after_position: int = 0, limit: int | None = None) -> list[StoredEvent]:
        """Events of every stream after ``after_position``, in position order."""
        ...

    def load_type(self, type_: str) -> list[StoredEvent]:
        """Every event of one type, in position order."""
        ...

    def count_by_type(self) -> dict[str, int]:
        """How many events of each type the store holds."""
        ...

    def last_position(self) -> int:
        """The position of the last event stored (0 for an empty store)."""
        ...

    def delivered(self, key: str) -> BatchResult | None:
        """The whole result of the append that stored ``key``, with its request, or None."""
        ...

    def look_up_keys(self, keys: Sequence[str]) -> int:
        """Inside a transaction: which of ``keys`` are stored, found in a few reads (the
        transaction then knows the others are not); how many are."""
        ...

    def idempotency_result(self, key: str) -> AppendResult | None:
        """The result of the append that stored ``key`` (its first stream), or None."""
        ...

    def requests(self, prefix: str) -> dict[str, str | None]:
        """The acts recorded with every key that starts with ``prefix``."""
        ...

    def verify(self, sizes: Iterable[int] = ()) -> VerifyReport:
        """Walk every row in position order and report the first one that breaks the chain."""
        ...

    def close(self) -> None:
        """Release every connection; the store cannot be used afterwards."""
        ...
