"""Cost follows the work: a query or an act on one contract reads no other contract's events.

Every SQL statement the ledger sends to its SQLite file is captured (SQLAlchemy's
``before_cursor_execute``); each one that reads the ``events`` table is run again on its own
connection to list the rows it read, and its query plan is checked to be an index search (a
``SCAN`` of the table would read every row, whatever the rows it returns).
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine

import escrow
from escrow.store import StoredEvent

START = dt.date(2025, 3, 1)


def _terms(n: int) -> escrow.ContractTerms:
    return escrow.ContractTerms(
        id=f"C{n}",
        filing_no=f"JZ-2025-{n:06d}",
        tenant=f"T{n}",
        enterprise="E1",
        start=START,
        end=dt.date(2026, 2, 28),
        monthly_rent=Decimal("3000.00"),
        deposit=Decimal("3000.00"),
    )


def _ledger_with_three_contracts(path: Path) -> None:
    """Three contracts, each with a deposit, 6 months' rent (3 released at once, then monthly)
    and five months of the clock: every contract's stream holds many events."""
    with escrow.open_ledger(path) as ledger:
        for n in (1, 2, 3):
            ledger.open_contract(_terms(n), on=START)
            ledger.pay_deposit(f"C{n}", "3000.00", on=START)
            ledger.pay_rent(f"C{n}", "18000.00", on=START)
        ledger.advance_to(dt.date(2025, 8, 10))


