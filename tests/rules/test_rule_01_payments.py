"""docs/rules.md rule 1 (Art. 9, Art. 13): lots, interest per lot, short/late/excess payments.

Our documented reading of rule 1 (escrow/domain/payments.py), which these tests pin down:
- deposit: *late* when it arrives after the contract's start date; *short* while the deposit paid
  so far is below the contract's deposit; *excess* once it is above it;
- rent: *short* when a payment is not a whole number of months' rent; *excess* once the rent paid
  exceeds the rent of the whole term (whole months, a started month counting in full).

Interest: 0.35 % (pboc-benchmark), days = payout − arrival, / 360, half-up to the fen per lot.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from escrow.domain.terms import ContractTerms
from escrow.service import Ledger

D = Decimal
d = dt.date

FLAGS = ("short_payment", "late_payment", "excess_payment")


def flags(ledger: Ledger, contract: str = "C1") -> list[tuple[dt.date, str, str | None]]:
    return [(n.date, n.kind, n.fund) for n in ledger.notices(contract) if n.kind in FLAGS]


def two_lots(ledger: Ledger, make_terms: Callable[..., ContractTerms]) -> None:
    """Deposit 3,000.00 agreed; paid as 1,000.00 on Sun 2025-06-01 (the start) and 2,000.00 on
    Tue 2025-07-15."""
    ledger.open_contract(make_terms("C1", deposit="3000.00"), on=d(2025, 6, 1))
    ledger.pay_deposit("C1", D("1000.00"), on=d(2025, 6, 1))
    ledger.pay_deposit("C1", D("2000.00"), on=d(2025, 7, 15))


def test_rule_01_each_deposit_payment_is_a_lot_with_its_own_arrival_date(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    two_lots(ledger, make_terms)
    # Two payment_in transfers at the amounts actually paid, each dated the day it arrived
    # (2025-06-01 is a Sunday: incoming payments are dated the day they arrive, rule 11).
    assert rows(ledger.transfers("C1")) == [
        ("2025-06-01", "payment_in", "tenant:T1", "custody", "1000.00", "0.00"),
        ("2025-07-15", "payment_in", "tenant:T1", "custody", "2000.00", "0.00"),
    ]
    balance = ledger.balances("C1", as_of=d(2025, 7, 15))
    assert balance.deposit.lots == ((d(2025, 6, 1), D("1000.00")), (d(2025, 7, 15), D("2000.00")))
    assert balance.deposit.principal == D("3000.00")


def test_rule_01_two_lots_refunded_together_earn_two_rounded_interests_summed(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    two_lots(ledger, make_terms)
    # Returned Mon 2025-09-01; opinion Wed 09-03 (deadline: 09-02, 09-03, 09-04 → Thu 09-04)
    # with no deductions: all 3,000.00 back on Wed 09-03, a working day.
    ledger.return_home("C1", on=d(2025, 9, 1))
    ledger.propose_refund("C1", "deposit", [], on=d(2025, 9, 3))
    # Lot 1: 1,000.00 from 06-01: days 06-01→07-01 30, →08-01 31 (61), →09-01 31 (92), →09-03 94.
    #   1,000.00 × 0.35 % = 3.50; × 94 = 329.00; / 360 = 0.913888… → 0.91
    # Lot 2: 2,000.00 from 07-15: days 07-15→08-15 31, →09-03 19 = 50.
    #   2,000.00 × 0.35 % = 7.00; × 50 = 350.00; / 360 = 0.972222… → 0.97
    # Interest = 0.91 + 0.97 = 1.88 (rounding the pooled 1.886111… would give 1.89: wrong).
    assert rows(ledger.transfers("C1"))[2:] == [
        ("2025-09-03", "refund", "custody", "tenant:T1", "3000.00", "1.88"),
    ]
    assert ledger.held()["C1"]["deposit"] == D("0.00")


def test_rule_01_a_short_payment_is_flagged_and_recorded_at_the_amount_paid(
    ledger: Ledger, make_terms: Callable[..., ContractTerms]
) -> None:
    two_lots(ledger, make_terms)
    # 06-01: 1,000.00 of 3,000.00 paid on the start date → short (not late: not after the start).
    # 07-15: 2,000.00 more, after the start → late; now 3,000.00 paid = agreed → not short.
    assert flags(ledger) == [
        (d(2025, 6, 1), "short_payment", "deposit"),
        (d(2025, 7, 15), "late_payment", "deposit"),
    ]
    # Held is what was paid on each day, never the agreed amount.
    assert ledger.balances("C1", as_of=d(2025, 6, 30)).deposit.principal == D("1000.00")


def test_rule_01_a_late_deposit_is_flagged_and_an_early_one_is_not(
    ledger: Ledger, make_terms: Callable[..., ContractTerms]
) -> None:
    ledger.open_contract(make_terms("C1"), on=d(2025, 5, 20))
    ledger.open_contract(make_terms("C2"), on=d(2025, 5, 20))
    # C1 pays the full 5,000.00 before the start (Tue 05-20 < 06-01): no flag at all.
    ledger.pay_deposit("C1", D("5000.00"), on=d(2025, 5, 20))
    # C2 pays the full 5,000.00 on Mon 06-02, the day after the start 06-01: late only.
    ledger.pay_deposit("C2", D("5000.00"), on=d(2025, 6, 2))
    assert flags(ledger, "C1") == []
    assert flags(ledger, "C2") == [(d(2025, 6, 2), "late_payment", "deposit")]


def test_rule_01_an_excess_deposit_is_flagged_and_held_in_full(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    ledger.open_contract(make_terms("C1"), on=d(2025, 6, 1))
    ledger.open_contract(make_terms("C2"), on=d(2025, 6, 1))
    # C1: 5,000.00 then 100.00 the same day: the second payment takes it to 5,100.00 > 5,000.00.
    ledger.pay_deposit("C1", D("5000.00"), on=d(2025, 6, 1))
    ledger.pay_deposit("C1", D("100.00"), on=d(2025, 6, 1))
    # C2: one payment of 5,100.00.
    ledger.pay_deposit("C2", D("5100.00"), on=d(2025, 6, 1))
    assert flags(ledger, "C1") == [(d(2025, 6, 1), "excess_payment", "deposit")]
    assert flags(ledger, "C2") == [(d(2025, 6, 1), "excess_payment", "deposit")]
    assert ledger.held()["C1"]["deposit"] == D("5100.00")
    assert ledger.held()["C2"]["deposit"] == D("5100.00")
    # Returned Mon 06-30, no deductions on Tue 07-01: the tenant gets back all 5,100.00.
    # days 06-01→07-01 = 30; 5,100.00 × 0.35 % = 17.85; × 30 = 535.50; / 360 = 1.4875 → 1.49
    ledger.return_home("C2", on=d(2025, 6, 30))
    ledger.propose_refund("C2", "deposit", [], on=d(2025, 7, 1))
    assert rows(ledger.transfers("C2"))[-1] == (
        "2025-07-01",
        "refund",
        "custody",
        "tenant:T1",
        "5100.00",
        "1.49",
    )


def test_rule_01_a_deposit_paid_in_full_on_time_raises_no_flag(
    ledger: Ledger, make_terms: Callable[..., ContractTerms]
) -> None:
    ledger.open_contract(make_terms("C1"), on=d(2025, 6, 1))
    ledger.pay_deposit("C1", D("5000.00"), on=d(2025, 6, 1))
    assert flags(ledger) == []


def test_rule_01_the_channel_of_a_payment_is_recorded(
    ledger: Ledger, make_terms: Callable[..., ContractTerms]
) -> None:
    # Art. 2: bank transfer or e-CNY (数字人民币).
    ledger.open_contract(make_terms("C1", deposit="3000.00"), on=d(2025, 6, 1))
    ledger.pay_deposit("C1", D("1000.00"), channel="ecny", on=d(2025, 6, 1))
    ledger.pay_deposit("C1", D("2000.00"), channel="bank", on=d(2025, 6, 1))
    assert [t.channel for t in ledger.transfers("C1")] == ["ecny", "bank"]


def test_rule_01_rent_that_is_not_whole_months_is_flagged_short(
    ledger: Ledger, make_terms: Callable[..., ContractTerms]
) -> None:
    # Rent 2,000.00 a month; 7,000.00 = 3.5 months → supervised (more than 3 months) and short.
    terms = make_terms("C1", start=d(2025, 7, 1), end=d(2025, 12, 31), monthly_rent="2000.00")
    ledger.open_contract(terms, on=d(2025, 7, 1))
    ledger.pay_rent("C1", D("7000.00"), on=d(2025, 7, 1))
    assert flags(ledger) == [(d(2025, 7, 1), "short_payment", "rent")]
    assert next((t.kind, t.principal) for t in ledger.transfers("C1")) == (
        "payment_in",
        D("7000.00"),
    )


def test_rule_01_rent_beyond_the_whole_term_is_flagged_excess(
    ledger: Ledger, make_terms: Callable[..., ContractTerms]
) -> None:
    # Term 2025-07-01..2025-12-31: months starting 07-01, 08-01, …, 12-01 = 6 → 12,000.00.
    # 8,000.00 (4 months, supervised) on Tue 07-01: 8,000.00 ≤ 12,000.00, no flag.
    # 6,000.00 (3 months, direct) on Fri 08-01: 14,000.00 > 12,000.00 → excess on 08-01.
    terms = make_terms("C1", start=d(2025, 7, 1), end=d(2025, 12, 31), monthly_rent="2000.00")
    ledger.open_contract(terms, on=d(2025, 7, 1))
    ledger.pay_rent("C1", D("8000.00"), on=d(2025, 7, 1))
    ledger.pay_rent("C1", D("6000.00"), on=d(2025, 8, 1))
    assert flags(ledger) == [(d(2025, 8, 1), "excess_payment", "rent")]
