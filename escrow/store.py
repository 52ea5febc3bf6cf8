"""The event store: the only module that touches SQL.

A narrow contract: ``append(stream, expected_version, events)`` in one
transaction with optimistic concurrency on a unique ``(stream, version)``; ``load`` of a stream;
a global, gap-free ``position`` for ``read_all``; global idempotency keys for commands that come
from outside; and a SHA-256 hash chain over every row, anchored in a one-row ``chain_head`` table
that every append updates, so that ``verify`` can name the first row that was changed, deleted
(the last one included) or moved.

Backends are chosen by URL: SQLite (a ``sqlite:///`` URL or a plain file path) for one machine,
PostgreSQL (``postgresql://``, ``postgres://`` or ``postgresql+psycopg://``, through psycopg 3)
for several processes or hosts. A backend only decides how to connect, how to create the schema
and how to open a *write* transaction that serialises appends (SQLite: ``BEGIN IMMEDIATE``;
PostgreSQL: ``LOCK TABLE events IN EXCLUSIVE MODE``, see :class:`_PostgresBackend`); everything
else, the hash chain included, is the same code and the same text on both, and both run the same
contract tests.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii as _json_str
from typing import Any, NamedTuple, Protocol

import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import event as sa_event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import ConnectionPoolEntry

from escrow.clock import Clock, SystemClock
from escrow.domain.event_base import Event
from escrow.errors import ConcurrencyError, IntegrityError, StoreError

__all__ = [
    "GENESIS_HASH",
    "AppendResult",
    "BatchResult",
    "EventCodec",
    "EventStore",
    "PydanticCodec",
    "StoredEvent",
    "VerifyReport",
    "open_store",
]

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of position 1."""

# --- codec ------------------------------------------------------------------------------------


class EventCodec(Protocol):
    """Turns events into (type, JSON text) and back."""

    def encode(self, event: Event) -> tuple[str, str]:
        """The event's type and its JSON text."""
        ...

    def decode(self, type_: str, data: str) -> Event:
        """The event stored as ``data``; raises IntegrityError when it cannot be read."""
        ...


class PydanticCodec:
    """An :class:`EventCodec` over a TypeAdapter of a discriminated union of Event subclasses.

    The first event of each class is round-tripped on encode, so an event the adapter cannot
    read back is refused before anything is written.
    """

    def __init__(self, adapter: TypeAdapter[Any]) -> None:
        self._adapter = adapter
        self._checked: set[type[Event]] = set()

    def encode(self, event: Event) -> tuple[str, str]:
        # The event's own serializer writes what the union's would (checked below per class),
        # without the union's dispatch.
        data = event.__pydantic_serializer__.to_json(event, warnings=False).decode()
        cls = type(event)
        if cls not in self._checked:
            try:
                back = self._adapter.validate_json(data)
            except ValidationError as exc:
                raise StoreError(
                    f"event type {event.type!r} ({cls.__name__}) is not one this codec can"
                    f" read back: {_first_error(exc)}"
                ) from None
            if type(back) is not cls or back != event:
                raise StoreError(f"event type {event.type!r} does not survive a round trip")
            self._checked.add(cls)
        return event.type, data

    def decode(self, type_: str, data: str) -> Event:
        try:
            # The adapter's own validator: TypeAdapter.validate_json adds a call layer per row.
            event = self._adapter.validator.validate_json(data)
        except ValidationError as exc:
            raise IntegrityError(
                f"cannot decode event of type {type_!r}: {_first_error(exc)}"
            ) from None
        if not isinstance(event, Event) or event.type != type_:
            raise IntegrityError(f"stored type {type_!r} does not match the decoded event")
        return event


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors()
    return str(errors[0]["msg"]) if errors else str(exc)


# --- results ----------------------------------------------------------------------------------


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


# --- schema -----------------------------------------------------------------------------------

_metadata = sa.MetaData()

