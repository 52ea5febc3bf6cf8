"""The event store: the only module that touches SQL.

A narrow contract: ``append(stream, expected_version, events)`` in one
transaction with optimistic concurrency on a unique ``(stream, version)``; ``load`` of a stream;
a global, gap-free ``position`` for ``read_all``; global idempotency keys for commands that come
from outside; and a SHA-256 hash chain over every row, anchored in a one-row ``chain_head`` table
that every append updates, so that ``verify`` can name the first row that was changed, deleted
(the last one included) or moved. Over the same rows' hashes, a Merkle tree (RFC 9162,
:mod:`escrow.merkle`) whose complete subtrees of 16 events or more are kept in ``merkle_nodes``,
written in the append's transaction: checkpoints, receipts and consistency proofs
(:mod:`escrow.checkpoint`) read O(log n) rows, never the whole log.

Backends are chosen by URL: SQLite (a ``sqlite:///`` URL or a plain file path) for one machine,
PostgreSQL (``postgresql://``, ``postgres://`` or ``postgresql+psycopg://``, through psycopg 3)
for several processes or hosts. A backend only decides how to connect, how to create the schema
and how to open a *write* transaction that serialises appends (SQLite: ``BEGIN IMMEDIATE``;
PostgreSQL: ``LOCK TABLE events IN EXCLUSIVE MODE``, see :class:`_PostgresBackend`); everything
else, the hash chain included, is the same code and the same text on both, and both run the same
contract tests.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import hashlib
import logging
import os
import random
import sqlite3
import stat
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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

from escrow import merkle, readmodel
from escrow.clock import Clock, SystemClock
from escrow.domain.event_base import Event
from escrow.errors import ConcurrencyError, IntegrityError, StoreError
from escrow.prepared import Prepared
from escrow.redaction import redact_text, redact_url

log = logging.getLogger(__name__)
"""``escrow.store``: store opens (INFO, the URL with its secrets masked)."""

__all__ = [
    "GENESIS_HASH",
    "OLDEST_READABLE_VERSION",
    "SCHEMA_VERSION",
    "TREE_LEVEL",
    "AppendResult",
    "BatchResult",
    "EventCodec",
    "EventStore",
    "PydanticCodec",
    "StoredEvent",
    "StoredRow",
    "TreeHead",
    "VerifyReport",
    "check_database_path",
    "migrate_store",
    "open_store",
    "redact_url",
    "register_migration",
    "row_hash",
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
    # The act the key was first delivered with (canonical text, see escrow.requests): the same
    # key with another act is refused rather than answered with the first act's result.
    sa.Column("request", sa.Text, nullable=True),
)

# The anchor of the hash chain: the position and hash of the last row, updated in the same
# transaction as every append. Without it, deleting the last rows would leave a valid chain.
# Since schema version 3 it also keeps the last row's recorded time and the Merkle tree's peaks
# at the head (hex, comma-separated): an append reads them here instead of the log's last rows,
# so it reads no other stream's rows. NULL (a ledger from before): read from the rows.
_chain_head = sa.Table(
    "chain_head",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("position", _COUNTER, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("recorded_at", sa.String, nullable=True),
    sa.Column("peaks", sa.Text, nullable=True),
)
_HEAD_ID = 1

# The Merkle tree over the rows' hashes (RFC 9162, escrow.merkle): the hash of every complete
# subtree of 2**TREE_LEVEL leaves or more, written in the same transaction as the rows it covers.
# Smaller subtrees are recomputed from the rows' own hashes (at most 2**TREE_LEVEL - 1 of them),
# so the table holds about one node per 2**(TREE_LEVEL - 1) events. Leaf i (0-based) is the row
# at position i + 1; its leaf hash is SHA-256(0x00 || the row's 32-byte hash).
_tree_nodes = sa.Table(
    "merkle_nodes",
    _metadata,
    sa.Column("level", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("idx", _COUNTER, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sqlite_with_rowid=False,  # the key is the table: one B-tree to write, not two
)
TREE_LEVEL = 4
"""The lowest level of the Merkle tree kept in ``merkle_nodes`` (subtrees of 16 events)."""

# --- schema version ---------------------------------------------------------------------------

SCHEMA_VERSION = 3
"""The version of the tables this escrow writes, kept in the ``escrow_meta`` table.

