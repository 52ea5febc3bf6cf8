"""The store contract on SQLite files, plus what only SQLite does (pragmas, URLs, file locks)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from store_contract import T0, StoreContract
from store_events import CODEC, deposit

from escrow.clock import FixedClock
from escrow.errors import StoreError
from escrow.store import EventStore, open_store

SQLITE = "sqlite:///"


def _path(url: str) -> str:
    return url.removeprefix(SQLITE)


class TestSqliteStore(StoreContract):
    """Every contract test, on a fresh SQLite file per test."""

    def make_url(self, tmp_path: Path) -> str:
        return f"{SQLITE}{tmp_path / 'events.db'}"

    def execute_raw(
        self, url: str, sql: str, params: Sequence[object] = ()
    ) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(_path(url), timeout=30)) as con, con:
            return con.execute(sql, tuple(params)).fetchall()


# --- SQLite only ------------------------------------------------------------------------------


def test_a_plain_path_opens_a_sqlite_file_and_the_url_says_so(tmp_path: Path) -> None:
    path = tmp_path / "plain.db"

    with open_store(str(path), CODEC) as store:
        store.append("A", 0, [deposit(1)])
        assert store.url == f"{SQLITE}{path}"

    with open_store(f"{SQLITE}{path}", CODEC) as same:
        assert [s.event for s in same.load("A")] == [deposit(1)]
    assert path.exists()


def test_the_store_class_and_the_factory_open_the_same_file(tmp_path: Path) -> None:
    url = f"{SQLITE}{tmp_path / 'x.db'}"
    with EventStore(url, CODEC) as store:
        store.append("A", 0, [deposit(1)])

    with open_store(url, CODEC) as again:
        assert again.stream_version("A") == 1


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg2://user:secret@localhost/escrow",
        "mysql://localhost/escrow",
        "not a url://x",
    ],
)
def test_an_unsupported_database_url_is_refused_with_a_store_error(url: str) -> None:
    with pytest.raises(StoreError, match="unsupported database URL") as caught:
        open_store(url, CODEC)

    assert "secret" not in str(caught.value)


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", ":memory:"])
def test_an_in_memory_sqlite_store_is_refused(url: str) -> None:
    with pytest.raises(StoreError, match="in-memory"):
        open_store(url, CODEC)


def test_a_store_in_a_missing_directory_raises_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="database error"):
        open_store(str(tmp_path / "no" / "such" / "dir.db"), CODEC)


def test_connections_use_wal_a_busy_timeout_and_full_sync(tmp_path: Path) -> None:
    path = tmp_path / "pragmas.db"
    with open_store(str(path), CODEC) as store, store._engine.connect() as conn:
        pragmas = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "busy_timeout", "synchronous")
        }

    assert pragmas == {"journal_mode": "wal", "busy_timeout": 30_000, "synchronous": 2}  # 2 = FULL


def test_an_append_waits_for_a_writer_holding_the_lock_instead_of_failing(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    store = open_store(str(path), CODEC, FixedClock(T0))
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO idempotency_keys (key, first_position, last_position) VALUES ('held', 0, 0)")
    released = threading.Timer(0.5, lambda: holder.execute("ROLLBACK"))
    try:
        released.start()
        started = time.monotonic()
        result = store.append("A", 0, [deposit(1)])
        waited = time.monotonic() - started
    finally:
        released.join()
        holder.close()
        store.close()

    assert waited >= 0.4
    assert (result.first_position, result.last_version) == (1, 1)


def test_the_write_transaction_is_begin_immediate(tmp_path: Path) -> None:
    path = tmp_path / "immediate.db"
    seen: list[str] = []
    with open_store(str(path), CODEC) as store:

        @event.listens_for(store._engine, "before_cursor_execute")
        def _log(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            seen.append(statement)

        store.append("A", 0, [deposit(1)])
        store.load("A")

    assert "BEGIN IMMEDIATE" in seen
    assert seen.count("BEGIN IMMEDIATE") == 1  # the append's: the read does not take the lock
    assert seen.index("BEGIN IMMEDIATE") < next(i for i, s in enumerate(seen) if "INSERT" in s)