# 64-bit counters: SQLite's INTEGER already is (and must stay "INTEGER PRIMARY KEY", the rowid);
# PostgreSQL's INTEGER is 32-bit, so it gets BIGINT. Every other column is text on both backends,
# so the hash chain covers byte-identical values.
_COUNTER = sa.Integer().with_variant(sa.BigInteger(), "postgresql")

_events = sa.Table(
    "events",
    _metadata,
    sa.Column("position", _COUNTER, primary_key=True, autoincrement=False),
    sa.Column("stream", sa.String, nullable=False),
    sa.Column("version", _COUNTER, nullable=False),
    sa.Column("type", sa.String, nullable=False),
    sa.Column("effective_date", sa.String(10), nullable=False),
    sa.Column("recorded_at", sa.String, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("idempotency_key", sa.String, nullable=True, unique=True),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.UniqueConstraint("stream", "version", name="uq_events_stream_version"),
)

# The key also sits on the first row of its append (and is hashed there); this table records where
# the append ended, so a duplicate can be answered with the original result.
_idempotency = sa.Table(
    "idempotency_keys",
    _metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("first_position", _COUNTER, nullable=False),
    sa.Column("last_position", _COUNTER, nullable=False),
)

# The anchor of the hash chain: the position and hash of the last row, updated in the same
# transaction as every append. Without it, deleting the last rows would leave a valid chain.
_chain_head = sa.Table(
    "chain_head",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("position", _COUNTER, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)
_HEAD_ID = 1

_INSERT_EVENT = _events.insert().values({c.name: sa.bindparam(c.name) for c in _events.columns})
_INSERT_KEY = _idempotency.insert()
_LAST_ROW = (
    sa.select(_events.c.position, _events.c.hash).order_by(_events.c.position.desc()).limit(1)
)
_HEAD = sa.select(_chain_head.c.position, _chain_head.c.hash).where(_chain_head.c.id == _HEAD_ID)
_MOVE_HEAD = (
    _chain_head.update()
    .where(_chain_head.c.id == _HEAD_ID)
    .values(position=sa.bindparam("head_position"), hash=sa.bindparam("head_hash"))
)
_ALL_KEYS = sa.select(
    _idempotency.c.key, _idempotency.c.first_position, _idempotency.c.last_position
).order_by(_idempotency.c.first_position)
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
_STREAMS_PER_QUERY = 500  # bound parameters per IN list (old SQLite builds allow 999)

_STORED_COLUMNS = (
    _events.c.position,
    _events.c.stream,
    _events.c.version,
    _events.c.type,
    _events.c.data,
    _events.c.recorded_at,
)
_KEY_RANGE = sa.select(_idempotency.c.first_position, _idempotency.c.last_position).where(
    _idempotency.c.key == sa.bindparam("key")
)
_RANGE_ROWS = (
    sa.select(_events.c.position, _events.c.stream, _events.c.version)
    .where(_events.c.position.between(sa.bindparam("lo"), sa.bindparam("hi")))
    .order_by(_events.c.position)
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


@functools.lru_cache(maxsize=1024)
def _parse_recorded(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


# --- backends ---------------------------------------------------------------------------------


class _Backend(Protocol):
    """How to reach one kind of database and how to open a serialised write transaction."""

    url: str
    """The URL to show: in messages, ``repr`` and :attr:`EventStore.url` (never a password)."""

    secret: str | None
    """A password to keep out of error messages, if the URL has one."""

    def create_engine(self) -> Engine:
        """A pooled engine; every connection configured for the store."""
        ...

    def create_schema(self, engine: Engine) -> None:
        """Create the tables if they are missing; safe when several processes open at once."""
        ...

    def write(self, engine: Engine) -> AbstractContextManager[Connection]:
        """A connection in a write transaction that holds off every other writer until it ends."""
        ...

    def snapshot(self, engine: Engine) -> AbstractContextManager[Connection]:
        """A connection in a read transaction that sees one committed state throughout."""
        ...


def _create_tables(conn: Connection) -> None:
    """Create what is missing; call inside a write transaction (the head is seeded from the log)."""
    for table in _metadata.sorted_tables:
        conn.execute(sa.schema.CreateTable(table, if_not_exists=True))
    if conn.execute(_HEAD).first() is None:
        last = conn.execute(_LAST_ROW).first()
        position, digest = (last[0], last[1]) if last is not None else (0, GENESIS_HASH)
        conn.execute(_chain_head.insert().values(id=_HEAD_ID, position=position, hash=digest))


_BEGIN_OPTION = "escrow_begin"

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a writer waits for the write lock before giving up (``PRAGMA busy_timeout``)."""

SQLITE_SYNCHRONOUS = "FULL"
"""``PRAGMA synchronous``. FULL rather than NORMAL: in WAL mode NORMAL may lose the last commits
on a power cut, and an append acknowledged to a bank (idempotency key) must not be forgotten.
FULL costs one fsync per append, not per event."""


class _SqliteBackend:
    """SQLite through pysqlite: WAL, a busy timeout, and ``BEGIN IMMEDIATE`` for writers."""

    def __init__(self, path: str) -> None:
        if path in ("", ":memory:") or path.startswith("file:"):
            raise StoreError(
                "an in-memory SQLite store is not supported: give a file path or sqlite:///path"
            )
        self.path = path
        self.url = f"sqlite:///{path}"
        self.secret: str | None = None

    def create_engine(self) -> Engine:
        engine = sa.create_engine(
            self.url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )

        @sa_event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
            # Take transaction control away from pysqlite; "begin" below emits our own BEGIN.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute(f"PRAGMA synchronous = {SQLITE_SYNCHRONOUS}")
            finally:
                cursor.close()

        @sa_event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine

    def create_schema(self, engine: Engine) -> None:
        # BEGIN IMMEDIATE serialises concurrent first opens.
        with self.write(engine) as conn:
            _create_tables(conn)

    @contextmanager
    def write(self, engine: Engine) -> Iterator[Connection]:
        with engine.connect() as conn:
            conn.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
            with conn.begin():
                yield conn

    @contextmanager
    def snapshot(self, engine: Engine) -> Iterator[Connection]:
        # A WAL read transaction sees the database as of its first read until it ends.
        with engine.connect() as conn, conn.begin():
            yield conn


POSTGRES_LOCK_TIMEOUT_MS = 30_000
"""How long a PostgreSQL writer waits for the append lock before giving up (``lock_timeout``),
like :data:`SQLITE_BUSY_TIMEOUT_MS`."""

POSTGRES_CONNECT_TIMEOUT_S = 10
"""``connect_timeout`` when the URL does not give one."""

_SCHEMA_LOCK = 0x65_73_63_72_6F_77_01  # "escrow" + 1: the advisory lock key for creating tables
_WRITE_LOCK = (
    f"SET LOCAL lock_timeout = {POSTGRES_LOCK_TIMEOUT_MS}; LOCK TABLE events IN EXCLUSIVE MODE"
)


class _PostgresBackend:
    """PostgreSQL through psycopg 3, one transaction per append at READ COMMITTED.

    **Positions.** Every write transaction starts with ``LOCK TABLE events IN EXCLUSIVE MODE``
    and only then reads the head of the log and numbers its rows ``max(position) + 1, …``.
    The lock is chosen over a sequence (or an identity column) because a sequence hands out
    numbers at insert time, not commit time: writer A takes 7, writer B takes 8 and commits
    first, and a reader following ``read_all(after_position=…)`` sees 8, moves its cursor past
    7 and never sees A's event when it commits a moment later (or sees a permanent gap if A
    rolls back). Under the table lock appends are serial, so positions are handed out in
    commit order: PostgreSQL makes A's commit visible before it releases A's locks, B's
    statements after ``LOCK`` (each taking a fresh snapshot at READ COMMITTED) see A's rows,
    and B cannot commit N+1 before N is visible to everyone. A rolled-back append leaves no
    gap. The same property makes the hash chain's ``prev_hash`` always the committed head.

    EXCLUSIVE conflicts with every writer (ROW EXCLUSIVE, which a raw ``INSERT``/``UPDATE``
    takes too) but not with plain ``SELECT``s (ACCESS SHARE): readers never wait for writers.
    A writer waits at most :data:`POSTGRES_LOCK_TIMEOUT_MS` for the lock. The cost is one
    writer at a time per database, the same as SQLite's ``BEGIN IMMEDIATE``: an append is a
    handful of round trips (about 800 single-event appends a second from one process on
    loopback; a batch of 10,000 events in half a second). The alternative, a sequence plus
    commit-order tracking (readers holding back behind ``pg_snapshot_xmin``), would let
    writers run in parallel, but rolled-back numbers leave holes that :meth:`EventStore.verify`
    could not tell from deleted rows, and each row's ``prev_hash`` needs its committed
    predecessor at write time anyway: the hash chain serialises appends by nature.

    **Schema.** The tables are created under a transaction-level advisory lock, so several
    processes opening an empty database at once do not race on ``CREATE TABLE``. They live in
    the first schema of the connection's ``search_path`` (set it with ``?options=-csearch_path%3D…``
    in the URL to keep several ledgers in one database).
    """

    def __init__(self, url: URL) -> None:
        if not url.database:
            raise StoreError(
                "a PostgreSQL URL must name a database: postgresql://USER:PASSWORD@HOST/DBNAME"
            )
        self._engine_url = url.set(drivername="postgresql+psycopg")
        self.url = self._engine_url.render_as_string(hide_password=True)
        self.secret = url.password or None

    def create_engine(self) -> Engine:
        try:
            import psycopg  # noqa: F401  (checked here for a clear message)
        except ImportError:
            raise StoreError(
                "the PostgreSQL backend needs psycopg 3:"
                " pip install 'beijing-rental-escrow[postgres]'"
            ) from None
        query = self._engine_url.query
        connect_args: dict[str, Any] = {}
        if "connect_timeout" not in query:
            connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_S
        if "application_name" not in query:
            connect_args["application_name"] = "escrow"
        return sa.create_engine(
            self._engine_url,
            connect_args=connect_args,
            # The write lock relies on a fresh snapshot per statement (see the class docstring),
            # whatever default_transaction_isolation the server has.
            isolation_level="READ COMMITTED",
        )

    def create_schema(self, engine: Engine) -> None:
        present = sa.text(
            "SELECT to_regclass('events') IS NOT NULL AND to_regclass('idempotency_keys')"
            " IS NOT NULL AND to_regclass('chain_head') IS NOT NULL"
        )
        with engine.begin() as conn:
            if conn.execute(present).scalar_one():
                return
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_SCHEMA_LOCK)))
            _create_tables(conn)

    @contextmanager
    def write(self, engine: Engine) -> Iterator[Connection]:
        with engine.connect() as conn, conn.begin():
            conn.exec_driver_sql(_WRITE_LOCK)
            yield conn

    @contextmanager
    def snapshot(self, engine: Engine) -> Iterator[Connection]:
        # READ COMMITTED takes a snapshot per statement; the head and the rows need one.
        with (
            engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn,
            conn.begin(),
        ):
            yield conn


_POSTGRES_SCHEMES = ("postgresql", "postgres")
_POSTGRES_DRIVERS = ("", "psycopg")


def _backend_for(url: str) -> _Backend:
    if "://" not in url:
        return _SqliteBackend(url)
    try:
        parsed = make_url(url)
    except (sa_exc.ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        raise StoreError(f"unsupported database URL {_hide_password(url)!r}: {exc}") from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite" and driver in ("pysqlite", ""):
        return _SqliteBackend(parsed.database or "")
    if backend in _POSTGRES_SCHEMES and driver in _POSTGRES_DRIVERS:
        return _PostgresBackend(parsed)
    raise StoreError(
        f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}:"
        " give SQLite (sqlite:///path or a file path) or PostgreSQL through psycopg 3"
        " (postgresql://, postgres:// or postgresql+psycopg://)"
    )


def _hide_password(url: str) -> str:
    """``url`` with what sits between ``user:`` and ``@`` masked (for URLs SQLAlchemy refuses)."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}"


# --- the store --------------------------------------------------------------------------------


Write = tuple[str, int, Sequence[Event]]
"""One stream's part of :meth:`EventStore.append_many`: (stream, expected_version, events)."""

_Encoded = list[tuple[str, int, list[tuple[str, str, str]]]]
"""Writes with their events encoded as (type, effective date, JSON text)."""


class EventStore:
    """An append-only event store with optimistic concurrency, idempotency and a hash chain."""

    def __init__(self, url: str, codec: EventCodec, clock: Clock | None = None) -> None:
        self._backend = _backend_for(url)
        self._url = self._backend.url
        self._secret = self._backend.secret
        self._codec = codec
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._closed = False
        with self._errors():
            self._engine = self._backend.create_engine()
            self._insert_sql = str(_INSERT_EVENT.compile(dialect=self._engine.dialect))
            try:
                self._backend.create_schema(self._engine)
            except BaseException:
                self._engine.dispose()
                raise

    @property
    def url(self) -> str:
        """The database URL (plain paths become ``sqlite:///path``; a password shows as ``***``)."""
        return self._url

    def _errors(self) -> AbstractContextManager[None]:
        return _database_errors(self._secret)

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
        self, writes: Sequence[Write], idempotency_key: str | None = None
    ) -> BatchResult:
        """Append to several streams in one transaction: all of it is written, or none.

        Each ``(stream, expected_version, events)`` is checked as in :meth:`append`; a stream
        may appear only once. The idempotency key covers the whole batch.
        """
        self._check_open()
        encoded = self._encode_writes(writes)
        if not any(rows for _, _, rows in encoded):
            with self._errors(), self._engine.connect() as conn:
                return self._append_nothing(conn, encoded, idempotency_key)
        return self._write([(encoded, idempotency_key)])[0]

    def append_batches(
        self, batches: Sequence[tuple[Sequence[Write], str | None]]
    ) -> list[BatchResult]:
        """Several :meth:`append_many` calls, in order, in ONE transaction: all or none.

        A unit of work: each batch is checked against the streams as the batches before it
        left them, keeps its own idempotency key (a key already stored, or used by an earlier
        batch of the call, makes that batch a duplicate that writes nothing) and gets its own
        result. One commit (one fsync) for the lot is what makes bulk imports and simulations
        fast. A batch that writes no event does not record its key.
        """
        self._check_open()
        encoded = [(self._encode_writes(writes), key) for writes, key in batches]
        if not any(rows for writes, _ in encoded for _, _, rows in writes):
            with self._errors(), self._engine.connect() as conn:
                return [self._append_nothing(conn, writes, key) for writes, key in encoded]
        return self._write(encoded)

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

    def _write(self, batches: list[tuple[_Encoded, str | None]]) -> list[BatchResult]:
        with self._errors():
            try:
                with self._backend.write(self._engine) as conn:
                    return self._append_rows(conn, batches)
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
        self, conn: Connection, batches: list[tuple[_Encoded, str | None]]
    ) -> list[BatchResult]:
        """Number, chain and insert the rows of ``batches`` (inside the write transaction)."""
        head = conn.execute(_HEAD).first()
        if head is None:
            raise IntegrityError("the store has no chain head: it was not created by escrow")
        position, prev_hash = int(head[0]), str(head[1])
        recorded_at = _utc_text(self._clock.now())
        recorded = _parse_recorded(recorded_at)
        rows: list[tuple[Any, ...]] = []
        key_rows: list[dict[str, Any]] = []
        stream_heads = self._stream_heads(
            conn, {stream for encoded, _ in batches for stream, _, _ in encoded}
        )  # (version, position) of each stream, kept up to date as rows are numbered
        keys_written: dict[str, BatchResult] = {}
        out: list[BatchResult] = []
        for encoded, key in batches:
            if key is not None:
                original = keys_written.get(key) or self._key_result(conn, key)
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
                key_rows.append(
                    {"key": key, "first_position": first_position, "last_position": position}
                )
                keys_written[key] = _as_duplicate(batch)
        if rows:
            self._insert(conn, rows)
            conn.execute(_MOVE_HEAD, {"head_position": position, "head_hash": prev_hash})
        if key_rows:
            conn.execute(_INSERT_KEY, key_rows)
        return out

    def _insert(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        """One executemany straight to the driver (no per-row SQLAlchemy parameter handling)."""
        if self._engine.dialect.positional:
            conn.exec_driver_sql(self._insert_sql, rows)
        else:
            names = [c.name for c in _events.columns]
            conn.exec_driver_sql(self._insert_sql, [dict(zip(names, r, strict=True)) for r in rows])

    @staticmethod
    def _stream_heads(conn: Connection, streams: set[str]) -> dict[str, tuple[int, int]]:
        """(version, position) of each stream's last event, for streams that have one."""
        heads: dict[str, tuple[int, int]] = {}
        names = sorted(streams)
        for first in range(0, len(names), _STREAMS_PER_QUERY):
            query = _STREAM_HEADS.where(
                _events.c.stream.in_(names[first : first + _STREAMS_PER_QUERY])
            )
            for stream, version, position in conn.execute(query):
                heads[stream] = (int(version), int(position))
        return heads

    @staticmethod
    def _stream_head(conn: Connection, stream: str) -> tuple[int, int]:
        row = conn.execute(_STREAM_HEAD, {"stream": stream}).first()
        return (row[0], row[1]) if row is not None else (0, 0)

    @staticmethod
    def _key_result(conn: Connection, key: str) -> BatchResult | None:
        span = conn.execute(_KEY_RANGE, {"key": key}).first()
        if span is None:
            return None
        results: list[AppendResult] = []
        for position, stream, version in conn.execute(_RANGE_ROWS, {"lo": span[0], "hi": span[1]}):
            last = results[-1] if results else None
            if last is not None and last.stream == stream:
                results[-1] = AppendResult(
                    stream, last.first_version, version, last.first_position, position, True
                )
            else:
                results.append(AppendResult(stream, version, version, position, position, True))
        return BatchResult(tuple(results), duplicate=True)

    # --- reading ------------------------------------------------------------------------------

    def load(self, stream: str, upto_version: int | None = None) -> list[StoredEvent]:
        """The events of ``stream`` in version order (up to and including ``upto_version``)."""
        query = sa.select(*_STORED_COLUMNS).where(_events.c.stream == stream)
        if upto_version is not None:
            query = query.where(_events.c.version <= upto_version)
        return self._stored(query.order_by(_events.c.version))

    def stream_version(self, stream: str) -> int:
        """The stream's current version: the number of its events (0 for an unknown stream)."""
        self._check_open()
        with self._errors(), self._engine.connect() as conn:
            return self._stream_head(conn, stream)[0]

    def read_all(self, after_position: int = 0, limit: int | None = None) -> list[StoredEvent]:
        """Events of every stream after ``after_position``, in position order."""
        query = (
            sa.select(*_STORED_COLUMNS)
            .where(_events.c.position > after_position)
            .order_by(_events.c.position)
        )
        if limit is not None:
            query = query.limit(limit)
        return self._stored(query)

    def last_position(self) -> int:
        """The position of the last event stored (0 for an empty store)."""
        self._check_open()
        with self._errors(), self._engine.connect() as conn:
            return int(conn.execute(_LAST_POSITION).scalar_one())

    def streams(self, prefix: str = "") -> list[str]:
        """The names of the streams that start with ``prefix`` (case-sensitive), sorted."""
        self._check_open()
        query = sa.select(_events.c.stream).distinct()
        if prefix:
            query = query.where(sa.func.substr(_events.c.stream, 1, len(prefix)) == prefix)
        with self._errors(), self._engine.connect() as conn:
            names = conn.execute(query).scalars().all()
        return sorted(n for n in names if n.startswith(prefix))

    def idempotency_result(self, key: str) -> AppendResult | None:
        """The result of the append that stored ``key`` (its first stream), or None."""
        self._check_open()
        with self._errors(), self._engine.connect() as conn:
            batch = self._key_result(conn, key)
        return batch.results[0] if batch is not None and batch.results else None

    def _stored(self, query: sa.Select[Any]) -> list[StoredEvent]:
        self._check_open()
        with self._errors(), self._engine.connect() as conn:
            rows = conn.execute(query).all()
        decode = self._decode
        recorded: dict[str, dt.datetime] = {}  # an append's rows share their recorded time
        out = []
        for p, s, v, t, d, r in rows:
            at = recorded.get(r)
            if at is None:
                at = recorded[r] = _parse_recorded(r)
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

    def verify(self) -> VerifyReport:
        """Walk every row in position order and report the first one that breaks the chain.

        Catches a changed row (hash mismatch; the idempotency key is hashed too), a deleted row
        (position gap, broken link, or, for the last rows, a log that ends before the chain
        head), rows moved between positions, version gaps, undecodable events, and an
        idempotency-key table that does not match the keys on the rows. Rewriting the chain
        from some row to the end *and* the head together cannot be told from the database alone.
        """
        self._check_open()
        checked = 0
        expected_position = 1
        prev_hash = GENESIS_HASH
        versions: dict[str, int] = {}
        keys: dict[str, int] = {}
        with self._errors(), self._backend.snapshot(self._engine) as conn:
            head = conn.execute(_HEAD).first()
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
                    problem = self._check_payload(position, type_, eff, data)
                if problem is not None:
                    result.close()
                    return VerifyReport(False, checked, bad, problem)
                if key is not None:
                    keys[key] = position
                versions[stream] = version
                prev_hash = digest
                expected_position += 1
                checked += 1
            problem_at = _check_head(head, checked, prev_hash) or _check_keys(
                conn.execute(_ALL_KEYS), keys, checked
            )
        if problem_at is not None:
            return VerifyReport(False, checked, problem_at[0], problem_at[1])
        return VerifyReport(True, checked, None, None)

    def _check_payload(self, position: int, type_: str, eff: str, data: str) -> str | None:
        try:
            event = self._decode(position, type_, data)
        except IntegrityError as exc:
            return str(exc)
        if event.on.isoformat() != eff:
            return f"effective date at position {position} does not match the event's date"
        return None

    # --- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        """Release every connection; the store cannot be used afterwards."""
        if not self._closed:
            self._closed = True
            self._engine.dispose()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"the store at {self._url} is closed")

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EventStore({self._url!r})"