A ledger made before the table existed is version 0 (the same three tables, no version). A
module that changes the schema raises this by one and registers the step from the version
before with :func:`register_migration`; ``escrow migrate`` (:func:`migrate_store`) runs the
steps, never an ordinary open."""

OLDEST_READABLE_VERSION = 0
"""The oldest schema this escrow still reads (read-only opens, ``verify``) without migrating.
Raise it when a migration changes what existing tables mean rather than only adding to them."""

_META_VERSION_KEY = "schema_version"
_meta = sa.Table(
    "escrow_meta",
    _metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("value", sa.String, nullable=False),
)
_LEDGER_TABLES = ("events", "idempotency_keys", "chain_head")
"""The tables every version has: a database with none of them holds no ledger."""

_MIGRATIONS: dict[int, Callable[[Connection], None]] = {}
"""``from_version -> step``: the step takes a ledger from ``from_version`` to the next, inside
the migration's write transaction (which then records the new version)."""


def register_migration(from_version: int, step: Callable[[Connection], None]) -> None:
    """Register the step that takes a ledger from ``from_version`` to ``from_version + 1``."""
    if from_version in _MIGRATIONS:
        raise StoreError(f"a migration from schema version {from_version} is already registered")
    _MIGRATIONS[from_version] = step


def _add_meta(conn: Connection) -> None:
    """Version 0 -> 1: the ``escrow_meta`` table that records the version."""
    conn.execute(sa.schema.CreateTable(_meta, if_not_exists=True))


register_migration(0, _add_meta)


def _add_tree_and_requests(conn: Connection) -> None:
    """Version 1 -> 2: the Merkle tree's ``merkle_nodes`` (filled at the next append) and, on
    ``idempotency_keys``, the ``request`` each key stands for (older keys keep NULL)."""
    conn.execute(sa.schema.CreateTable(_tree_nodes, if_not_exists=True))
    if not any(c["name"] == "request" for c in sa.inspect(conn).get_columns("idempotency_keys")):
        conn.exec_driver_sql("ALTER TABLE idempotency_keys ADD COLUMN request TEXT")


register_migration(1, _add_tree_and_requests)

READ_MODELS_KEY = "read_models"
"""``escrow_meta`` key set to ``stale`` while the read models do not follow from the events (a
migration created them empty, or a rebuild was interrupted): the ledger then refuses to act or
answer until ``escrow rebuild`` (which ``escrow migrate`` runs) fills them."""


def _add_read_models(conn: Connection) -> None:
    """Version 2 -> 3: the read-model tables (:mod:`escrow.readmodel`), created empty and marked
    stale (``escrow migrate`` then rebuilds them from the events), and the chain head's
    ``recorded_at`` and ``peaks`` (NULL until the next append)."""
    for table in readmodel.tables():
        conn.execute(sa.schema.CreateTable(table, if_not_exists=True))
        for index in table.indexes:
            conn.execute(sa.schema.CreateIndex(index, if_not_exists=True))
    present = {c["name"] for c in sa.inspect(conn).get_columns("chain_head")}
    for name in ("recorded_at", "peaks"):
        if name not in present:
            conn.exec_driver_sql(f"ALTER TABLE chain_head ADD COLUMN {name} TEXT")
    conn.execute(_meta.insert().values(key=READ_MODELS_KEY, value="stale"))


register_migration(2, _add_read_models)

_ADDED_COLUMNS = {"idempotency_keys": {"request"}, "chain_head": {"recorded_at", "peaks"}}
"""Columns later versions added to the tables every version has: an older ledger lacks them."""


def _set_version(conn: Connection, version: int) -> None:
    found = conn.execute(sa.select(_meta.c.value).where(_meta.c.key == _META_VERSION_KEY)).first()
    if found is None:
        conn.execute(_meta.insert().values(key=_META_VERSION_KEY, value=str(version)))
    else:
        conn.execute(
            _meta.update().where(_meta.c.key == _META_VERSION_KEY).values(value=str(version))
        )


