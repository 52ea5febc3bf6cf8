"""What a write transaction keeps for itself: the chain head, the streams' heads, unused keys.

Inside :meth:`EventStore.transaction` the store holds the append lock, so nobody else moves the
chain head or a stream: the transaction asks for each once, keeps them as its appends move them
and writes the chain head once, before it commits. These tests check that what is kept is what
the database says after the commit (or before it, after a rollback), that the checks that use
it still refuse what they refused, and that an act sends fewer statements for it. The store also
keeps the connection its write transactions run on, from one to the next.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import event as sa_event
from store_events import CODEC, NoteTaken
from test_one_contract_at_a_time import START, _statements, _terms

import escrow
from escrow.errors import ConcurrencyError
from escrow.store import EventStore, open_store

ON = START  # 2025-03-01: the day C1 (test_one_contract_at_a_time._terms) starts


def _note(text: str) -> NoteTaken:
    return NoteTaken(on=ON, text=text)


def _text(event: object) -> str:
    assert isinstance(event, NoteTaken)
    return event.text


def _head(path: Path) -> tuple[int, str]:
    con = sqlite3.connect(path)
    try:
        position, digest = con.execute("SELECT position, hash FROM chain_head").fetchone()
        last = con.execute("SELECT hash FROM events ORDER BY position DESC LIMIT 1").fetchone()
    finally:
        con.close()
    assert last is not None and last[0] == digest, "the chain head names the last row"
    return int(position), str(digest)


def test_a_unit_of_appends_leaves_the_chain_head_on_its_last_row(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with open_store(str(path), CODEC) as store:
        store.append("a", 0, [_note("a1")])
        with store.transaction():
            store.append("a", 1, [_note("a2"), _note("a3")])
            store.append("b", 0, [_note("b1")])
            store.append("a", 3, [_note("a4")])
        # 1 + 2 + 1 + 1 rows: the head is on position 5, the hash of the row there
        assert _head(path)[0] == 5
        assert store.verify().ok
        store.append("b", 1, [_note("b2")])  # an append after the unit goes on from its head
        assert store.verify().ok
    assert _head(path)[0] == 6


def test_a_rolled_back_unit_leaves_the_chain_head_where_it_was(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with open_store(str(path), CODEC) as store:
        store.append("a", 0, [_note("a1")])
        before = _head(path)
        with pytest.raises(RuntimeError), store.transaction():
            store.append("a", 1, [_note("a2")])
            store.append("b", 0, [_note("b1")])
            raise RuntimeError("the unit fails")
        assert _head(path) == before
        # The store's own peaks of the rolled-back rows must not be reused: the next rows are
        # other rows at the same positions.
        store.append("c", 0, [_note("c1"), _note("c2")])
        assert store.verify().ok
    assert _head(path)[0] == 3


def test_a_kept_stream_head_still_refuses_a_stale_expected_version(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with open_store(str(path), CODEC) as store:
        store.append("a", 0, [_note("a1")])
        with pytest.raises(ConcurrencyError), store.transaction():
            assert [e.version for e in store.load("a")] == [1]  # read to its end: kept
            store.append("a", 1, [_note("a2")])  # kept as version 2 now
            store.append("a", 1, [_note("again")])  # stale: the stream is at 2
        assert [_text(e.event) for e in store.load("a")] == ["a1"]  # nothing of the unit
        with pytest.raises(ConcurrencyError), store.transaction():
            store.append("a", 2, [_note("ahead")])  # a version the stream is not at
        assert store.stream_version("a") == 1


def test_load_after_a_version_inside_a_transaction_returns_only_the_later_events(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    with open_store(str(path), CODEC) as store:
        store.append("a", 0, [_note("a1"), _note("a2"), _note("a3")])
        with store.transaction():
            assert [_text(e.event) for e in store.load("a", after_version=1)] == ["a2", "a3"]
            assert store.load("a", after_version=3) == []
            assert store.stream_version("a") == 3
            store.append("a", 3, [_note("a4")])
        assert [e.version for e in store.load("a", after_version=2)] == [3, 4]


def test_a_key_found_unused_in_a_transaction_is_still_stored_once(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with open_store(str(path), CODEC) as store:
        with store.transaction():
            assert store.delivered("k1") is None  # unused: kept as such
            first = store.append_many([("a", 0, [_note("a1")])], idempotency_key="k1")
            again = store.append_many([("a", 1, [_note("a2")])], idempotency_key="k1")
        assert not first.duplicate and again.duplicate
        assert again.first_position == first.first_position == 1
        assert [_text(e.event) for e in store.load("a")] == ["a1"]
        assert store.verify().ok


# --- what an act sends ------------------------------------------------------------------------


def test_a_rent_payment_reads_the_chain_head_once_and_writes_it_once(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with _statements() as seen, escrow.open_ledger(path) as ledger:
        ledger.open_contract(_terms(1), on=ON)  # C1, starting on ON
        ledger.pay_deposit("C1", "3000.00", on=ON)
        seen.clear()
        ledger.pay_rent("C1", "3000.00", on=ON)
        act = [" ".join(s.split()) for s in seen if not s.startswith("PRAGMA")]
    begin = act.index("BEGIN IMMEDIATE")
    act = act[begin:]
    assert act[-1] == "COMMIT"

    def count(pattern: str) -> int:
        return sum(1 for s in act if re.search(pattern, s, re.IGNORECASE))

    assert count(r"^SELECT .* FROM chain_head") == 1
    assert count(r"^UPDATE chain_head") == 1
    assert count(r"FROM rm_ledger") == 1  # the clock read once, and not raised to its own day
    assert count(r"^INSERT INTO rm_ledger") == 0
    # C1's state is cached and nobody else wrote since this ledger's last commit: its stream is
    # not read again, nor its head (the store knows it from that commit, the chain head being
    # where the commit left it) for the store's check of its version.
    assert count(r"FROM events\b.*max\(") == 0
    assert count(r"^SELECT events\.position") == 0
    assert count(r"^DELETE FROM rm_held") == 0  # held is one upsert
    assert count(r"^INSERT INTO rm_held") == 1
    assert count(r"^INSERT INTO events") == 1


def _checkouts(store: object) -> list[object]:
    """The DBAPI connections the store's pool hands out from now on, in order."""
    handed: list[object] = []
    engine = store._engine  # type: ignore[attr-defined]
    sa_event.listen(engine, "checkout", lambda dbapi, _rec, _proxy: handed.append(dbapi))
    return handed


