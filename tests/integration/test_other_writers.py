"""A ledger's cached states when another ledger writes to the same database.

Inside a transaction a ledger uses a cached state without reading its stream again only while
nobody else has appended since its own last commit (it compares the chain head with the one its
last commit left). Two ledgers on one SQLite file stand for two processes: each has its own
connections and its own cache. A state used stale would still be caught by the store's check of
the stream's version (a conflict, retried): so the tests also ask that no conflict was retried.

C1 and C2 are the terms of ``test_one_contract_at_a_time._terms`` (a deposit of 3,000.00); their
deposits are paid in lots of 1,000.00, each held in custody whole (Art. 8), so what custody holds
is 1,000.00 times the lots paid.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from test_one_contract_at_a_time import START, _statements, _terms

import escrow

ON = START  # 2025-03-01, the day C1 and C2 start
LOT = "1000.00"


def _loads_of(seen: list[str], contract: str) -> int:
    """How many statements read rows of the contract's stream (its head aside)."""
    stream = f"'contract:{contract}'"
    return sum(1 for s in seen if s.startswith("SELECT events.position") and stream in s)


def test_a_lot_paid_through_another_ledger_is_seen_after_this_one_wrote_elsewhere(
    tmp_path: Path,
) -> None:
    """A caches C1 and C2; B pays a lot of C1's deposit; A pays one of C2's (its transaction
    finds the chain head moved: what it has cached is checked before use); then A pays one of
    C1's. By then the head is where A's own commit left it, but A's C1 is from before B's lot:
    A must read C1's stream again, not trust it."""
    path = tmp_path / "ledger.db"
    with escrow.open_ledger(path) as a:
        for n in (1, 2):
            a.open_contract(_terms(n), on=ON)
            a.pay_deposit(f"C{n}", LOT, on=ON)
        with escrow.open_ledger(path) as b:
            b.pay_deposit("C1", LOT, on=ON)
        a.pay_deposit("C2", LOT, on=ON)
        a.pay_deposit("C1", LOT, on=ON)
        assert a.balances("C1").deposit.principal == Decimal("3000.00")  # 3 lots: A, B, A
        assert a.balances("C2").deposit.principal == Decimal("2000.00")  # 2 lots, both A's
        assert a.conflicts_retried == 0
        assert a.store.verify().ok
    with escrow.open_ledger(path) as fresh:  # folded from the database alone
        assert fresh.balances("C1").deposit.principal == Decimal("3000.00")
        assert fresh.balances("C2").deposit.principal == Decimal("2000.00")


def test_a_ledger_alone_reads_no_stream_it_has_cached_and_reads_it_after_another_wrote(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.db"
    with _statements() as seen, escrow.open_ledger(path) as a:  # every connection traced
        a.open_contract(_terms(1), on=ON)
        a.pay_deposit("C1", LOT, on=ON)
        seen.clear()
        a.pay_deposit("C1", LOT, on=ON)  # nobody else wrote: C1 as cached
        alone = _loads_of(seen, "C1")
        with escrow.open_ledger(path) as b:
            b.pay_deposit("C1", LOT, on=ON)
        seen.clear()
        a.pay_deposit("C1", "0.01", on=ON)  # B wrote: C1's stream read after A's version
        after_b = _loads_of(seen, "C1")
        assert a.balances("C1").deposit.principal == Decimal("3000.01")  # 3 lots and 0.01
        assert a.conflicts_retried == 0
    assert alone == 0
    assert after_b == 1