def _found_version(conn: Connection, *, sole_owner: bool) -> int | None:
    """The schema version of the ledger the connection sees; None when it holds none at all.

    StoreError when the database holds something that is not an escrow ledger: some of the
    ledger's tables but not all, tables whose columns are not the ledger's, or (``sole_owner``:
    a SQLite file belongs to one application) only other applications' tables.
    """
    inspector = sa.inspect(conn)
    tables = set(inspector.get_table_names())
    ours = [name for name in _LEDGER_TABLES if name in tables]
    if not ours:
        others = sorted(t for t in tables if t != _meta.name and not t.startswith("sqlite_"))
        if sole_owner and others:
            raise StoreError(
                f"not an escrow ledger: the database holds other tables ({', '.join(others[:3])}"
                + (", …" if len(others) > 3 else "")
                + ")"
            )
        if _meta.name not in tables:
            return None
    if len(ours) != len(_LEDGER_TABLES):
        missing = ", ".join(n for n in _LEDGER_TABLES if n not in tables)
        raise StoreError(f"not an escrow ledger: the table(s) {missing} are missing")
    for name in (*_LEDGER_TABLES, *([_meta.name] if _meta.name in tables else [])):
        columns = {c["name"] for c in inspector.get_columns(name)}
        expected = {c.name for c in _metadata.tables[name].columns}
        if not expected - _ADDED_COLUMNS.get(name, set()) <= columns <= expected:
            raise StoreError(f"not an escrow ledger: table {name} has other columns")
    if _meta.name not in tables:
        return 0
    value = conn.execute(sa.select(_meta.c.value).where(_meta.c.key == _META_VERSION_KEY)).first()
    if value is None or not str(value[0]).isdigit():
        raise StoreError("not an escrow ledger: its schema version is missing or unreadable")
    return int(value[0])


def _check_version(version: int, *, writing: bool) -> None:
    """Refuse a ledger this escrow cannot use as it is (never migrated silently)."""
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the ledger's schema is version {version}, newer than this escrow's"
            f" {SCHEMA_VERSION}: use a newer escrow"
        )
    if version < SCHEMA_VERSION and (writing or version < OLDEST_READABLE_VERSION):
        raise StoreError(
            f"the ledger's schema is version {version}, older than this escrow's"
            f" {SCHEMA_VERSION}: back it up, then run `escrow migrate --db …`"
        )


def _prepare_schema(conn: Connection, *, sole_owner: bool, migrate: bool) -> tuple[int, int]:
    """Create the tables of an empty database, or check (``migrate``: upgrade) a ledger's.

    Call inside a write transaction that serialises concurrent first opens. Returns the
    version found (the new version for an empty database) and the version left.
    """
    found = _found_version(conn, sole_owner=sole_owner)
    if found is None:
        _create_tables(conn)
        _set_version(conn, SCHEMA_VERSION)
        return SCHEMA_VERSION, SCHEMA_VERSION
    if found > SCHEMA_VERSION or not migrate:
        _check_version(found, writing=True)
        return found, found
    version = found
    while version < SCHEMA_VERSION:
        step = _MIGRATIONS.get(version)
        if step is None:
            raise StoreError(f"no migration from schema version {version} is known")
        step(conn)
        version += 1
    _set_version(conn, version)
    return found, version


_INSERT_EVENT = _events.insert().values({c.name: sa.bindparam(c.name) for c in _events.columns})
_INSERT_KEY = _idempotency.insert()
_LAST_ROW = (
    sa.select(_events.c.position, _events.c.hash).order_by(_events.c.position.desc()).limit(1)
)
_HEAD = sa.select(_chain_head.c.position, _chain_head.c.hash).where(_chain_head.c.id == _HEAD_ID)
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
_STREAMS_PER_QUERY = 500  # bound parameters per IN list (old SQLite builds allow 999)
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
# The statements of every act, compiled once per dialect (escrow.prepared).
_P_HEAD_STATE = Prepared(_HEAD_STATE)
_P_MOVE_HEAD = Prepared(_MOVE_HEAD)
_P_INSERT_KEY = Prepared(
    _idempotency.insert().values({c.name: sa.bindparam(c.name) for c in _idempotency.columns})
)
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


# --- backends ---------------------------------------------------------------------------------


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

    def write(self, engine: Engine) -> AbstractContextManager[Connection]:
        """A connection in a write transaction that holds off every other writer until it ends."""
        ...

    def snapshot(self, engine: Engine) -> AbstractContextManager[Connection]:
        """A connection in a read transaction that sees one committed state throughout."""
        ...

    def tidy(self) -> None:
        """After the engine is disposed: remove what reading left beside the database."""
        ...


def _readable_version(conn: Connection, *, sole_owner: bool) -> int:
    found = _found_version(conn, sole_owner=sole_owner)
    if found is None:
        raise StoreError("not an escrow ledger: the database holds no ledger tables")
    _check_version(found, writing=False)
    return found


