"""The PostgreSQL backend: several processes or hosts, through psycopg 3, appends serialised by
``LOCK TABLE events IN EXCLUSIVE MODE`` (see :class:`_PostgresBackend`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.pool import ConnectionPoolEntry

from escrow.errors import StoreError
from escrow.redaction import redact_url
from escrow.store.schema import (
    _META_VERSION_KEY,
    SCHEMA_VERSION,
    _meta,
    _prepare_schema,
    _readable_version,
)

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
    def write(self, conn: Connection) -> Iterator[Connection]:
        with conn.begin():
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
