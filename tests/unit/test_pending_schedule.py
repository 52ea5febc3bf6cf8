"""The schedule rows a transaction collects (``readstore.Pending``), and what it knows is clear."""

from __future__ import annotations

import datetime as dt

from escrow.store.readstore import Pending

DAY = dt.date(2025, 3, 10)
RECORDED = "2025-03-10T08:00:00.000000+00:00"


def test_a_due_day_after_the_clear_day_leaves_it_clear() -> None:
    pending = Pending(clear_until=DAY)
    pending.set_due("C1", DAY + dt.timedelta(days=1), RECORDED)
    pending.set_due("C2", None, RECORDED)
    assert pending.clear_until == DAY


def test_a_due_day_on_or_before_the_clear_day_makes_the_day_before_it_the_last_clear() -> None:
    pending = Pending(clear_until=DAY)
    pending.set_due("C1", DAY, RECORDED)
    assert pending.clear_until == DAY - dt.timedelta(days=1)
    pending.due_from(DAY - dt.timedelta(days=5))  # a notice to the authority
    assert pending.clear_until == DAY - dt.timedelta(days=6)


def test_nothing_known_stays_unknown() -> None:
    pending = Pending()
    pending.set_due("C1", DAY, RECORDED)
    assert pending.clear_until is None


def test_a_contract_s_last_due_day_of_the_transaction_is_the_one_written() -> None:
    pending = Pending()
    pending.set_due("C1", DAY, RECORDED)
    pending.set_due("C1", None, RECORDED)
    pending.set_due("C2", None, RECORDED)
    pending.set_due("C2", DAY, RECORDED)
    assert pending.dues == {
        "contract:C1": None,
        "contract:C2": ("contract:C2", "2025-03-10", 1, 0, RECORDED),
    }
    assert pending  # rows to write