def _create_tables(conn: Connection) -> None:
    """Create what is missing; call inside a write transaction (the head is seeded from the log)."""
    for table in [*_metadata.sorted_tables, *readmodel.tables()]:
        conn.execute(sa.schema.CreateTable(table, if_not_exists=True))
        for index in table.indexes:
            conn.execute(sa.schema.CreateIndex(index, if_not_exists=True))
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
    """SQLite through pysqlite: WAL, a busy timeout, and ``BEGIN IMMEDIATE`` for writers.

    A new database file is created readable and writable by its owner only (0600); SQLite gives
    its ``-wal`` and ``-shm`` companions the same mode. A read-only store opens the file with
    SQLite's ``mode=ro`` (nothing is ever written to it, not even the switch to WAL), or, when
    the user cannot write the file or its directory (an auditor's copy), ``immutable=1``, which
    needs neither ``-shm`` nor ``-wal``.
    """

    def __init__(self, path: str, *, read_only: bool) -> None:
        if path in ("", ":memory:") or path.startswith("file:"):
            raise StoreError(
                "an in-memory SQLite store is not supported: give a file path or sqlite:///path"
            )
        self.path = path
        self.url = f"sqlite:///{path}"
        self.read_only = read_only
        check_database_path(path, must_exist=read_only)
        self._companions_before = {c for c in _COMPANIONS if os.path.exists(path + c)}

    def create_engine(self) -> Engine:
        timeout = SQLITE_BUSY_TIMEOUT_MS / 1000
        if self.read_only:
            uri = _read_only_uri(self.path)
            engine = sa.create_engine(
                "sqlite://",
                creator=lambda: sqlite3.connect(
                    uri, uri=True, check_same_thread=False, timeout=timeout
                ),
            )
        else:
            self._refuse_a_foreign_file()
            _create_private(self.path)
            engine = sa.create_engine(
                self.url, connect_args={"check_same_thread": False, "timeout": timeout}
            )
        read_only = self.read_only

        @sa_event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
            # Take transaction control away from pysqlite; "begin" below emits our own BEGIN.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
                if not read_only:
                    _switch_to_wal(cursor)
                    cursor.execute(f"PRAGMA synchronous = {SQLITE_SYNCHRONOUS}")
            finally:
                cursor.close()

        @sa_event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine

    def _refuse_a_foreign_file(self) -> None:
        """Look at an existing file read-only before a writer touches it (even to switch it to
        WAL): another application's database is refused and left byte-for-byte as it was."""
        if not os.path.exists(self.path) or os.stat(self.path).st_size == 0:
            return
        uri = _read_only_uri(self.path)
        engine = sa.create_engine(
            "sqlite://", creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False)
        )
        try:
            with engine.connect() as conn:
                _found_version(conn, sole_owner=True)
        finally:
            engine.dispose()

    def prepare(self, engine: Engine, *, migrate: bool) -> tuple[int, int]:
        # BEGIN IMMEDIATE serialises concurrent first opens.
        with self.write(engine) as conn:
            return _prepare_schema(conn, sole_owner=True, migrate=migrate)

    def check_readable(self, engine: Engine) -> int:
        if os.stat(self.path).st_size == 0:
            raise StoreError("not an escrow ledger: the file is empty")
        with self.snapshot(engine) as conn:
            return _readable_version(conn, sole_owner=True)

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

    def tidy(self) -> None:
        """A read-only connection to a WAL database creates ``-wal`` and ``-shm`` files but cannot
        remove them. When this store created them (none was there at open) and may write the
        directory, one ordinary connection is opened and closed: as the last connection, SQLite
        checkpoints the empty log (writing nothing to the ledger) and removes both. With another
        connection open (a writer started meanwhile), it is not the last and removes nothing."""
        if not self.read_only or self._companions_before:
            return
        if not os.path.exists(self.path + "-wal"):
            return
        directory = os.path.dirname(os.path.abspath(self.path))
        if not (os.access(directory, os.W_OK) and os.access(self.path, os.W_OK)):
            return
        with contextlib.suppress(sqlite3.Error):
            tidier = sqlite3.connect(self.path, timeout=0)
            try:
                tidier.execute("SELECT count(*) FROM sqlite_master").fetchone()  # opens the log
            finally:
                tidier.close()


