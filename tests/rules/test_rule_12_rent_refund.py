"""docs/rules.md rule 12 (Art. 15–16): rent left in supervision at the return.

It goes through the same refund workflow as the deposit (rules 3–8), independently of the
deposit's; monthly releases that fall after the return day do not happen.

Contract: rent 2,000.00 a month, 2025-07-01..2026-06-30 (12 months = 24,000.00), deposit
2,000.00. Both paid Tue 2025-07-01. Rate 0.35 % / 360: per 1,000.00, 3.50 a year.
Days from 07-01: to 08-01 = 31, 09-01 = 62, 09-02 = 63, 10-01 = 92, 10-09 = 100, 10-21 = 112,
10-22 = 113, 10-24 = 115.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from escrow.domain.terms import ContractTerms
from escrow.service import Ledger

D = Decimal
d = dt.date


def paid_up(ledger: Ledger, make_terms: Callable[..., ContractTerms], *, deposit: bool = True) -> None:
    terms = make_terms(
        "C1", start=d(2025, 7, 1), end=d(2026, 6, 30), monthly_rent="2000.00", deposit="2000.00"
    )
    ledger.open_contract(terms, on=d(2025, 7, 1))
    if deposit:
        ledger.pay_deposit("C1", D("2000.00"), on=d(2025, 7, 1))
    ledger.pay_rent("C1", D("24000.00"), on=d(2025, 7, 1))


# Releases before the return (2,000.00 each, 7.00 a year):
#   07-01: 6,000.00, 0 days → 0.00
#   08-01 Fri: 31 days; 7.00 × 31 = 217.00 / 360 = 0.602777… → 0.60
#   09-01 Mon: 62 days; 7.00 × 62 = 434.00 / 360 = 1.205555… → 1.21
#   10-01 National Day → Thu 10-09: 100 days; 7.00 × 100 = 700.00 / 360 = 1.944444… → 1.94
RELEASES_TO_SEPT = [
    ("2025-07-01", "release", "supervision", "enterprise:E1", "6000.00", "0.00"),
    ("2025-08-01", "release", "supervision", "enterprise:E1", "2000.00", "0.60"),
    ("2025-09-01", "release", "supervision", "enterprise:E1", "2000.00", "1.21"),
]


def test_rule_12_rent_left_in_supervision_has_its_own_refund_workflow(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    paid_up(ledger, make_terms)
    # Returned Mon 2025-10-20 (termination). Held: deposit 2,000.00; rent 24,000 − 6,000 −
    # 3 × 2,000 = 12,000.00. Both opinions due on the 3rd working day after: 10-21, 10-22,
    # Thu 10-23.
    ledger.return_home("C1", reason="termination", on=d(2025, 10, 20))
    assert ledger.held()["C1"] == {"deposit": D("2000.00"), "rent": D("12000.00")}
    assert [(x.date, x.fund, x.kind) for x in ledger.deadlines("C1")] == [
        (d(2025, 10, 23), "deposit", "refund_opinion"),
        (d(2025, 10, 23), "rent", "refund_opinion"),
    ]
    # Deposit: opinion Tue 10-21 deducting 500.00 → 1,500.00 back that day:
    #   1,500.00 × 0.35 % = 5.25; × 112 = 588.00; / 360 = 1.633333… → 1.63
    # Tenant agrees Wed 10-22 → 500.00 to E1:
    #   500.00 × 0.35 % = 1.75; × 113 = 197.75; / 360 = 0.549305… → 0.55
    ledger.propose_refund("C1", "deposit", [("repairs", D("500.00"))], on=d(2025, 10, 21))
    ledger.tenant_agree("C1", "deposit", on=d(2025, 10, 22))
    # Rent: the enterprise never gives its opinion → missed from Fri 10-24 (a working day):
    # the whole 12,000.00 back to the tenant that day:
    #   12,000.00 × 0.35 % = 42.00; × 115 = 4,830.00; / 360 = 13.416666… → 13.42
    ledger.run_until_idle()
    assert rows(ledger.transfers("C1")) == [
        ("2025-07-01", "payment_in", "tenant:T1", "custody", "2000.00", "0.00"),
        ("2025-07-01", "payment_in", "tenant:T1", "supervision", "24000.00", "0.00"),
        *RELEASES_TO_SEPT,
        ("2025-10-09", "release", "supervision", "enterprise:E1", "2000.00", "1.94"),
        ("2025-10-21", "refund", "custody", "tenant:T1", "1500.00", "1.63"),
        ("2025-10-22", "deduction", "custody", "enterprise:E1", "500.00", "0.55"),
        ("2025-10-24", "refund", "supervision", "tenant:T1", "12000.00", "13.42"),
    ]
    notices = [(n.date, n.kind, n.fund) for n in ledger.notices("C1")]
    assert notices == [(d(2025, 10, 24), "enterprise_deadline_missed", "rent")]
    assert ledger.held()["C1"] == {"deposit": D("0.00"), "rent": D("0.00")}


def test_rule_12_no_monthly_release_after_the_return(
    ledger: Ledger, make_terms: Callable[..., ContractTerms]
) -> None:
    paid_up(ledger, make_terms)
    ledger.return_home("C1", on=d(2025, 10, 20))
    ledger.advance_to(d(2026, 7, 31))
    releases = [t.date for t in ledger.transfers("C1") if t.kind == "release"]
    assert max(releases) == d(2025, 10, 9)  # the 10-01 release, settled after the holiday
    assert len(releases) == 4
    assert not [x for x in ledger.deadlines("C1") if x.kind == "release"]


def test_rule_12_a_release_falling_on_the_return_day_itself_still_happens(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    # "Monthly releases that fall AFTER the day the home is returned do not happen": the
    # 09-01 anniversary is the return day itself, so it is released (1.21, see above).
    paid_up(ledger, make_terms, deposit=False)
    ledger.return_home("C1", on=d(2025, 9, 1))
    # Held rent: 24,000 − 6,000 − 2 × 2,000 = 14,000.00. Rent opinion Tue 09-02, no deductions:
    #   14,000.00 × 0.35 % = 49.00; × 63 = 3,087.00; / 360 = 8.575 → 8.58 (half-up)
    ledger.propose_refund("C1", "rent", [], on=d(2025, 9, 2))
    ledger.run_until_idle()
    assert rows(ledger.transfers("C1")) == [
        ("2025-07-01", "payment_in", "tenant:T1", "supervision", "24000.00", "0.00"),
        *RELEASES_TO_SEPT,
        ("2025-09-02", "refund", "supervision", "tenant:T1", "14000.00", "8.58"),
    ]