def open_store(url: str, codec: EventCodec, clock: Clock | None = None) -> EventStore:
    """Open (creating if needed) the store at ``url``: a SQLite file path or database URL."""
    return EventStore(url, codec, clock)


# --- helpers ----------------------------------------------------------------------------------


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


def _as_duplicate(batch: BatchResult) -> BatchResult:
    """What a second delivery of ``batch``'s key is answered with."""
    return BatchResult(
        tuple(dataclasses.replace(r, duplicate=True) for r in batch.results), duplicate=True
    )


def _check_expected(stream: str, expected: int, actual: int) -> None:
    if expected != actual:
        raise ConcurrencyError(
            f"stream {stream!r} is at version {actual}, not the expected version {expected}"
        )


def _utc_text(now: dt.datetime) -> str:
    if now.tzinfo is None or now.utcoffset() is None:
        raise StoreError("the store's clock must give timezone-aware times")
    return now.astimezone(dt.UTC).isoformat(timespec="microseconds")


@contextmanager
def _database_errors(secret: str | None = None) -> Iterator[None]:
    """Turn database failures into StoreError (EscrowErrors pass through); never show ``secret``."""
    try:
        yield
    except sa_exc.SQLAlchemyError as exc:
        message = str(getattr(exc, "orig", None) or exc).strip()
        if secret:
            message = message.replace(secret, "***")
        raise StoreError(f"database error: {message}") from exc
