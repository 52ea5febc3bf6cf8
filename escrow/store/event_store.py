"""The event store: :class:`EventStore` over a backend chosen by URL (:func:`open_store`), and
:func:`migrate_store`.

A backend (:mod:`escrow.store.sqlite`, :mod:`escrow.store.postgres`) only decides how to
connect, how to create the schema and how to open a write transaction that serialises appends;
everything else is this module, on both.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, NamedTuple, Protocol

import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
from sqlalchemy.engine import Connection, Engine, make_url

from escrow import merkle
from escrow.clock import Clock, SystemClock
from escrow.domain.event_base import Event
from escrow.errors import ConcurrencyError, IntegrityError, StoreError
from escrow.redaction import redact_text, redact_url
from escrow.store import tree as tree_sql
from escrow.store.chain import (
    GENESIS_HASH,
    StoredRow,
    _chain_hash,
    _check_head,
    _check_head_extras,
    _check_keys,
    _check_recorded,
    _parse_recorded,
    _peaks_of,
    _peaks_text,
    _recorded_time,
)
from escrow.store.codec import EventCodec
from escrow.store.postgres import _POSTGRES_DRIVERS, _POSTGRES_SCHEMES, _PostgresBackend
from escrow.store.prepared import Prepared, insert_into
from escrow.store.protocol import (
    AppendResult,
    BatchResult,
    StoredEvent,
    TreeHead,
    VerifyReport,
    Write,
)
from escrow.store.schema import (
    _HEAD_ID,
    _chain_head,
    _events,
    _idempotency,
    _meta,
    _tree_nodes,
)
from escrow.store.sqlite import _SqliteBackend, check_database_path
from escrow.store.tree import (
    _ALL_NODES,
    _FIRST_HASH,
    _check_extra_nodes,
    _check_nodes,
    _check_size,
    _proof,
    _tree_hashes,
)

log = logging.getLogger("escrow.store")
"""``escrow.store``: store opens (INFO, the URL with its secrets masked)."""


_HEAD_STATE = sa.select(
    _chain_head.c.position, _chain_head.c.hash, _chain_head.c.recorded_at, _chain_head.c.peaks
).where(_chain_head.c.id == _HEAD_ID)
_MOVE_HEAD = (
    _chain_head.update()
    .where(_chain_head.c.id == _HEAD_ID)
    .values(
        position=sa.bindparam("head_position"),
        hash=sa.bindparam("head_hash"),
        recorded_at=sa.bindparam("head_recorded_at"),
        peaks=sa.bindparam("head_peaks"),
    )
)
_ALL_KEYS = sa.select(
    _idempotency.c.key, _idempotency.c.first_position, _idempotency.c.last_position
).order_by(_idempotency.c.first_position)
_RECORDED_AT = sa.select(_events.c.recorded_at).where(
    _events.c.position == sa.bindparam("position")
)
_LAST_POSITION = sa.select(sa.func.coalesce(sa.func.max(_events.c.position), 0))
_STREAM_HEAD = sa.select(_events.c.version, _events.c.position).where(
    _events.c.stream == sa.bindparam("stream"),
    _events.c.version
    == sa.select(sa.func.max(_events.c.version))
    .where(_events.c.stream == sa.bindparam("stream"))
    .scalar_subquery(),
)
# A stream's versions and positions grow together, so both maxima belong to its last event.
_STREAM_HEADS = sa.select(
    _events.c.stream, sa.func.max(_events.c.version), sa.func.max(_events.c.position)
).group_by(_events.c.stream)
KNOWN_STREAMS = 1 << 17
"""Streams whose heads a store keeps from one write transaction to the next (some 20 MiB at
most; past it, a commit forgets them all and they are learnt again)."""
_PER_IN_LIST = 500  # bound parameters per IN list (old SQLite builds allow 999)
_MAX_VERSION = 2**62

_STORED_COLUMNS = (
    _events.c.position,
    _events.c.stream,
    _events.c.version,
    _events.c.type,
    _events.c.data,
    _events.c.recorded_at,
)
_KEY_RANGE = sa.select(
    _idempotency.c.first_position, _idempotency.c.last_position, _idempotency.c.request
).where(_idempotency.c.key == sa.bindparam("key"))
_RANGE_ROWS = (
    sa.select(_events.c.position, _events.c.stream, _events.c.version)
    .where(_events.c.position.between(sa.bindparam("lo"), sa.bindparam("hi")))
    .order_by(_events.c.position)
)
# The statements of every act, compiled once per dialect (escrow.store.prepared).
_P_HEAD_STATE = Prepared(_HEAD_STATE)
_P_INSERT_EVENT = insert_into(_events)
_P_MOVE_HEAD = Prepared(_MOVE_HEAD)
_P_INSERT_KEY = insert_into(_idempotency)
_P_STREAM_HEAD = Prepared(_STREAM_HEAD)
_P_KEY_RANGE = Prepared(_KEY_RANGE)
_P_RANGE_ROWS = Prepared(_RANGE_ROWS)
_P_RECORDED_AT = Prepared(_RECORDED_AT)
_P_LOAD = Prepared(
    sa.select(*_STORED_COLUMNS)
    .where(
        _events.c.stream == sa.bindparam("stream"),
        _events.c.version > sa.bindparam("after"),
        _events.c.version <= sa.bindparam("upto"),
    )
    .order_by(_events.c.version)
)
_P_READ_ALL = Prepared(
    sa.select(*_STORED_COLUMNS)
    .where(_events.c.position > sa.bindparam("after"))
    .order_by(_events.c.position)
    .limit(sa.bindparam("limit"))
)
_ALL_ROWS = sa.select(
    _events.c.position,
    _events.c.stream,
    _events.c.version,
    _events.c.type,
    _events.c.effective_date,
    _events.c.recorded_at,
    _events.c.data,
    _events.c.idempotency_key,
    _events.c.prev_hash,
    _events.c.hash,
).order_by(_events.c.position)


class _Backend(Protocol):
    """How to reach one kind of database and how to open a serialised write transaction."""

    url: str
    """The URL to show: in messages, ``repr`` and :attr:`EventStore.url` (never a secret)."""

    def create_engine(self) -> Engine:
        """A pooled engine; every connection configured for the store (read-only if asked)."""
        ...

    def prepare(self, engine: Engine, *, migrate: bool) -> tuple[int, int]:
        """Writers: create the tables of an empty database, check (or migrate) a ledger's;
        safe when several processes open at once. Returns the versions found and left."""
        ...

    def check_readable(self, engine: Engine) -> int:
        """Readers: the ledger's schema version, or StoreError for what is no ledger."""
        ...

    def write(self, conn: Connection) -> AbstractContextManager[Connection]:
        """``conn`` in a write transaction that holds off every other writer until it ends."""
        ...

    def snapshot(self, engine: Engine) -> AbstractContextManager[Connection]:
        """A connection in a read transaction that sees one committed state throughout."""
        ...

    def tidy(self) -> None:
        """After the engine is disposed: remove what reading left beside the database."""
        ...


