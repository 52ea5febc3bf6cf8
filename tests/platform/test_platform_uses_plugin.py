"""A platform's own test, written against the escrow pytest plugin (escrow_ledger, escrow_travel).

No conftest: the fixtures come from the ``pytest11`` entry point of the installed package.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import escrow
from escrow.testing import Travel

TERMS = escrow.ContractTerms(
    id="C1",
    filing_no="JZ-2025-000001",
    tenant="T1",
    enterprise="E1",
    start=dt.date(2025, 6, 3),
    end=dt.date(2025, 9, 30),
    monthly_rent=Decimal("5000.00"),
    deposit=Decimal("5000.00"),
)


def test_an_enterprise_that_stays_silent_refunds_the_whole_deposit_with_interest(
    escrow_ledger: escrow.Ledger, escrow_travel: Travel
) -> None:
    ledger, travel = escrow_ledger, escrow_travel
    travel.to(dt.date(2025, 6, 3))
    ledger.open_contract(TERMS)
    ledger.pay_deposit("C1", Decimal("5000.00"))
    travel.to(dt.date(2025, 9, 30))
    ledger.return_home("C1")
    # Working days after Tue 09-30: 10-01..08 National Day; Thu 10-09 (1), Fri 10-10 (2),
    # Sat 10-11 make-up day (3) = the enterprise's deadline; missed -> Sun 10-12, which settles
    # on Mon 10-13, the 4th working day.
    assert travel.by(working_days=3) == dt.date(2025, 10, 11)
    assert [t.kind for t in ledger.transfers("C1")] == ["payment_in"]  # still within its time
    assert travel.by(working_days=1) == dt.date(2025, 10, 13)
    refund = ledger.transfers("C1")[-1]
    # days = 10-13 - 06-03 = 28 (06-03..30) + 31 + 31 + 30 + 12 = 132
    # 5,000.00 x 0.35 % x 132 / 360 = 6.41666... -> 6.42
    assert (refund.kind, refund.date) == ("refund", dt.date(2025, 10, 13))
    assert (refund.principal, refund.interest) == (Decimal("5000.00"), Decimal("6.42"))
    assert [n.kind for n in ledger.notices("C1")] == ["enterprise_deadline_missed"]
    assert ledger.notices("C1")[0].date == dt.date(2025, 10, 12)


def test_travel_moves_the_wall_clock_with_the_ledger(
    escrow_ledger: escrow.Ledger, escrow_travel: Travel
) -> None:
    ledger, travel = escrow_ledger, escrow_travel
    travel.to(dt.date(2026, 2, 12))
    # 02-13 Fri (1), 02-14 make-up Saturday (2), 02-15..23 Spring Festival, 02-24 Tue (3)
    assert travel.by(working_days=3) == dt.date(2026, 2, 24)
    assert dt.date.today() == dt.date(2026, 2, 24)  # noqa: DTZ011 - the frozen wall clock
    assert travel.by(days=6) == dt.date(2026, 3, 2)
    assert ledger.today == dt.date(2026, 3, 2)
