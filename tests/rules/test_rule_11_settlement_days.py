"""docs/rules.md rule 11: settlement days (parameter ``settle_on_working_days``, default true).

Outgoing transfers execute on working days only; an instruction on a non-working day executes on
the next working day. Incoming payments are dated the day they arrive. With the parameter off,
an outgoing transfer executes on its instruction day. Deadlines still count working days (rules
3 and 5 are not rule 11).

Worked example figures (deposit 5,000.00 from Tue 2025-06-03, 0.35 % / 360): days from 06-03 to
10-03 = 122, so 10-10 = 129, 10-12 = 131, 10-18 = 137.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest

from escrow.config import LedgerConfig
from escrow.domain.terms import ContractTerms
from escrow.service import Ledger

D = Decimal
d = dt.date

NO_WEEKEND_SHIFT = pytest.mark.parametrize(
    "ledger", [LedgerConfig(settle_on_working_days=False)], indirect=True, ids=["calendar_days"]
)


@NO_WEEKEND_SHIFT
def test_rule_11_settle_on_working_days_false_pays_the_deemed_deduction_on_saturday(
    worked_example: Ledger, rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    ledger = worked_example
    ledger.propose_refund("C1", "deposit", [("cleaning", D("300.00"))], on=d(2025, 10, 10))
    ledger.run_until_idle()
    # The windows are unchanged (working days): reminder 10-15, deemed agreed Sat 10-18; the
    # deduction now executes that Saturday instead of Mon 10-20:
    #   days 137; 300.00 × 0.35 % = 1.05; × 137 = 143.85; / 360 = 0.399583… → 0.40
    assert [(n.date, n.kind) for n in ledger.notices("C1") if n.kind != "late_payment"] == [
        (d(2025, 10, 15), "reminder"),
        (d(2025, 10, 18), "deemed_agreed"),
    ]
    assert rows(ledger.transfers("C1")) == [
        ("2025-06-03", "payment_in", "tenant:T1", "custody", "5000.00", "0.00"),
        ("2025-10-10", "refund", "custody", "tenant:T1", "4700.00", "5.89"),
        ("2025-10-18", "deduction", "custody", "enterprise:E1", "300.00", "0.40"),
    ]


@NO_WEEKEND_SHIFT
def test_rule_11_settle_on_working_days_false_refunds_a_missed_deadline_on_sunday(
    worked_example: Ledger, rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    # Deadline Sat 10-11 missed → Sun 10-12; executes that Sunday:
    #   days 131; 5,000.00 × 0.35 % = 17.50; × 131 = 2,292.50; / 360 = 6.368055… → 6.37
    worked_example.run_until_idle()
    assert rows(worked_example.transfers("C1"))[1:] == [
        ("2025-10-12", "refund", "custody", "tenant:T1", "5000.00", "6.37"),
    ]


@NO_WEEKEND_SHIFT
def test_rule_11_settle_on_working_days_false_releases_on_holidays(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    # The 19,500.00 tranche of rule 10 (rent 3,000.00, arrives Fri 2025-01-31, a holiday):
    #  - 9,000.00 on 01-31 itself: 0 days → 0.00
    #  - 3,000.00 on 02-28 (0.82), 03-31 (1.72), 04-30 (2.60) as with the default
    #  - last 1,500.00 on Sat 05-31 itself: days 120; 5.25 × 120 = 630.00; / 360 = 1.75
    terms = make_terms(
        "C1", start=d(2025, 2, 1), end=d(2026, 1, 31), monthly_rent="3000.00", deposit="0.00"
    )
    ledger.open_contract(terms, on=d(2025, 1, 31))
    ledger.pay_rent("C1", D("19500.00"), on=d(2025, 1, 31))
    ledger.run_until_idle()
    assert rows(ledger.transfers("C1")) == [
        ("2025-01-31", "payment_in", "tenant:T1", "supervision", "19500.00", "0.00"),
        ("2025-01-31", "release", "supervision", "enterprise:E1", "9000.00", "0.00"),
        ("2025-02-28", "release", "supervision", "enterprise:E1", "3000.00", "0.82"),
        ("2025-03-31", "release", "supervision", "enterprise:E1", "3000.00", "1.72"),
        ("2025-04-30", "release", "supervision", "enterprise:E1", "3000.00", "2.60"),
        ("2025-05-31", "release", "supervision", "enterprise:E1", "1500.00", "1.75"),
    ]


def test_rule_11_incoming_payments_are_dated_the_day_they_arrive(
    ledger: Ledger, make_terms: Callable[..., ContractTerms]
) -> None:
    # Sun 2025-06-01 is the Dragon Boat holiday (05-31..06-02): a deposit arriving then is dated
    # 06-01, not the next working day.
    ledger.open_contract(make_terms("C1"), on=d(2025, 6, 1))
    ledger.pay_deposit("C1", D("5000.00"), on=d(2025, 6, 1))
    assert [(t.date, t.kind) for t in ledger.transfers("C1")] == [(d(2025, 6, 1), "payment_in")]


def test_rule_11_a_resolution_on_a_saturday_settles_on_monday(
    worked_example: Ledger, rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    ledger = worked_example
    ledger.propose_refund("C1", "deposit", [("cleaning", D("300.00"))], on=d(2025, 10, 10))
    ledger.tenant_disagree("C1", "deposit", on=d(2025, 10, 13))
    # Negotiated on Sat 2025-11-01 (not a working day): all 300.00 to the tenant on Mon 11-03.
    #   days 06-03→11-03 = 122 + 31 = 153; 1.05 × 153 = 160.65; / 360 = 0.44625 → 0.45
    ledger.resolve(
        "C1",
        "deposit",
        via="negotiation",
        to_tenant=D("300.00"),
        to_enterprise=D("0.00"),
        on=d(2025, 11, 1),
    )
    assert ledger.held()["C1"]["deposit"] == D("300.00")
    ledger.run_until_idle()
    assert rows(ledger.transfers("C1"))[2:] == [
        ("2025-11-03", "refund", "custody", "tenant:T1", "300.00", "0.45"),
    ]