@contextmanager
def _statements(wanted: Callable[[str], bool] = lambda _: True) -> Iterator[list[str]]:
    """Every ``wanted`` statement SQLite runs, with its parameters inlined (``sqlite3``'s trace
    callback, installed on every connection opened inside the block)."""
    seen: list[str] = []

    def collect(statement: str) -> None:
        if wanted(statement):
            seen.append(statement)

    def trace(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_trace_callback(collect)

    sa_event.listen(Engine, "connect", trace)
    try:
        yield seen
    finally:
        sa_event.remove(Engine, "connect", trace)


def _reads_of_events() -> AbstractContextManager[list[str]]:
    """Every statement SQLite runs that reads the events table."""

    def reads_events(statement: str) -> bool:
        lowered = statement.lower()
        return lowered.lstrip().startswith("select") and bool(
            re.search(r"\bfrom events\b", lowered)
        )

    return _statements(reads_events)


def _streams_read(path: Path, statements: list[str]) -> dict[str, int]:
    """Run every captured statement again: the streams of the event rows it read, counted.

    Each is re-run selecting the rows' streams (aggregates are left out: they return no
    rows); every plan must search an index rather than scan the table."""
    counts: dict[str, int] = {}
    con = sqlite3.connect(path)
    try:
        for sql in statements:
            plan = " | ".join(row[-1] for row in con.execute("EXPLAIN QUERY PLAN " + sql))
            assert "SCAN events" not in plan, f"{sql!r} scans the events table: {plan}"
            parts = re.split(r"\sFROM events\b", sql, maxsplit=1)
            if len(parts) < 2 or "count(" in parts[0].lower():
                continue
            for (stream,) in con.execute("SELECT events.stream FROM events" + parts[1]):
                counts[stream] = counts.get(stream, 0) + 1
    finally:
        con.close()
    return counts


def test_a_query_on_one_contract_reads_none_of_the_other_contracts_events(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.db"
    _ledger_with_three_contracts(path)
    with _reads_of_events() as seen, escrow.open_ledger(path) as ledger:
        as_of = dt.date(2025, 6, 5)
        ledger.balances("C2", as_of=as_of)
        ledger.transfers("C2", as_of=as_of)
        ledger.deadlines("C2", as_of=as_of)
        ledger.balances("C2")
        c2_events = ledger.store.stream_version("contract:C2")
    read = _streams_read(path, seen)
    assert set(read) <= {"contract:C2", "ledger"}, read
    assert read["contract:C2"] >= c2_events  # the capture works: C2's history was read
    # C2's stream is read once by each query that folds it (the two as-of queries, and the
    # current balance, then cached), plus its last row for each lookup of its version.
    assert read["contract:C2"] <= 3 * c2_events + 3
    assert read["ledger"] == 1  # the configuration, by the open


def test_an_act_on_one_contract_reads_none_of_the_other_contracts_events(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.db"
    _ledger_with_three_contracts(path)
    with _reads_of_events() as seen, escrow.open_ledger(path) as ledger:
        # 08-10 is the clock's day and nothing else falls due on it: the act is C1's alone.
        ledger.pay_deposit("C1", "1.00", on=dt.date(2025, 8, 10))
    read = _streams_read(path, seen)
    assert set(read) <= {"contract:C1", "ledger"}, read
    assert "contract:C1" in read  # C1's state was loaded (a fresh process: nothing cached)


def test_opening_a_ledger_reads_its_configuration_and_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    _ledger_with_three_contracts(path)
    with escrow.open_ledger(path) as ledger:
        assert ledger.store.last_position() > 30  # the ledger is not trivially small (35)
    with _reads_of_events() as seen:
        escrow.open_ledger(path).close()
    read = _streams_read(path, seen)
    assert read == {"ledger": 1}, read  # the configuration: the ledger stream's first event


def test_a_day_s_ticks_are_appended_together_in_contract_order(tmp_path: Path) -> None:
    """Three contracts alike (the same terms, deposit and 6 months' rent, all on START) fall due
    on the same days. The clock decides each contract's tick on its own and appends a day's
    ticks together (up to ``TICKS_PER_APPEND`` contracts in one statement), in contract order:
    on every day the rows of C1 come before C2's, and C2's before C3's, as three appends in turn
    would have numbered them."""
    path = tmp_path / "ledger.db"
    inserts: list[str] = []  # one per statement sent (SQLite's trace shows each row of many)

    def sent(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.startswith("INSERT INTO events"):
            inserts.append(statement)

    sa_event.listen(Engine, "before_cursor_execute", sent)
    try:
        rows = _three_alike_advanced(path, inserts)
    finally:
        sa_event.remove(Engine, "before_cursor_execute", sent)
    days: dict[dt.date, list[str]] = {}
    for stored in rows:
        if stored.stream.startswith("contract:"):
            days.setdefault(stored.event.on, []).append(stored.stream)
    assert days, "something fell due between START and 2025-08-10"
    for day, streams in days.items():
        firsts = [streams.index(f"contract:C{n}") for n in (1, 2, 3)]
        lasts = [len(streams) - 1 - streams[::-1].index(f"contract:C{n}") for n in (1, 2, 3)]
        # each contract's rows of the day are together, and the contracts in id order
        assert firsts[0] <= lasts[0] < firsts[1] <= lasts[1] < firsts[2] <= lasts[2], (day, streams)
    # one insert per day something fell due, and one for the clock's own row at the end; not
    # one per contract and day (that would be 3 per day)
    assert 0 < len(inserts) <= len(days) + 1, (len(inserts), sorted(days))


def _three_alike_advanced(path: Path, inserts: list[str]) -> list[StoredEvent]:
    """C1, C2 and C3 opened alike on START, then the clock run to 2025-08-10; the rows it wrote
    (``inserts`` holds only the clock's statements)."""
    with escrow.open_ledger(path) as ledger:
        for n in (1, 2, 3):
            ledger.open_contract(_terms(n), on=START)
            ledger.pay_deposit(f"C{n}", "3000.00", on=START)
            ledger.pay_rent(f"C{n}", "18000.00", on=START)
        before = ledger.store.last_position()
        inserts.clear()
        ledger.advance_to(dt.date(2025, 8, 10))
        return ledger.store.read_all(after_position=before)


def _schedule_rows(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT key, due, rank, seq FROM rm_schedule ORDER BY key").fetchall()


def _open_three_with_rent(ledger: escrow.Ledger) -> None:
    for n in (1, 2, 3):
        ledger.open_contract(_terms(n), on=START)
        ledger.pay_deposit(f"C{n}", "3000.00", on=START)
        ledger.pay_rent(f"C{n}", "18000.00", on=START)


def test_a_unit_of_work_asks_the_schedule_once_for_a_day_it_found_clear(tmp_path: Path) -> None:
    """Nine acts on START in one unit of work: the first runs the clock to START and finds
    nothing due; the eight after it write only due days after START (the rent's releases fall
    on 2025-03-03, the Monday after), so the clock need not ask again. Acted one transaction
    each, every act asks (another writer may have moved the schedule between them). The
    schedule's rows come out the same either way."""
    def reads_of_schedule() -> AbstractContextManager[list[str]]:
        return _statements(lambda s: s.startswith("SELECT") and "rm_schedule" in s)

    unit_db = tmp_path / "unit.db"
    with reads_of_schedule() as unit_reads, escrow.open_ledger(unit_db) as ledger, ledger.unit_of_work():
        _open_three_with_rent(ledger)
    with reads_of_schedule() as single_reads, escrow.open_ledger(tmp_path / "acts.db") as ledger:
        _open_three_with_rent(ledger)
    assert len(unit_reads) == 1, unit_reads
    assert len(single_reads) == 9, single_reads
    rows = _schedule_rows(tmp_path / "unit.db")
    assert rows == _schedule_rows(tmp_path / "acts.db")
    # each contract's next due day: its rent's first release, 2025-03-03
    assert [(key, due) for key, due, _, _ in rows] == [
        (f"contract:C{n}", "2025-03-03") for n in (1, 2, 3)
    ]


def test_a_due_day_written_in_the_unit_is_run_by_the_next_act_after_it(tmp_path: Path) -> None:
    """The unit knows START is clear; the rents write a due day (2025-03-03, the Monday on which
    the releases instructed on START are executed) that the next act, on 2025-03-04, must run
    first: the executions are in the ledger before the act, as when each act is its own
    transaction."""
    with escrow.open_ledger(tmp_path / "unit.db") as ledger, ledger.unit_of_work():
        _open_three_with_rent(ledger)
        ledger.pay_deposit("C1", "100.00", on=dt.date(2025, 3, 4))
        unit = [(s.stream, s.event.type, s.event.on) for s in ledger.store.read_all()]
    with escrow.open_ledger(tmp_path / "acts.db") as ledger:
        _open_three_with_rent(ledger)
        ledger.pay_deposit("C1", "100.00", on=dt.date(2025, 3, 4))
        acts = [(s.stream, s.event.type, s.event.on) for s in ledger.store.read_all()]
    assert unit == acts
    executed = [row for row in unit if row[1] == "payout_executed"]
    assert {row[0] for row in executed} == {"contract:C1", "contract:C2", "contract:C3"}
    assert {row[2] for row in executed} == {dt.date(2025, 3, 3)}
    # the clock's ticks of 2025-03-03 come before the act of 2025-03-04
    act = [n for n, row in enumerate(unit) if row[2] == dt.date(2025, 3, 4)]
    assert act and max(unit.index(row) for row in executed) < min(act)
