"""An act delivered again with its idempotency key is done once (the ledger API's promise).

Every kind of act is delivered, then delivered again at once with the same key and the same
arguments; and, in a last test, every one of them is delivered once more after the ledger's
clock has moved past them all. The repeated deliveries write nothing: the real SQLite file holds
as many events as before, and the run report is unchanged. (The store's unique key would refuse
a duplicate row too; the ledger must recognise the key before it decides, or an act such as a
return or an opinion is decided again and refused as a repeat instead of being a quiet no-op.)
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import pytest

from escrow.domain.terms import ContractTerms
from escrow.report import build_report
from escrow.service import Ledger

D = Decimal
d = dt.date


def _terms(id: str, tenant: str) -> ContractTerms:
    # Rented from E1, 2025-06-01..2026-05-31, 5,000.00 a month, deposit 5,000.00.
    return ContractTerms(
        id=id,
        filing_no=f"JZ-{id}",
        tenant=tenant,
        enterprise="E1",
        start=d(2025, 6, 1),
        end=d(2026, 5, 31),
        monthly_rent=D("5000.00"),
        deposit=D("5000.00"),
    )


Act = Callable[[Ledger, str], object]
"""An act delivered with an idempotency key (the second argument)."""

# Two contracts of enterprise E1: C1's deposit refund is agreed (300.00 deducted), C2's is
# disputed and mediated (1,000.00 deducted, split 400.00 / 600.00). In date order.
ACTS: list[tuple[str, Act]] = [
    ("open-C1", lambda x, k: x.open_contract(_terms("C1", "T1"), on=d(2025, 6, 1), idempotency_key=k)),
    ("open-C2", lambda x, k: x.open_contract(_terms("C2", "T2"), on=d(2025, 6, 1), idempotency_key=k)),
    ("deposit-C1", lambda x, k: x.pay_deposit("C1", D("5000.00"), on=d(2025, 6, 3), idempotency_key=k)),
    ("deposit-C2", lambda x, k: x.pay_deposit("C2", D("5000.00"), on=d(2025, 6, 3), idempotency_key=k)),
    ("rent-C1", lambda x, k: x.pay_rent("C1", D("30000.00"), on=d(2025, 6, 3), idempotency_key=k)),
    ("suspension", lambda x, k: x.suspend_releases("E1", on=d(2025, 6, 10), idempotency_key=k)),
    ("resumption", lambda x, k: x.resume_releases("E1", on=d(2025, 6, 17), idempotency_key=k)),
    ("account-change", lambda x, k: x.change_account("custody", "B2", on=d(2025, 6, 20), idempotency_key=k)),
    ("return-C1", lambda x, k: x.return_home("C1", on=d(2025, 9, 30), idempotency_key=k)),
    ("return-C2", lambda x, k: x.return_home("C2", on=d(2025, 9, 30), idempotency_key=k)),
    ("opinion-C1", lambda x, k: x.propose_refund("C1", "deposit", [("cleaning", D("300.00"))], on=d(2025, 10, 10), idempotency_key=k)),
    ("opinion-C2", lambda x, k: x.propose_refund("C2", "deposit", [("repairs", D("1000.00"))], on=d(2025, 10, 10), idempotency_key=k)),
    ("agree-C1", lambda x, k: x.tenant_agree("C1", "deposit", on=d(2025, 10, 13), idempotency_key=k)),
    ("disagree-C2", lambda x, k: x.tenant_disagree("C2", "deposit", on=d(2025, 10, 13), idempotency_key=k)),
    ("resolution-C2", lambda x, k: x.resolve("C2", "deposit", via="mediation", to_tenant=D("400.00"), to_enterprise=D("600.00"), on=d(2025, 10, 20), idempotency_key=k)),
]  # fmt: skip


def events_in(db: Path) -> int:
    """How many events the SQLite file holds, read through a connection of its own."""
    with closing(sqlite3.connect(db)) as connection:
        [(count,)] = connection.execute("SELECT COUNT(*) FROM events").fetchall()
    return int(count)


def check_what_the_acts_did(ledger: Ledger) -> None:
    """Each act took effect once: C1's deduction and C2's mediated 600.00 were paid once each,
    and C2's deposit is all paid out (4,000.00 undisputed + 400.00 + 600.00 = 5,000.00)."""
    deductions = [(t.contract, t.principal) for t in ledger.transfers() if t.kind == "deduction"]
    assert deductions == [("C1", D("300.00")), ("C2", D("600.00"))]
    assert ledger.held()["C2"]["deposit"] == D("0.00")


@pytest.mark.parametrize("n", range(len(ACTS)), ids=[key for key, _ in ACTS])
def test_an_act_delivered_again_with_its_key_writes_nothing(
    n: int, ledger: Ledger, tmp_path: Path
) -> None:
    db = tmp_path / "ledger.db"
    for key, act in ACTS[:n]:
        act(ledger, key)
    key, act = ACTS[n]
    act(ledger, key)
    written, report = events_in(db), build_report(ledger, "redelivery")

    act(ledger, key)

    assert events_in(db) == written, f"{key}: the second delivery wrote"
    assert build_report(ledger, "redelivery") == report
    for key, act in ACTS[n + 1 :]:
        act(ledger, key)
    check_what_the_acts_did(ledger)


def test_every_act_delivered_again_after_the_clock_moved_on_writes_nothing(
    ledger: Ledger, tmp_path: Path
) -> None:
    db = tmp_path / "ledger.db"
    for key, act in ACTS:
        act(ledger, key)
    ledger.advance_to(d(2025, 11, 3))
    written, report = events_in(db), build_report(ledger, "redelivery")

    for key, act in ACTS:
        act(ledger, key)
        assert events_in(db) == written, f"{key}: the late delivery wrote"

    assert build_report(ledger, "redelivery") == report
    check_what_the_acts_did(ledger)