def _switch_to_wal(cursor: sqlite3.Cursor) -> None:
    """``PRAGMA journal_mode = WAL``, waiting as a writer would for the lock it needs.

    The switch takes an exclusive lock, and SQLite answers "database is locked" at once, without
    calling the busy handler, when another connection is switching the same new file too (several
    processes opening one new ledger). It is tried again, with a short random wait, until the busy
    timeout has passed; once the file is in WAL the statement only confirms it."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(_WAL_WAIT.uniform(0.001, 0.02))


_WAL_WAIT = random.Random()

_COMPANIONS = ("-wal", "-shm", "-journal")


def check_database_path(path: str, *, must_exist: bool) -> None:
    """A SQLite path must be a regular file (or, for a writer, not exist yet)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if must_exist:
            raise StoreError(f"no database at {path!r}") from None
        return
    except OSError as exc:
        raise StoreError(f"cannot use {path!r} as a database: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        kind = (
            "a directory"
            if stat.S_ISDIR(mode)
            else "a FIFO"
            if stat.S_ISFIFO(mode)
            else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "not a regular file"
        )
        raise StoreError(f"{path!r} is {kind}, not a database file")


def _create_private(path: str) -> None:
    """Create a missing database file readable and writable by its owner only (0600)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass  # another process created it first, or it was there: its mode is left alone
    except OSError as exc:
        raise StoreError(f"database error: cannot create {path!r}: {exc.strerror}") from None


def _read_only_uri(path: str) -> str:
    """A SQLite URI that opens ``path`` without ever writing to it."""
    absolute = os.path.abspath(path)
    directory = os.path.dirname(absolute)
    writable = os.access(absolute, os.W_OK) and os.access(directory, os.W_OK)
    # Without write access SQLite cannot create the -shm a WAL reader needs; immutable (no locks,
    # no -shm) reads a copy or a ledger at rest; a writer with other rights must not be running.
    option = "mode=ro" if writable else "mode=ro&immutable=1"
    return f"file:{urllib.parse.quote(absolute)}?{option}"


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

    def __init__(self, url: URL, *, read_only: bool) -> None:
        if not url.database:
            raise StoreError(
                "a PostgreSQL URL must name a database: postgresql://USER:PASSWORD@HOST/DBNAME"
            )
        self._engine_url = url.set(drivername="postgresql+psycopg")
        self.url = redact_url(self._engine_url)
        self.read_only = read_only

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
        engine = sa.create_engine(
            self._engine_url,
            connect_args=connect_args,
            # The write lock relies on a fresh snapshot per statement (see the class docstring),
            # whatever default_transaction_isolation the server has.
            isolation_level="READ COMMITTED",
        )
        if self.read_only:

            @sa_event.listens_for(engine, "connect")
            def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
                # Every transaction of a read-only store is READ ONLY: the server refuses writes.
                dbapi_connection.read_only = True

        return engine

    def tidy(self) -> None:
        pass  # a server keeps nothing beside the database

    def prepare(self, engine: Engine, *, migrate: bool) -> tuple[int, int]:
        current = sa.select(_meta.c.value).where(_meta.c.key == _META_VERSION_KEY)
        with engine.begin() as conn:
            if not migrate and conn.execute(sa.text("SELECT to_regclass('escrow_meta')")).scalar():
                version = conn.execute(current).scalar()
                if version == str(SCHEMA_VERSION):  # the usual open: nothing to create or lock
                    return SCHEMA_VERSION, SCHEMA_VERSION
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_SCHEMA_LOCK)))
            return _prepare_schema(conn, sole_owner=False, migrate=migrate)

    def check_readable(self, engine: Engine) -> int:
        with self.snapshot(engine) as conn:
            return _readable_version(conn, sole_owner=False)

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


# --- the store --------------------------------------------------------------------------------


Write = tuple[str, int, Sequence[Event]]
"""One stream's part of :meth:`EventStore.append_many`: (stream, expected_version, events)."""

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
        self.read_only = read_only
        with self._errors():
            self._engine = self._backend.create_engine()
            self._insert_sql = str(_INSERT_EVENT.compile(dialect=self._engine.dialect))
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
                with self._backend.write(self._engine) as conn:
                    self._tx, self._tx_recorded = conn, None
                    try:
                        yield conn
                    finally:
                        self._tx = self._tx_recorded = None
            except sa_exc.IntegrityError as exc:
                raise ConcurrencyError(
                    f"concurrent append refused by the store: {exc.orig}"
                ) from None

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """The open transaction's connection, or a fresh connection for one read."""
        self._check_open()
        if self._tx is not None:
            yield self._tx
            return
        with self._engine.connect() as conn:
            yield conn

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
        return _database_errors()

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
                with self._backend.write(self._engine) as conn:
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
        """Number, chain and insert the rows of ``batches`` (inside the write transaction)."""
        head = _P_HEAD_STATE(conn).first()
        if head is None:
            raise IntegrityError("the store has no chain head: it was not created by escrow")
        position, prev_hash = int(head[0]), str(head[1])
        head_recorded, head_peaks = head[2], head[3]
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
                request = requests.get(key)
                key_rows.append(
                    {
                        "key": key,
                        "first_position": first_position,
                        "last_position": position,
                        "request": request,
                    }
                )
                keys_written[key] = _as_duplicate(batch, request)
        if rows:
            self._insert(conn, rows)
            tree = self._grown_tree(conn, size_before, rows, _peaks_of(size_before, head_peaks))
            self._tree = (prev_hash, tree)
            _P_MOVE_HEAD(
                conn,
                {
                    "head_position": position,
                    "head_hash": prev_hash,
                    "head_recorded_at": recorded_at,
                    "head_peaks": _peaks_text(tree),
                },
            )
        _P_INSERT_KEY.many(conn, key_rows)
        return out

    def _grown_tree(
        self,
        conn: Connection,
        size: int,
        rows: list[tuple[Any, ...]],
        stored: merkle.CompactRange | None,
    ) -> merkle.CompactRange:
        """The tree's peaks once ``rows`` (following position ``size``) are added to it;
        ``stored``: the peaks the chain head keeps (None on a ledger from before them)."""
        cached = self._tree
        head = rows[0][-2]  # the prev_hash of the first new row: the head before the append
        tree = stored
        if cached is not None and cached[0] == head and cached[1].size == size:
            tree = cached[1]
        return _grow_tree(conn, size, [row[-1] for row in rows], tree)

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
        if len(streams) == 1:  # an act's usual append: one indexed lookup
            (stream,) = streams
            row = _P_STREAM_HEAD(conn, {"stream": stream}).first()
            return {stream: (int(row[0]), int(row[1]))} if row is not None else {}
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
        with self._errors(), self.connection() as conn:
            rows = _P_LOAD(conn, {"stream": stream, "after": after_version, "upto": upto}).all()
        return self._decoded(rows)

    def stream_version(self, stream: str) -> int:
        """The stream's current version: the number of its events (0 for an unknown stream)."""
        self._check_open()
        with self._errors(), self.connection() as conn:
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
        with self._errors(), self.connection() as conn:
            return self._key_result(conn, key)

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