def _backend_for(url: str, *, read_only: bool) -> _Backend:
    if "://" not in url:
        return _SqliteBackend(url, read_only=read_only)
    try:
        parsed = make_url(url)
    except (sa_exc.ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        raise StoreError(
            f"unsupported database URL {redact_text(url)!r}: {redact_text(str(exc))}"
        ) from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite" and driver in ("pysqlite", ""):
        return _SqliteBackend(parsed.database or "", read_only=read_only)
    if backend in _POSTGRES_SCHEMES and driver in _POSTGRES_DRIVERS:
        return _PostgresBackend(parsed, read_only=read_only)
    raise StoreError(
        f"unsupported database URL {redact_url(parsed)!r}:"
        " give SQLite (sqlite:///path or a file path) or PostgreSQL through psycopg 3"
        " (postgresql://, postgres:// or postgresql+psycopg://)"
    )


_Encoded = list[tuple[str, int, list[tuple[str, str, str]]]]
"""Writes with their events encoded as (type, effective date, JSON text)."""


class EventStore:
    """An append-only event store with optimistic concurrency, idempotency and a hash chain."""

    def __init__(
        self,
        url: str,
        codec: EventCodec,
        clock: Clock | None = None,
        *,
        read_only: bool = False,
        migrate: bool = False,
    ) -> None:
        """Open the store at ``url``.

        A writer creates the tables of an empty database and refuses anything else that is not
        a ledger of :data:`SCHEMA_VERSION` (``migrate=True`` upgrades an older one first). A
        ``read_only`` store never writes (SQLite ``mode=ro``, PostgreSQL READ ONLY
        transactions): it refuses a database that holds no ledger, and one newer than this
        escrow, and reads an older one down to :data:`OLDEST_READABLE_VERSION`.
        """
        if read_only and migrate:
            raise StoreError("a read-only store cannot be migrated")
        self._backend = _backend_for(url, read_only=read_only)
        self._url = self._backend.url
        self._codec = codec
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._closed = False
        self._tx: Connection | None = None
        """The connection of the open :meth:`transaction` (None outside one)."""
        self._tx_recorded: str | None = None
        """The recorded time of the open transaction's rows, from its first append."""
        self._tree: tuple[str, merkle.CompactRange] | None = None
        """The Merkle tree's peaks after this store's last append, keyed by the chain head's
        hash then (which commits to every row): reused when the head has not moved since."""
        self._tx_head: _Head | None = None
        """The chain head as the open transaction's appends left it, written once at its end."""
        self._tx_absent_keys: set[str] = set()
        """Idempotency keys the open transaction found unused (and has not used since)."""
        self._tx_head_row: Any = None
        """The chain head's row as the open transaction first read it (None: not read yet)."""
        self._streams: dict[str, tuple[int, int]] = {}
        """(version, position) of the streams this store's transactions read to the end or
        wrote. Inside a transaction its write lock keeps every other writer from them; from
        one transaction to the next they stay true while the chain head is where this store's
        last commit left it (:attr:`_streams_at`), since every append moves the head: a
        transaction trusts them once it has found the head there (:meth:`_head_row`) and
        forgets them all when it has not. A failed transaction forgets those it touched
        (:attr:`_tx_touched`). Bounded by :data:`KNOWN_STREAMS`."""
        self._tx_touched: set[str] = set()
        """The streams of :attr:`_streams` the open transaction read or wrote."""
        self._streams_at: tuple[int, str] | None = None
        """The chain head :attr:`_streams` are true at (None: not known to be true)."""
        self.committed_head: tuple[int, str] | None = None
        """The chain head (position, hash) this store's last committed write transaction left,
        when it read or moved it (None otherwise, and before the first)."""
        self._writer: Connection | None = None
        """The connection write transactions run on, kept open between them (see
        :meth:`_writing`); None before the first and after one that failed."""
        self._writer_lock = threading.Lock()
        """Held while a write transaction runs on :attr:`_writer`."""
        self.read_only = read_only
        with self._errors():
            self._engine = self._backend.create_engine()
            try:
                if read_only:
                    found = left = self._backend.check_readable(self._engine)
                else:
                    found, left = self._backend.prepare(self._engine, migrate=migrate)
            except BaseException:
                self._engine.dispose()
                self._backend.tidy()
                raise
        self.schema_versions: tuple[int, int] = (found, left)
        """The ledger's schema version when opened, and now (they differ after a migration)."""

    @property
    def url(self) -> str:
        """The database URL (plain paths become ``sqlite:///path``; secrets show as ``***``)."""
        return self._url

    # --- transactions -------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction holding the append lock (SQLite ``BEGIN IMMEDIATE``, PostgreSQL
        ``LOCK TABLE events IN EXCLUSIVE MODE``) for the whole block: every read and append of
        this store inside it goes through it, sees the latest committed state and its own
        writes, and commits at the end (nothing of it, if the block raises). Writers are serial
        per database, so what is read inside cannot change before the commit. A transaction
        inside a transaction joins it."""
        self._check_open()
        if self._tx is not None:
            yield self._tx
            return
        if self.read_only:
            raise StoreError(f"the store at {self._url} is open read-only: nothing is written")
        with self._errors():
            try:
                self.committed_head = None
                with self._writing() as conn:
                    self._tx, self._tx_recorded = conn, None
                    try:
                        yield conn
                        left = self._tx_left_head()
                        self._write_head(conn)
                    finally:
                        self._tx = self._tx_recorded = self._tx_head = self._tx_head_row = None
                        self._tx_absent_keys = set()
                self.committed_head = left
                self._streams_kept(left)
            except BaseException as exc:
                for stream in self._tx_touched:  # they may count rows rolled back
                    self._streams.pop(stream, None)
                self._tx_touched = set()
                if isinstance(exc, sa_exc.IntegrityError):
                    raise ConcurrencyError(
                        f"concurrent append refused by the store: {exc.orig}"
                    ) from None
                raise

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A connection in a write transaction (committed when the block ends, rolled back if it
        raises).

        The store keeps one connection open from one write transaction to the next: taking one
        from the pool and handing it back (with the pool's reset) cost some 7 % of a cold rent
        payment's CPU. A thread that finds it in use by another thread of the same store writes on a
        connection of the pool, as every transaction did before. A transaction the caller's own
        code refused (a rule of the domain: nothing the database said) is rolled back and its
        connection kept, clean; after one the database or the store failed (a constraint, a
        broken chain, a disk error), or whose rollback did not go through, the kept connection
        is closed and the next transaction starts on a fresh one."""
        if not self._writer_lock.acquire(blocking=False):
            with self._engine.connect() as pooled, self._backend.write(pooled):
                yield pooled
            return
        try:
            conn = self._writer
            if conn is None:
                conn = self._writer = self._engine.connect()
            failed = True
            try:
                with self._backend.write(conn):
                    yield conn
                failed = False
            except Exception as exc:
                failed = not _clean_after(conn, exc)
                raise
            finally:
                if failed:
                    self._writer = None
                    with contextlib.suppress(sa_exc.SQLAlchemyError):
                        conn.close()
        finally:
            self._writer_lock.release()

    def chain_head(self) -> tuple[int, str]:
        """The chain head (the last row's position and hash) as the open transaction sees it:
        read once (the first append uses that read), then as its appends move it."""
        if self._tx is None:
            raise StoreError("chain_head() is only answered inside a transaction")
        if self._tx_head is not None:
            return self._tx_head.position, self._tx_head.hash
        row = self._head_row(self._tx)
        return int(row[0]), str(row[1])

    def _head_row(self, conn: Connection) -> Any:
        """The ``chain_head`` row (position, hash, recorded_at, peaks), once per transaction."""
        in_tx = conn is self._tx
        if in_tx and self._tx_head_row is not None:
            return self._tx_head_row
        head = _P_HEAD_STATE(conn).first()
        if head is None:
            raise IntegrityError("the store has no chain head: it was not created by escrow")
        if in_tx:
            self._tx_head_row = head
            if (int(head[0]), str(head[1])) != self._streams_at:
                self._streams = {}  # another writer appended since (or not known)
        return head

    def _streams_kept(self, left: tuple[int, str] | None) -> None:
        """After a commit: :attr:`_streams` are true at the chain head it left (when it read
        the head: one that did not appended nothing, and the next finds out)."""
        self._tx_touched = set()
        if len(self._streams) > KNOWN_STREAMS:
            self._streams, self._streams_at = {}, None
        elif left is not None:
            self._streams_at = left

    def _tx_left_head(self) -> tuple[int, str] | None:
        """The chain head the open transaction leaves, if it read or moved it."""
        if self._tx_head is not None:
            return self._tx_head.position, self._tx_head.hash
        row = self._tx_head_row
        return None if row is None else (int(row[0]), str(row[1]))

    def _write_head(self, conn: Connection) -> None:
        """The chain head the transaction's appends moved, written once before it commits."""
        head = self._tx_head
        if head is not None:
            _P_MOVE_HEAD(
                conn,
                {
                    "head_position": head.position,
                    "head_hash": head.hash,
                    "head_recorded_at": head.recorded_at,
                    "head_peaks": _peaks_text(head.tree),
                },
            )
            self._tx_head = None

    def connection(self) -> AbstractContextManager[Connection]:
        """The open transaction's connection, or a fresh connection for one read."""
        self._check_open()
        if self._tx is not None:
            return _Joined(self._tx)  # a class, not a generator: called on every read of an act
        return self._engine.connect()

    @property
    def in_transaction(self) -> bool:
        return self._tx is not None

    def meta_value(self, key: str) -> str | None:
        """A value of the ``escrow_meta`` table (None when absent, or on an older ledger)."""
        query = sa.select(_meta.c.value).where(_meta.c.key == key)
        with self._errors(), self.connection() as conn:
            if self.schema_versions[1] < 1:
                return None
            value = conn.execute(query).scalar()
        return None if value is None else str(value)

    @staticmethod
    def set_meta(conn: Connection, key: str, value: str | None) -> None:
        """Set (None: remove) a value of ``escrow_meta``, inside ``conn``'s transaction."""
        conn.execute(_meta.delete().where(_meta.c.key == key))
        if value is not None:
            conn.execute(_meta.insert().values(key=key, value=value))

    def _errors(self) -> AbstractContextManager[None]:
        return _DATABASE_ERRORS

    # --- writing ------------------------------------------------------------------------------

    def append(
        self,
        stream: str,
        expected_version: int,
        events: Sequence[Event],
        idempotency_key: str | None = None,
    ) -> AppendResult:
        """Append ``events`` to ``stream`` if it is at ``expected_version``, in one transaction.

        Raises ConcurrencyError (writing nothing) when the stream has moved on. A known
        ``idempotency_key`` writes nothing and returns the original result with duplicate=True.
        """
        batch = self.append_many([(stream, expected_version, events)], idempotency_key)
        return batch.results[0]

    def append_many(
        self,
        writes: Sequence[Write],
        idempotency_key: str | None = None,
        request: str | None = None,
    ) -> BatchResult:
        """Append to several streams in one transaction: all of it is written, or none.

        Each ``(stream, expected_version, events)`` is checked as in :meth:`append`; a stream
        may appear only once. The idempotency key covers the whole batch; ``request`` (the act
        the key stands for) is stored with it and handed back with a duplicate's result.
        """
        self._check_open()
        encoded = self._encode_writes(writes)
        requests = {idempotency_key: request} if idempotency_key and request else None
        if not any(rows for _, _, rows in encoded):
            with self._errors(), self.connection() as conn:
                return self._append_nothing(conn, encoded, idempotency_key)
        return self._write([(encoded, idempotency_key)], requests)[0]

    def append_batches(
        self,
        batches: Sequence[tuple[Sequence[Write], str | None]],
        requests: Mapping[str, str] | None = None,
    ) -> list[BatchResult]:
        """Several :meth:`append_many` calls, in order, in ONE transaction: all or none.

        A unit of work: each batch is checked against the streams as the batches before it
        left them, keeps its own idempotency key (a key already stored, or used by an earlier
        batch of the call, makes that batch a duplicate that writes nothing) and gets its own
        result. One commit (one fsync) for the lot is what makes bulk imports and simulations
        fast. A batch that writes no event does not record its key. ``requests`` gives the act
        each key stands for, as in :meth:`append_many`.
        """
        self._check_open()
        encoded = [(self._encode_writes(writes), key) for writes, key in batches]
        if not any(rows for writes, _ in encoded for _, _, rows in writes):
            with self._errors(), self.connection() as conn:
                return [self._append_nothing(conn, writes, key) for writes, key in encoded]
        return self._write(encoded, requests)

    def _encode_writes(self, writes: Sequence[Write]) -> _Encoded:
        streams = [w[0] for w in writes]
        if not writes:
            raise StoreError("append_many needs at least one stream")
        if len(set(streams)) != len(streams):
            raise StoreError("a stream may appear only once in one append")
        return [
            (stream, expected, [self._encode(e) for e in events])
            for stream, expected, events in writes
        ]

    def _write(
        self, batches: list[tuple[_Encoded, str | None]], requests: Mapping[str, str] | None
    ) -> list[BatchResult]:
        if self.read_only:
            raise StoreError(f"the store at {self._url} is open read-only: nothing is written")
        with self._errors():
            try:
                if self._tx is not None:
                    return self._append_rows(self._tx, batches, requests or {})
                with self._writing() as conn:
                    return self._append_rows(conn, batches, requests or {})
            except sa_exc.IntegrityError as exc:
                # The unique (stream, version) or key constraint: another writer got there first.
                raise ConcurrencyError(
                    f"concurrent append refused by the store: {exc.orig}"
                ) from None

    def _encode(self, event: Event) -> tuple[str, str, str]:
        type_, data = self._codec.encode(event)
        return type_, event.on.isoformat(), data

    def _append_nothing(self, conn: Connection, encoded: _Encoded, key: str | None) -> BatchResult:
        if key is not None:
            original = self._key_result(conn, key)
            if original is not None:
                return original
        results = []
        for stream, expected, _ in encoded:
            version, position = self._stream_head(conn, stream)
            _check_expected(stream, expected, version)
            results.append(AppendResult(stream, 0, version, 0, position, duplicate=False))
        return BatchResult(tuple(results), duplicate=False)

    def _append_rows(
        self,
        conn: Connection,
        batches: list[tuple[_Encoded, str | None]],
        requests: Mapping[str, str],
    ) -> list[BatchResult]:
        """Number, chain and insert the rows of ``batches`` (inside the write transaction).

        Inside :meth:`transaction` the chain head, the heads of the streams it has seen and the
        keys it found unused are kept for the rest of the transaction (its write lock keeps
        every other writer out), and the chain head is written once, before the commit."""
        in_tx = conn is self._tx
        kept = self._tx_head if in_tx else None
        stored_peaks: object = None
        if kept is not None:
            position, prev_hash, head_recorded = kept.position, kept.hash, kept.recorded_at
        else:
            head = self._head_row(conn)
            position, prev_hash = int(head[0]), str(head[1])
            head_recorded, stored_peaks = head[2], head[3]
        size_before = position
        # One recorded time per transaction: a unit of work's rows share its first append's.
        recorded_at = self._tx_recorded or _utc_text(self._clock.now())
        recorded = _parse_recorded(recorded_at)
        if position:
            # recorded_at runs forward (verify checks it): a wall clock stepped back records the
            # time of the row before instead.
            last = head_recorded
            if last is None:
                last = _P_RECORDED_AT(conn, {"position": position}).scalar()
            if last is not None and _parse_recorded(str(last)) > recorded:
                recorded_at, recorded = str(last), _parse_recorded(str(last))
        if self._tx is not None:
            self._tx_recorded = recorded_at
        rows: list[tuple[Any, ...]] = []
        key_rows: list[dict[str, Any]] = []
        streams = {stream for encoded, _ in batches for stream, _, _ in encoded}
        known = self._streams if in_tx else {}  # the head was read above: checked
        # (version, position) of each stream, kept up to date as rows are numbered
        stream_heads = {s: known[s] for s in streams if s in known}
        if len(stream_heads) < len(streams):
            stream_heads.update(self._stream_heads(conn, streams - stream_heads.keys()))
        keys_written: dict[str, tuple[BatchResult, str | None]] = {}
        absent = self._tx_absent_keys if in_tx else set()
        out: list[BatchResult] = []
        for encoded, key in batches:
            if key is not None:
                if key in keys_written:
                    out.append(_as_duplicate(*keys_written[key]))
                    continue
                original = None if key in absent else self._key_result(conn, key)
                if original is not None:
                    out.append(original)
                    continue
            first_position = position + 1
            results = []
            for stream, expected, events in encoded:
                version, stream_position = stream_heads.get(stream, (0, 0))
                _check_expected(stream, expected, version)
                if not events:
                    results.append(AppendResult(stream, 0, version, 0, stream_position, False))
                    continue
                first = (version + 1, position + 1)
                for type_, effective_date, data in events:
                    position += 1
                    version += 1
                    row_key = key if position == first_position else None  # on the first row
                    # The hashed fields, in the column order of _events (the hash comes last).
                    fields = (
                        position,
                        stream,
                        version,
                        type_,
                        effective_date,
                        recorded_at,
                        data,
                        row_key,
                        prev_hash,
                    )
                    digest = _chain_hash(*fields)
                    rows.append((*fields, digest))
                    prev_hash = digest
                stream_heads[stream] = (version, position)
                results.append(AppendResult(stream, first[0], version, first[1], position, False))
            batch = BatchResult(tuple(results), duplicate=False, recorded_at=recorded)
            out.append(batch)
            if key is not None and position >= first_position:
                request = requests.get(key)
                key_rows.append(
                    {
                        "key": key,
                        "first_position": first_position,
                        "last_position": position,
                        "request": request,
                    }
                )
                keys_written[key] = (batch, request)
        if rows:
            self._insert(conn, rows)
            before = (
                kept.tree
                if kept is not None
                else self._tree_at(size_before, rows[0][-2], stored_peaks)
            )
            tree = tree_sql._grow_tree(conn, size_before, [row[-1] for row in rows], before)
            self._tree = (prev_hash, tree)
            head = _Head(position, prev_hash, recorded_at, tree)
            if in_tx:
                self._tx_head = head
                self._streams.update(stream_heads)
                self._tx_touched.update(stream_heads)
            else:
                self._tx_head = head
                self._write_head(conn)
        _P_INSERT_KEY.many(conn, key_rows)
        absent.difference_update(keys_written)
        return out

    def _tree_at(self, size: int, head: str, stored: object) -> merkle.CompactRange | None:
        """The tree's peaks at ``size`` (the chain head's hash being ``head``): this store's
        own from its last append when the head has not moved since, else ``stored`` (the chain
        head's text; None on a ledger from before the peaks were kept, whose peaks are then
        read from the nodes)."""
        cached = self._tree
        if cached is not None and cached[0] == head and cached[1].size == size:
            return cached[1]
        return _peaks_of(size, stored)

    def _insert(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        """One executemany straight to the driver (no per-row SQLAlchemy parameter handling)."""
        _P_INSERT_EVENT.many_in_order(conn, rows)

    @staticmethod
    def _stream_heads(conn: Connection, streams: set[str]) -> dict[str, tuple[int, int]]:
        """(version, position) of each stream's last event, for streams that have one."""
        heads: dict[str, tuple[int, int]] = {}
        if len(streams) == 1:  # an act's usual append: one indexed lookup
            (stream,) = streams
            row = _P_STREAM_HEAD(conn, {"stream": stream}).first()
            return {stream: (int(row[0]), int(row[1]))} if row is not None else {}
        names = sorted(streams)
        for first in range(0, len(names), _PER_IN_LIST):
            query = _STREAM_HEADS.where(
                _events.c.stream.in_(names[first : first + _PER_IN_LIST])
            )
            for stream, version, position in conn.execute(query):
                heads[stream] = (int(version), int(position))
        return heads

    def _stream_head(self, conn: Connection, stream: str) -> tuple[int, int]:
        if conn is self._tx and self._tx_head_row is not None and stream in self._streams:
            return self._streams[stream]  # the head was read: they are checked
        row = _P_STREAM_HEAD(conn, {"stream": stream}).first()
        return (row[0], row[1]) if row is not None else (0, 0)

    @staticmethod
    def _key_result(conn: Connection, key: str) -> BatchResult | None:
        span = _P_KEY_RANGE(conn, {"key": key}).first()
        if span is None:
            return None
        request = None if span[2] is None else str(span[2])
        results: list[AppendResult] = []
        for position, stream, version in _P_RANGE_ROWS(conn, {"lo": span[0], "hi": span[1]}):
            last = results[-1] if results else None
            if last is not None and last.stream == stream:
                results[-1] = AppendResult(
                    stream, last.first_version, version, last.first_position, position, True
                )
            else:
                results.append(AppendResult(stream, version, version, position, position, True))
        return BatchResult(tuple(results), duplicate=True, request=request)

    # --- reading ------------------------------------------------------------------------------

    def load(
        self, stream: str, upto_version: int | None = None, *, after_version: int = 0
    ) -> list[StoredEvent]:
        """The events of ``stream`` in version order, after ``after_version`` and up to and
        including ``upto_version``."""
        upto = _MAX_VERSION if upto_version is None else upto_version
        self._check_open()
        to_end = upto_version is None and self._tx is not None
        # Read to the end inside a transaction, the row at ``after_version`` is read too (not
        # decoded): the stream's head is then known even when nothing came after it.
        start = after_version - 1 if to_end and after_version > 0 else after_version
        with self._errors(), self.connection() as conn:
            rows = _P_LOAD(conn, {"stream": stream, "after": start, "upto": upto}).all()
        if to_end and rows:
            self._streams[stream] = (int(rows[-1][2]), int(rows[-1][0]))
            self._tx_touched.add(stream)
        if start != after_version and rows and rows[0][2] == after_version:
            rows = rows[1:]
        return self._decoded(rows)

    def stream_version(self, stream: str) -> int:
        """The stream's current version: the number of its events (0 for an unknown stream)."""
        self._check_open()
        with self._errors(), self.connection() as conn:
            return self._stream_head(conn, stream)[0]

    def read_all(self, after_position: int = 0, limit: int | None = None) -> list[StoredEvent]:
        """Events of every stream after ``after_position``, in position order."""
        # On the driver's cursor (escrow.store.prepared): a rebuild reads every row through here,
        # and Core's result set-up cost more per row than SQLite's read.
        self._check_open()
        bound = {"after": after_position, "limit": _MAX_VERSION if limit is None else limit}
        with self._errors(), self.connection() as conn:
            rows = _P_READ_ALL(conn, bound).all()
        return self._decoded(rows)

    def count_by_type(self) -> dict[str, int]:
        """How many events of each type the store holds (one aggregate query)."""
        query = sa.select(_events.c.type, sa.func.count()).group_by(_events.c.type)
        with self._errors(), self.connection() as conn:
            return {str(t): int(n) for t, n in conn.execute(query)}

    def load_type(self, type_: str) -> list[StoredEvent]:
        """Every event of one type, in position order."""
        query = sa.select(*_STORED_COLUMNS).where(_events.c.type == type_)
        return self._stored(query.order_by(_events.c.position))

    def last_position(self) -> int:
        """The position of the last event stored (0 for an empty store)."""
        self._check_open()
        with self._errors(), self.connection() as conn:
            return int(conn.execute(_LAST_POSITION).scalar_one())

    def streams(self, prefix: str = "") -> list[str]:
        """The names of the streams that start with ``prefix`` (case-sensitive), sorted."""
        self._check_open()
        query = sa.select(_events.c.stream).distinct()
        if prefix:
            query = query.where(sa.func.substr(_events.c.stream, 1, len(prefix)) == prefix)
        with self._errors(), self.connection() as conn:
            names = conn.execute(query).scalars().all()
        return sorted(n for n in names if n.startswith(prefix))

    def idempotency_result(self, key: str) -> AppendResult | None:
        """The result of the append that stored ``key`` (its first stream), or None."""
        batch = self.delivered(key)
        return batch.results[0] if batch is not None and batch.results else None

    def delivered(self, key: str) -> BatchResult | None:
        """The whole result of the append that stored ``key``, with its request, or None."""
        self._check_open()
        if self._tx is not None and key in self._tx_absent_keys:
            return None  # found unused in this transaction, and not used since
        with self._errors(), self.connection() as conn:
            found = self._key_result(conn, key)
        if found is None and self._tx is not None:
            self._tx_absent_keys.add(key)  # until the transaction uses it or ends
        return found

    def look_up_keys(self, keys: Sequence[str]) -> int:
        """Inside a transaction: find which of ``keys`` are stored, a few hundred per read,
        so that :meth:`delivered` and the appends of the transaction need not ask one by one
        (a bulk import or a simulation knows the keys of a unit of work before it acts).
        Returns how many are stored."""
        self._check_open()
        if self._tx is None:
            raise StoreError("look_up_keys() is only answered inside a transaction")
        found: set[str] = set()
        unique = sorted(set(keys))
        with self._errors(), self.connection() as conn:
            for first in range(0, len(unique), _PER_IN_LIST):
                chunk = unique[first : first + _PER_IN_LIST]
                query = sa.select(_idempotency.c.key).where(_idempotency.c.key.in_(chunk))
                found.update(str(k) for k in conn.execute(query).scalars())
        self._tx_absent_keys.update(k for k in unique if k not in found)
        return len(found)

    def requests(self, prefix: str) -> dict[str, str | None]:
        """The acts recorded with every key that starts with ``prefix`` (case-sensitive)."""
        self._check_open()
        query = sa.select(_idempotency.c.key, _idempotency.c.request).where(
            sa.func.substr(_idempotency.c.key, 1, len(prefix)) == prefix
        )
        with self._errors(), self.connection() as conn:
            return {str(k): r for k, r in conn.execute(query) if str(k).startswith(prefix)}

    def _stored(self, query: sa.Select[Any]) -> list[StoredEvent]:
        self._check_open()
        with self._errors(), self.connection() as conn:
            rows = conn.execute(query).all()
        return self._decoded(rows)

    def _decoded(self, rows: Sequence[Any]) -> list[StoredEvent]:
        decode = self._decode
        recorded: dict[str, dt.datetime] = {}  # an append's rows share their recorded time
        out = []
        for p, s, v, t, d, r in rows:
            at = recorded.get(r)
            if at is None:
                at = recorded[r] = _recorded_time(p, r)
            out.append(StoredEvent(p, s, v, decode(p, t, d), at))
        return out

    def _decode(self, position: int, type_: str, data: str) -> Event:
        try:
            return self._codec.decode(type_, data)
        except Exception as exc:
            raise IntegrityError(
                f"cannot decode the event at position {position} (type {type_!r}): {exc}"
            ) from None

    # --- verifying ----------------------------------------------------------------------------

    def verify(self, sizes: Iterable[int] = ()) -> VerifyReport:
        """Walk every row in position order and report the first one that breaks the chain.

        Catches a changed row (hash mismatch; the idempotency key is hashed too), a deleted row
        (position gap, broken link, or, for the last rows, a log that ends before the chain
        head), rows moved between positions, version gaps, undecodable events, a
        ``recorded_at`` earlier than its predecessor's, a Merkle-tree node that does not match
        the rows it covers, and an idempotency-key table that does not match the keys on the
        rows. Rewriting the chain from some row to the end *and* the head together cannot be
        told from the database alone: the report's ``roots`` (the Merkle roots of the first N
        events for each N of ``sizes``, recomputed from the rows) are compared with checkpoints
        kept outside it (escrow.checkpoint).
        """
        self._check_open()
        checked = 0
        expected_position = 1
        prev_hash = GENESIS_HASH
        versions: dict[str, int] = {}
        keys: dict[str, int] = {}
        wanted = set(sizes)
        roots: dict[int, bytes] = {}
        tree = merkle.CompactRange()
        if 0 in wanted:
            roots[0] = tree.root()
        last_at: dt.datetime | None = None
        last_recorded: str | None = None
        with self._errors(), self._backend.snapshot(self._engine) as conn:
            head = conn.execute(
                _HEAD_STATE
                if "peaks" in {c["name"] for c in sa.inspect(conn).get_columns("chain_head")}
                else sa.select(_chain_head.c.position, _chain_head.c.hash, sa.null(), sa.null())
            ).first()
            stored_nodes = (  # none in a ledger made before the tree and not written to since
                {(int(lv), int(ix)): h for lv, ix, h in conn.execute(_ALL_NODES)}
                if sa.inspect(conn).has_table(_tree_nodes.name)
                else {}
            )
            result = conn.execution_options(yield_per=2000).execute(_ALL_ROWS)
            for row in result:
                position, stream, version, type_, eff, recorded, data, key, row_prev, digest = row
                where = f"position {position} (stream {stream} version {version})"
                problem: str | None = None
                bad = position
                if position != expected_position:
                    bad = expected_position
                    problem = (
                        f"position gap after {expected_position - 1}: next stored is {position}"
                        if position > expected_position
                        else f"position {position} out of order after {expected_position - 1}"
                    )
                elif row_prev != prev_hash:
                    problem = (
                        f"chain broken: previous hash of position {position} does not match"
                        + (f" position {position - 1}" if position > 1 else " the genesis hash")
                    )
                elif (
                    _chain_hash(
                        position, stream, version, type_, eff, recorded, data, key, row_prev
                    )
                    != digest
                ):
                    problem = f"hash mismatch at {where}"
                elif version != versions.get(stream, 0) + 1:
                    problem = (
                        f"version gap at {where}: previous version was {versions.get(stream, 0)}"
                    )
                else:
                    problem, last_at = _check_recorded(position, recorded, last_at)
                    problem = problem or self._check_payload(position, type_, eff, data)
                    problem = problem or _check_nodes(tree, digest, stored_nodes)
                if problem is not None:
                    result.close()
                    return VerifyReport(False, checked, bad, problem, roots)
                if key is not None:
                    keys[key] = position
                versions[stream] = version
                prev_hash = digest
                last_recorded = recorded
                expected_position += 1
                checked += 1
                if checked in wanted:
                    roots[checked] = tree.root()
            roots[checked] = tree.root()
            extras = _check_head_extras(head, tree, last_recorded)
            problem_at = (
                _check_head(head, checked, prev_hash)
                or (None if extras is None else (max(checked, 1), extras))
                or _check_keys(conn.execute(_ALL_KEYS), keys, checked)
                or _check_extra_nodes(stored_nodes)
            )
            first = conn.execute(_FIRST_HASH).scalar()
        if problem_at is not None:
            return VerifyReport(False, checked, problem_at[0], problem_at[1], roots, first)
        return VerifyReport(True, checked, None, None, roots, first)

    def _check_payload(self, position: int, type_: str, eff: str, data: str) -> str | None:
        try:
            event = self._decode(position, type_, data)
        except IntegrityError as exc:
            return str(exc)
        if event.on.isoformat() != eff:
            return f"effective date at position {position} does not match the event's date"
        return None

    # --- the Merkle tree ----------------------------------------------------------------------

    def tree_head(self, size: int | None = None) -> TreeHead:
        """The Merkle tree of the first ``size`` events (default: all), from the kept nodes and
        at most 2**TREE_LEVEL - 1 rows' hashes: it does not read every event."""
        self._check_open()
        with self._errors(), self._backend.snapshot(self._engine) as conn:
            last = int(conn.execute(_LAST_POSITION).scalar_one())
            size = last if size is None else size
            _check_size(size, last)
            peaks = merkle.subtrees(0, size)
            root = merkle.range_hash(0, size, _tree_hashes(conn, peaks))
            first = conn.execute(_FIRST_HASH).scalar()
        return TreeHead(size, root, first)

    def row(self, position: int) -> StoredRow:
        """The row at ``position`` with every hashed column (IntegrityError if there is none)."""
        self._check_open()
        with self._errors(), self._engine.connect() as conn:
            found = conn.execute(_ALL_ROWS.where(_events.c.position == position)).first()
        if found is None:
            raise IntegrityError(f"the log has no event at position {position}")
        return StoredRow._make(found)

    def inclusion_proof(self, position: int, size: int) -> list[bytes]:
        """The hashes proving that the event at ``position`` is leaf ``position - 1`` of the
        tree of the first ``size`` events (RFC 9162 §2.1.3.1), leaf side first."""
        self._check_open()
        with self._errors(), self._backend.snapshot(self._engine) as conn:
            _check_size(size, int(conn.execute(_LAST_POSITION).scalar_one()))
            if not 1 <= position <= size:
                raise StoreError(f"position {position} is not among the first {size} events")
            return _proof(conn, merkle.inclusion_ranges(position - 1, size))

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        """The hashes proving that the tree of the first ``new`` events extends the tree of the
        first ``old`` (RFC 9162 §2.1.4.1), for 0 < old <= new."""
        self._check_open()
        with self._errors(), self._backend.snapshot(self._engine) as conn:
            _check_size(new, int(conn.execute(_LAST_POSITION).scalar_one()))
            if not 0 < old <= new:
                raise StoreError(f"no consistency proof from {old} events to {new}")
            return _proof(conn, merkle.consistency_ranges(old, new))

    # --- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        """Release every connection; the store cannot be used afterwards."""
        if not self._closed:
            self._closed = True
            writer, self._writer = self._writer, None
            if writer is not None:
                with contextlib.suppress(sa_exc.SQLAlchemyError):
                    writer.close()
            self._engine.dispose()
            self._backend.tidy()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"the store at {self._url} is closed")

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EventStore({self._url!r})"