def test_write_transactions_run_on_one_kept_connection(tmp_path: Path) -> None:
    with open_store(str(tmp_path / "s.db"), CODEC) as store:
        handed = _checkouts(store)
        for n in range(5):
            with store.transaction():
                store.append("A", n, [_note(f"n{n}")])
        # The first transaction takes a connection from the pool and keeps it; the next four
        # run on it (a checkout each would be 5).
        assert len(handed) == 1
        assert [_text(s.event) for s in store.load("A")] == [f"n{n}" for n in range(5)]


class _Refused(Exception):
    """An exception of the caller's own code (a rule that refuses an act), not the database's."""


def _refused_by_the_store(store: EventStore) -> None:
    store.append("A", 1, [_note("stale")])  # version 1 is taken: ConcurrencyError


def _refused_by_the_caller(_store: EventStore) -> None:
    raise _Refused("the caller's rule says no")


@pytest.mark.parametrize(
    ("refuse", "error", "checkouts"),
    [
        # the database refused: the connection is closed, the next transaction takes another
        (_refused_by_the_store, ConcurrencyError, 1),
        # the caller refused: rolled back cleanly, the connection is kept
        (_refused_by_the_caller, _Refused, 0),
    ],
)
def test_a_failed_transaction_s_connection_is_replaced_only_when_the_database_failed(
    tmp_path: Path,
    refuse: Callable[[EventStore], None],
    error: type[Exception],
    checkouts: int,
) -> None:
    path = tmp_path / "s.db"
    with open_store(str(path), CODEC) as store:
        with store.transaction():
            store.append("A", 0, [_note("kept")])
        handed = _checkouts(store)
        with pytest.raises(error), store.transaction():
            store.append("A", 1, [_note("lost")])
            refuse(store)
        with store.transaction():
            store.append("A", 1, [_note("after")])
        assert len(handed) == checkouts
        assert [_text(s.event) for s in store.load("A")] == ["kept", "after"]
        assert store.verify().ok
    assert _head(path)[0] == 2


def test_a_refused_act_forgets_only_the_states_it_cached(tmp_path: Path) -> None:
    """C2's state, cached before a refused act on C1, is still used: C2's next act reads its
    stream once, after the cached version (after a failed transaction every cached state is
    checked once more), and not its kept state (which it would read had the refusal dropped
    every cached state)."""
    path = tmp_path / "ledger.db"
    with _statements() as seen, escrow.open_ledger(path) as ledger:  # every connection traced
        for n in (1, 2):
            ledger.open_contract(_terms(n), on=ON)
            ledger.pay_deposit(f"C{n}", "3000.00", on=ON)
        with pytest.raises(escrow.errors.NoRefundWorkflow):  # C1's home was not returned
            ledger.resolve("C1", "deposit", via="mediation", to_tenant="1.00",
                           to_enterprise="0.00", on=ON)  # fmt: skip
        seen.clear()
        ledger.pay_rent("C2", "3000.00", on=ON)
        reads = [s for s in seen if re.search(r"FROM (rm_states|events)\b", s)]
        assert not any("rm_states" in s for s in reads), reads
        assert len([s for s in reads if "FROM events" in s]) == 1, reads


def test_a_second_thread_writing_while_the_kept_connection_is_busy_uses_the_pool(
    tmp_path: Path,
) -> None:
    """Threads sharing one store append at once (each append its own transaction): one runs on
    the kept connection, the other on one from the pool; SQLite's lock puts them in turn."""
    with open_store(str(tmp_path / "s.db"), CODEC) as store:
        inside, release = threading.Event(), threading.Event()
        errors: list[BaseException] = []

        def hold() -> None:
            try:
                with store._writing() as conn:  # the kept connection, held open
                    inside.set()
                    release.wait(timeout=30)
                    conn.exec_driver_sql("SELECT 1")
            except BaseException as exc:
                errors.append(exc)

        holder = threading.Thread(target=hold)
        holder.start()
        assert inside.wait(timeout=30)
        handed = _checkouts(store)
        writer = threading.Thread(target=lambda: store.append("B", 0, [_note("b")]))
        writer.start()  # waits on SQLite's write lock, on a pooled connection
        release.set()
        holder.join(timeout=30)
        writer.join(timeout=30)
        assert errors == []
        assert len(handed) == 1
        assert [_text(s.event) for s in store.load("B")] == ["b"]