# --- the Merkle tree's nodes -----------------------------------------------------------------

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


@functools.cache
def _insert_nodes_sql(dialect: sa.Dialect) -> str:
    return str(_tree_nodes.insert().compile(dialect=dialect))


def _insert_nodes(conn: Connection, rows: list[tuple[int, int, str]]) -> None:
    """One executemany straight to the driver, as for the event rows."""
    sql = _insert_nodes_sql(conn.dialect)
    if conn.dialect.positional:
        conn.exec_driver_sql(sql, rows)
    else:
        conn.exec_driver_sql(sql, [{"level": lv, "idx": i, "hash": h} for lv, i, h in rows])


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


# --- helpers ----------------------------------------------------------------------------------


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


def _as_duplicate(batch: BatchResult, request: str | None) -> BatchResult:
    """What a second delivery of ``batch``'s key is answered with."""
    return BatchResult(
        tuple(dataclasses.replace(r, duplicate=True) for r in batch.results),
        duplicate=True,
        request=request,
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
def _database_errors() -> Iterator[None]:
    """Turn database failures into StoreError (EscrowErrors pass through), secrets masked."""
    try:
        yield
    except sa_exc.SQLAlchemyError as exc:
        message = " ".join(str(getattr(exc, "orig", None) or exc).split())
        raise StoreError(f"database error: {redact_text(message)}") from exc
    except sqlite3.Error as exc:  # raised by a read-only connection's creator
        raise StoreError(f"database error: {exc}") from exc
