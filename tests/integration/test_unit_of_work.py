"""Ledger.unit_of_work: many acts, one transaction, on a real SQLite file."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from decimal import Decimal
from pathlib import Path

import pytest

import escrow
from escrow.audit import audit
from escrow.clock import BEIJING, FixedClock
from escrow.errors import RuleViolation
from escrow.service import CODEC
from escrow.store import open_store

START = dt.date(2025, 6, 20)  # a Friday, a working day


def terms(cid: str, filing: str) -> escrow.ContractTerms:
    return escrow.ContractTerms(
        id=cid,
        filing_no=filing,
        tenant="T1",
        enterprise="E1",
        start=START,
        end=dt.date(2026, 6, 19),
        monthly_rent=Decimal("4000.00"),
        deposit=Decimal("4000.00"),
    )


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=BEIJING)


def acts(ledger: escrow.Ledger, clock: FixedClock) -> None:
    """Open C1, pay its deposit and 6 months' rent, run to 2025-08-20, moving the wall clock."""
    ledger.open_contract(terms("C1", "JZ-1"), on=START)
    clock.set(at(START, 13))
    ledger.pay_deposit("C1", Decimal("4000.00"), on=START)
    clock.set(at(START, 14))
    ledger.pay_rent("C1", Decimal("24000.00"), on=START)
    clock.set(at(START, 15))
    ledger.advance_to(dt.date(2025, 8, 20))


def recorded(path: Path) -> list[str]:
    with sqlite3.connect(path) as con:
        return [r[0] for r in con.execute("SELECT recorded_at FROM events ORDER BY position")]


def test_a_unit_commits_once_and_ends_where_acting_one_by_one_ends(tmp_path: Path) -> None:
    one_by_one, in_unit = tmp_path / "a.db", tmp_path / "b.db"
    clock = FixedClock(at(START, 12))
    with escrow.open_ledger(str(one_by_one), clock=clock) as ledger:
        acts(ledger, clock)
        expected_transfers = ledger.transfers()
        expected_balance = ledger.balances("C1")
    clock = FixedClock(at(START, 12))
    with escrow.open_ledger(str(in_unit), clock=clock) as ledger:
        with ledger.unit_of_work():
            acts(ledger, clock)
            assert recorded(in_unit)[1:] == []  # nothing but the configuration is written yet
        assert ledger.transfers() == expected_transfers
        assert ledger.balances("C1") == expected_balance
        entries = ledger.entries()

    # Rent 24,000 > 3 months (Art. 13): all supervised; 12,000 released on arrival, then one
    # month (4,000) on 07-20 and on 08-20 -> 4,000.00 still held on 08-20.
    assert expected_balance.rent.principal == Decimal("4000.00")
    assert expected_balance.deposit.principal == Decimal("4000.00")
    # One by one: one recorded time per act (12:00, 13:00, 14:00, 15:00 Beijing). In the unit:
    # every row carries the one time of its transaction, taken at its first append (the
    # opening, 12:00 Beijing = 04:00 UTC), and so do the entries.
    assert len(set(recorded(one_by_one)[1:])) == 4
    unit_times = set(recorded(in_unit)[1:])
    assert unit_times == {"2025-06-20T04:00:00.000000+00:00"}
    assert {e.recorded_at for e in entries[1:]} == {at(START, 12)}
    with open_store(str(in_unit), CODEC) as store:
        assert audit(store).ok


def test_a_unit_that_raises_writes_nothing_and_forgets_its_acts(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with escrow.open_ledger(str(path), clock=FixedClock(at(START))) as ledger:
        ledger.open_contract(terms("C1", "JZ-1"), on=START)
        written = ledger.store.last_position()

        with pytest.raises(RuntimeError, match="power cut"), ledger.unit_of_work():
            ledger.pay_deposit("C1", Decimal("4000.00"), on=START)
            assert ledger.balances("C1").deposit.principal == Decimal("4000.00")  # seen inside
            raise RuntimeError("power cut")

        assert ledger.store.last_position() == written
        assert ledger.balances("C1").deposit.principal == Decimal("0.00")
        ledger.pay_deposit("C1", Decimal("4000.00"), on=START)  # the fold goes on from the store
        assert ledger.balances("C1").deposit.principal == Decimal("4000.00")


def test_a_refused_act_inside_a_unit_leaves_the_others(tmp_path: Path) -> None:
    with escrow.open_ledger(str(tmp_path / "l.db"), clock=FixedClock(at(START))) as ledger:
        with ledger.unit_of_work():
            ledger.open_contract(terms("C1", "JZ-1"), on=START)
            ledger.pay_deposit("C1", Decimal("4000.00"), on=START)
            with pytest.raises(RuleViolation):
                # Art. 11: nothing to propose on before the home is returned.
                ledger.propose_refund("C1", "deposit", [], on=START)
            ledger.pay_deposit("C1", Decimal("100.00"), on=START)

        # 4,000 + 100 (an excess payment is recorded and held, rule 1).
        assert ledger.balances("C1").deposit.principal == Decimal("4100.00")
        reopened = escrow.open_ledger(str(tmp_path / "l.db"), clock=FixedClock(at(START)))
        assert reopened.balances("C1") == ledger.balances("C1")
        reopened.close()


def test_a_key_delivered_twice_inside_a_unit_and_again_after_it_is_done_once(
    tmp_path: Path,
) -> None:
    with escrow.open_ledger(str(tmp_path / "l.db"), clock=FixedClock(at(START))) as ledger:
        ledger.open_contract(terms("C1", "JZ-1"), on=START)
        with ledger.unit_of_work():
            ledger.pay_deposit("C1", Decimal("4000.00"), on=START, idempotency_key="bank-7")
            ledger.pay_deposit("C1", Decimal("4000.00"), on=START, idempotency_key="bank-7")
        ledger.pay_deposit("C1", Decimal("4000.00"), on=START, idempotency_key="bank-7")

        assert ledger.balances("C1").deposit.principal == Decimal("4000.00")  # not 8,000/12,000
        assert ledger.store.idempotency_result("bank-7") is not None


def test_another_writer_waits_for_the_unit_and_then_acts_on_what_it_wrote(
    tmp_path: Path,
) -> None:
    """A unit holds the store's write lock from its first act to its commit: another writer (a
    thread here, with its own connection) waits, then decides on the unit's committed acts."""
    path = str(tmp_path / "l.db")
    clock = FixedClock(at(START))
    with (
        escrow.open_ledger(path, clock=clock) as mine,
        escrow.open_ledger(path, clock=clock) as other,
    ):
        mine.open_contract(terms("C1", "JZ-1"), on=START)
        other.balances("C1")  # C1 cached by the other writer at its opening
        done: list[escrow.Receipt] = []
        waiter = threading.Thread(
            target=lambda: done.append(other.pay_deposit("C1", Decimal("50.00"), on=START))
        )
        with mine.unit_of_work():
            mine.pay_deposit("C1", Decimal("4000.00"), on=START)
            waiter.start()
            waiter.join(timeout=1.0)
            assert waiter.is_alive() and not done  # waiting for the lock
            mine.open_contract(terms("C2", "JZ-2"), on=START)
        waiter.join(timeout=30)
        assert done and not done[0].duplicate
        # 4,000.00 (mine, first) + 50.00 (the other's, decided after mine committed).
        assert mine.balances("C1").deposit.principal == Decimal("4050.00")
        assert mine.contract_ids() == ["C1", "C2"]
        lots = [t.principal for t in mine.transfers("C1") if t.kind == "payment_in"]
        assert lots == [Decimal("4000.00"), Decimal("50.00")]
        assert audit(mine.store).ok
