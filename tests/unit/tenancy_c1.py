"""One tenancy, C1, and shorthands for the events of its history, for the given/when/then tests.

Tenant T1 rents from enterprise E1 from Tuesday 2025-06-03 to 2026-06-02 at 4,000.00 a month
with a 5,000.00 deposit; custody at bank B1, supervision at B2. Every amount, date and
interest figure the tests expect is worked by hand in their comments from docs/rules.md:
interest = principal × 0.35 % × days / 360 (pboc-benchmark, rules 14–16), half-up to the fen
(rule 17), days = payout day − arrival day (rule 15); working days on the official calendar of
mainland China (rule 21), e.g. the 2025 National Day holiday 10-01..10-08 with Saturday 10-11
a make-up working day.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from escrow.domain import events as ev
from escrow.domain.terms import ContractTerms, Fund

D = Decimal
d = dt.date

START = d(2025, 6, 3)
TERMS = ContractTerms(
    id="C1",
    filing_no="F1",
    tenant="T1",
    enterprise="E1",
    start=START,
    end=d(2026, 6, 2),
    monthly_rent=D("4000.00"),
    deposit=D("5000.00"),
)
OPENED = ev.ContractOpened(
    on=d(2025, 6, 1),
    terms=TERMS,
    rules="beijing-2024",
    custody_bank="B1",
    supervision_bank="B2",
)
DEPOSIT = ev.DepositReceived(on=START, amount=D("5000.00"), channel="bank", lot=1)
"""The whole deposit, on the start day: lot 1 of custody."""


def instructed(
    on: dt.date,
    payout: int,
    fund: Fund,
    kind: ev.PayoutKind,
    to: ev.Party,
    principal: str,
    *,
    execute_on: dt.date | None,
    lot: int = 1,
    arrived: dt.date = START,
    release_no: int | None = None,
) -> ev.PayoutInstructed:
    """A payout of ``principal`` from one lot (every payout of these tests takes one lot)."""
    return ev.PayoutInstructed(
        on=on,
        fund=fund,
        payout=payout,
        kind=kind,
        to=to,
        pieces=(ev.Piece(lot=lot, arrived=arrived, principal=D(principal)),),
        execute_on=execute_on,
        release_no=release_no,
    )


def executed(
    on: dt.date,
    payout: int,
    fund: Fund,
    principal: str,
    *,
    days: int,
    interest: str,
    interest_to: ev.Party,
    lot: int = 1,
    arrived: dt.date = START,
) -> ev.PayoutExecuted:
    """A one-lot payout leaving the account at the pboc-benchmark rate, 0.35 %."""
    return ev.PayoutExecuted(
        on=on,
        fund=fund,
        payout=payout,
        annual_percent=D("0.35"),
        pieces=(
            ev.PaidPiece(
                lot=lot, arrived=arrived, principal=D(principal), days=days, interest=D(interest)
            ),
        ),
        interest_to=interest_to,
    )
