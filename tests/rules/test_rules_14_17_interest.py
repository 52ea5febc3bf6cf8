"""docs/rules.md rules 14–17 (Art. 10, Art. 15): the rate, the period, the day basis, the rounding.

14. The demand-deposit rate in force ON THE PAYOUT DAY, for the whole period (not piecewise);
    tables `pboc-benchmark` (default: 0.35 % since 2012-07-06) and `big-bank-listed`
    (… 0.10 % from 2024-10-18, 0.05 % from 2025-05-20). A payout before a table's first row is
    an error, not a zero rate.
15. days = payout date − arrival date.
16. annual rate / 360 (parameter), simple interest.
17. exact decimals; half-up to the fen once per payout per lot.

Worked example figures: deposit 5,000.00 from Tue 2025-06-03; 4,700.00 refunded 2025-10-10
(129 days), 300.00 deducted 2025-10-20 (139 days).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest

from escrow.config import LedgerConfig
from escrow.domain.ledger import TransferKind
from escrow.domain.terms import ContractTerms
from escrow.errors import RateUnavailable
from escrow.service import Ledger

D = Decimal
d = dt.date


def run_worked_example(ledger: Ledger) -> list[tuple[dt.date, TransferKind, Decimal, Decimal]]:
    ledger.propose_refund("C1", "deposit", [("cleaning", D("300.00"))], on=d(2025, 10, 10))
    ledger.run_until_idle()
    return [(t.date, t.kind, t.principal, t.interest) for t in ledger.transfers("C1")][1:]


def test_rule_14_pboc_benchmark_0_35_percent_is_the_default(worked_example: Ledger) -> None:
    # 4,700.00 × 0.35 % × 129 / 360 = 2,122.05 / 360 = 5.894583… → 5.89
    # 300.00 × 0.35 % × 139 / 360 = 145.95 / 360 = 0.405416… → 0.41
    assert run_worked_example(worked_example) == [
        (d(2025, 10, 10), "refund", D("4700.00"), D("5.89")),
        (d(2025, 10, 20), "deduction", D("300.00"), D("0.41")),
    ]


@pytest.mark.parametrize(
    "ledger", [LedgerConfig(rate_table="big-bank-listed")], indirect=True, ids=["big_bank"]
)
def test_rule_14_big_bank_listed_uses_0_05_percent_for_the_whole_period_after_2025_05_20(
    worked_example: Ledger,
) -> None:
    # Both payouts are after 2025-05-20: 0.05 % for the whole period, although the deposit
    # arrived 06-03 (after the cut too here).
    # 4,700.00 × 0.05 % = 2.35; × 129 = 303.15; / 360 = 0.842083… → 0.84
    # 300.00 × 0.05 % = 0.15; × 139 = 20.85; / 360 = 0.057916… → 0.06
    assert run_worked_example(worked_example) == [
        (d(2025, 10, 10), "refund", D("4700.00"), D("0.84")),
        (d(2025, 10, 20), "deduction", D("300.00"), D("0.06")),
    ]


@pytest.mark.parametrize(
    "ledger", [LedgerConfig(rate_table="big-bank-listed")], indirect=True, ids=["big_bank"]
)
def test_rule_14_the_rate_in_force_on_the_payout_day_applies_to_the_whole_period(
    ledger: Ledger, make_terms: Callable[..., ContractTerms]
) -> None:
    # Two contracts, each 6,000.00 deposit arriving Mon 2024-12-02 (0.10 % in force since
    # 2024-10-18); both homes returned Fri 2025-05-16 → deadline 05-19, 05-20, Wed 05-21.
    # days 2024-12-02→2025-01-02 31, →02-02 31 (62), →03-02 28 (90), →04-02 31 (121),
    #      →05-02 30 (151), →05-19 17 (168), →05-20 (169).
    # C1 proposes Mon 05-19 (0.10 %): 6,000.00 × 0.10 % = 6.00; × 168 = 1,008.00; / 360 = 2.80
    # C2 proposes Tue 05-20 (0.05 % from that day, for ALL 169 days):
    #     6,000.00 × 0.05 % = 3.00; × 169 = 507.00; / 360 = 1.408333… → 1.41
    #     (piecewise would be (6.00 × 168 + 3.00 × 1) / 360 = 1,011 / 360 = 2.8083… → 2.81: wrong)
    for c in ("C1", "C2"):
        terms = make_terms(c, start=d(2024, 12, 2), end=d(2025, 5, 31), deposit="6000.00")
        ledger.open_contract(terms, on=d(2024, 12, 2))
        ledger.pay_deposit(c, D("6000.00"), on=d(2024, 12, 2))
    for c in ("C1", "C2"):
        ledger.return_home(c, on=d(2025, 5, 16))
    ledger.propose_refund("C1", "deposit", [], on=d(2025, 5, 19))
    ledger.propose_refund("C2", "deposit", [], on=d(2025, 5, 20))
    assert [(t.date, t.principal, t.interest) for t in ledger.transfers("C1")][1:] == [
        (d(2025, 5, 19), D("6000.00"), D("2.80"))
    ]
    assert [(t.date, t.principal, t.interest) for t in ledger.transfers("C2")][1:] == [
        (d(2025, 5, 20), D("6000.00"), D("1.41"))
    ]


@pytest.mark.parametrize(
    "ledger",
    [LedgerConfig(rates=((d(2024, 1, 1), D("1.50")),))],
    indirect=True,
    ids=["custom_1_50"],
)
def test_rule_14_a_custom_rate_table_replaces_the_named_one(worked_example: Ledger) -> None:
    # 4,700.00 × 1.50 % = 70.50; × 129 = 9,094.50; / 360 = 25.2625 → 25.26
    # 300.00 × 1.50 % = 4.50; × 139 = 625.50; / 360 = 1.7375 → 1.74
    assert run_worked_example(worked_example) == [
        (d(2025, 10, 10), "refund", D("4700.00"), D("25.26")),
        (d(2025, 10, 20), "deduction", D("300.00"), D("1.74")),
    ]


@pytest.mark.parametrize(
    "ledger",
    [LedgerConfig(rates=((d(2025, 12, 1), D("0.35")),))],
    indirect=True,
    ids=["rates_from_2025_12"],
)
def test_rule_14_a_payout_before_the_first_rate_is_an_error_not_a_zero_rate(
    worked_example: Ledger, assert_refused: Callable[..., object]
) -> None:
    # The only rate takes effect 2025-12-01; a refund paid out on 2025-10-10 has no rate.
    assert_refused(
        worked_example,
        RateUnavailable,
        worked_example.propose_refund,
        "C1",
        "deposit",
        [("cleaning", D("300.00"))],
        on=d(2025, 10, 10),
    )


def test_rule_15_the_arrival_day_counts_and_the_payout_day_does_not(
    ledger: Ledger, make_terms: Callable[..., ContractTerms]
) -> None:
    # Paid out the day it arrived: 0 days → 0.00. Paid out the next day: 1 day.
    # Deposit 36,000.00 arrives Wed 2025-07-02; home returned the same day; the opinion on
    # Thu 07-03 (no deductions): 36,000.00 × 0.35 % = 126.00; × 1 = 126.00; / 360 = 0.35
    ledger.open_contract(
        make_terms("C1", start=d(2025, 7, 2), deposit="36000.00"), on=d(2025, 7, 2)
    )
    ledger.pay_deposit("C1", D("36000.00"), on=d(2025, 7, 2))
    ledger.return_home("C1", on=d(2025, 7, 2))
    ledger.propose_refund("C1", "deposit", [], on=d(2025, 7, 3))
    transfers = ledger.transfers("C1")
    assert [(t.date, t.interest) for t in transfers] == [
        (d(2025, 7, 2), D("0.00")),
        (d(2025, 7, 3), D("0.35")),
    ]


@pytest.mark.parametrize("ledger", [LedgerConfig(day_basis=365)], indirect=True, ids=["basis_365"])
def test_rule_16_day_basis_365_parameter(worked_example: Ledger) -> None:
    # 4,700.00 × 0.35 % × 129 = 2,122.05; / 365 = 5.813835… → 5.81
    # 300.00 × 0.35 % × 139 = 145.95; / 365 = 0.399863… → 0.40
    assert run_worked_example(worked_example) == [
        (d(2025, 10, 10), "refund", D("4700.00"), D("5.81")),
        (d(2025, 10, 20), "deduction", D("300.00"), D("0.40")),
    ]


def test_rule_17_interest_is_rounded_half_up_to_the_fen(worked_example: Ledger) -> None:
    ledger = worked_example
    ledger.propose_refund("C1", "deposit", [("cleaning", D("300.00"))], on=d(2025, 10, 10))
    # Tenant agrees Mon 10-13: days 132; 300.00 × 0.35 % = 1.05; × 132 = 138.60; / 360 = 0.385
    # exactly → half-up 0.39 (half-even would give 0.38).
    ledger.tenant_agree("C1", "deposit", on=d(2025, 10, 13))
    assert [(t.date, t.interest) for t in ledger.transfers("C1")][-1] == (
        d(2025, 10, 13),
        D("0.39"),
    )


def test_rule_17_rounding_once_per_payout_per_lot(
    ledger: Ledger, make_terms: Callable[..., ContractTerms]
) -> None:
    # Two lots refunded in one payout: 1,000.00 from Sun 2025-06-01 and 2,000.00 from Tue
    # 07-15; home returned Mon 09-01; opinion Wed 09-03 without deductions.
    #   lot 1: 94 days; 3.50 × 94 = 329.00 / 360 = 0.913888… → 0.91
    #   lot 2: 50 days; 7.00 × 50 = 350.00 / 360 = 0.972222… → 0.97
    # 0.91 + 0.97 = 1.88 (not round(0.913888… + 0.972222…) = round(1.886111…) = 1.89).
    ledger.open_contract(make_terms("C1", deposit="3000.00"), on=d(2025, 6, 1))
    ledger.pay_deposit("C1", D("1000.00"), on=d(2025, 6, 1))
    ledger.pay_deposit("C1", D("2000.00"), on=d(2025, 7, 15))
    ledger.return_home("C1", on=d(2025, 9, 1))
    ledger.propose_refund("C1", "deposit", [], on=d(2025, 9, 3))
    assert ledger.transfers("C1")[-1].interest == D("1.88")