def open_store(
    url: str, codec: EventCodec, clock: Clock | None = None, *, read_only: bool = False
) -> EventStore:
    """Open the store at ``url`` (a SQLite file path or database URL); a writer creates it if
    needed, a ``read_only`` store never writes (see :class:`EventStore`)."""
    store = EventStore(url, codec, clock, read_only=read_only)
    log.info("opened the store %s%s", store.url, " read-only" if read_only else "")
    return store


def migrate_store(url: str, codec: EventCodec) -> tuple[int, int]:
    """Upgrade the ledger at ``url`` to :data:`SCHEMA_VERSION`, in one transaction.

    Returns the version found and the version left (equal when there was nothing to do). An
    empty database is created at the current version; a newer ledger is refused.
    """
    if "://" not in url or url.startswith("sqlite"):
        path = url if "://" not in url else (make_url(url).database or "")
        check_database_path(path, must_exist=True)
    with EventStore(url, codec, migrate=True) as store:
        return store.schema_versions


class _Head(NamedTuple):
    """The chain head: the last row's position, hash and recorded time; the tree's peaks."""

    position: int
    hash: str
    recorded_at: str
    tree: merkle.CompactRange


def _as_duplicate(batch: BatchResult, request: str | None) -> BatchResult:
    """What a second delivery of ``batch``'s key is answered with."""
    return BatchResult(
        tuple(dataclasses.replace(r, duplicate=True) for r in batch.results),
        duplicate=True,
        request=request,
    )


