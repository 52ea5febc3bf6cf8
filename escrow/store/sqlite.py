"""The SQLite backend: one file on one machine, WAL, and ``BEGIN IMMEDIATE`` for writers."""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import stat
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import ConnectionPoolEntry

from escrow.errors import StoreError
from escrow.store.prepared import run_plain
from escrow.store.schema import _found_version, _prepare_schema, _readable_version

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
            run_plain(conn, f"BEGIN {mode}")  # on the driver's cursor: once per transaction

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
        with engine.connect() as conn, self.write(conn):
            return _prepare_schema(conn, sole_owner=True, migrate=migrate)

    def check_readable(self, engine: Engine) -> int:
        if os.stat(self.path).st_size == 0:
            raise StoreError("not an escrow ledger: the file is empty")
        with self.snapshot(engine) as conn:
            return _readable_version(conn, sole_owner=True)

    @contextmanager
    def write(self, conn: Connection) -> Iterator[Connection]:
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