def _clean_after(conn: Connection, exc: Exception) -> bool:
    """Whether ``conn`` is as good as a fresh one after its transaction was ended by ``exc``:
    the exception came from the caller's code, not from the database or the store, and the
    rollback went through (the connection is valid and out of any transaction)."""
    if isinstance(exc, StoreError | sa_exc.SQLAlchemyError | OSError):
        return False
    driver_error = getattr(conn.dialect.loaded_dbapi, "Error", None)
    if driver_error is not None and isinstance(exc, driver_error):
        return False
    return not conn.invalidated and not conn.closed and not conn.in_transaction()


def _check_expected(stream: str, expected: int, actual: int) -> None:
    if expected != actual:
        raise ConcurrencyError(
            f"stream {stream!r} is at version {actual}, not the expected version {expected}"
        )


def _utc_text(now: dt.datetime) -> str:
    if now.tzinfo is None or now.utcoffset() is None:
        raise StoreError("the store's clock must give timezone-aware times")
    return now.astimezone(dt.UTC).isoformat(timespec="microseconds")


class _DatabaseErrors:
    """Turn database failures into StoreError (EscrowErrors pass through), secrets masked.

    A reusable context manager object (no state): entered on every store call, so a class rather
    than a generator-based one."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, sa_exc.SQLAlchemyError):
            message = " ".join(str(getattr(exc, "orig", None) or exc).split())
            raise StoreError(f"database error: {redact_text(message)}") from exc
        if isinstance(exc, sqlite3.Error):  # raised by a read-only connection's creator
            raise StoreError(f"database error: {exc}") from exc


_DATABASE_ERRORS = _DatabaseErrors()


class _Joined:
    """The open transaction's connection as a context manager that leaves it open."""

    __slots__ = ("conn",)

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def __enter__(self) -> Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        return None
