"""docs/rules.md rules 9–10 (Art. 13–14): supervised rent, the 3-month release, monthly releases.

Rule 9: more than 3 months of rent → wholly into supervision; 3 months or less → straight to the
enterprise, outside the escrow (``direct_rent``).
Rule 10: each supervised payment is a tranche; its first 3 months go to the enterprise on the day
it arrives (the next working day if that is not one, rule 11); the rest one month at a time on
each monthly anniversary of the arrival (clamped to the month's end), each release with its
interest; the last release is what remains.

Rate 0.35 % / 360. Per 1,000.00 that is 3.50 a year.
Calendar 2025: Spring Festival 01-28..02-04 off (make-up Sun 01-26, Sat 02-08); Labour Day
05-01..05 off (make-up Sun 04-27); Dragon Boat 05-31..06-02 off.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from escrow.domain.terms import ContractTerms
from escrow.service import Ledger

D = Decimal
d = dt.date


def rent_contract(ledger: Ledger, make_terms: Callable[..., ContractTerms], **kw: Any) -> None:
    terms = make_terms(
        "C1",
        start=kw.pop("start", d(2025, 7, 1)),
        end=kw.pop("end", d(2026, 6, 30)),
        monthly_rent=kw.pop("monthly_rent", "2000.00"),
        deposit="2000.00",
    )
    ledger.open_contract(terms, on=kw.pop("on", d(2025, 7, 1)))


def test_rule_09_three_months_or_less_goes_straight_to_the_enterprise(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    rent_contract(ledger, make_terms)
    # 6,000.00 = exactly 3 months at 2,000.00: not more than 3 → direct, outside the escrow.
    ledger.pay_rent("C1", D("6000.00"), on=d(2025, 7, 1))
    assert rows(ledger.transfers("C1")) == [
        ("2025-07-01", "direct_rent", "tenant:T1", "enterprise:E1", "6000.00", "0.00"),
    ]
    assert ledger.held()["C1"]["rent"] == D("0.00")
    assert ledger.deadlines("C1") == []
    # Nothing of it is ever released or refunded.
    ledger.advance_to(d(2025, 12, 31))
    assert len(ledger.transfers("C1")) == 1


def test_rule_09_more_than_three_months_goes_wholly_into_supervision(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    rent_contract(ledger, make_terms)
    # 8,000.00 = 4 months on Wed 2025-07-02 (a working day): all of it into supervision; the
    # first 3 months (6,000.00) leave the same day, 0 days → 0.00 interest.
    # The 4th month on the 1st anniversary, Sat 08-02 → settles Mon 08-04:
    #   days 07-02→08-04 = 33; 2,000.00 × 0.35 % = 7.00; × 33 = 231.00; / 360 = 0.641666… → 0.64
    ledger.pay_rent("C1", D("8000.00"), on=d(2025, 7, 2))
    ledger.run_until_idle()
    assert rows(ledger.transfers("C1")) == [
        ("2025-07-02", "payment_in", "tenant:T1", "supervision", "8000.00", "0.00"),
        ("2025-07-02", "release", "supervision", "enterprise:E1", "6000.00", "0.00"),
        ("2025-08-04", "release", "supervision", "enterprise:E1", "2000.00", "0.64"),
    ]
    assert ledger.held()["C1"]["rent"] == D("0.00")


def test_rule_09_one_fen_above_three_months_is_supervised(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    rent_contract(ledger, make_terms)
    # 6,000.01 > 3 × 2,000.00 → supervised; 6,000.00 released Wed 07-02; the last release is the
    # 0.01 that remains, on Sat 08-02 → Mon 08-04:
    #   0.01 × 0.35 % × 33 / 360 = 0.0000032… → 0.00
    ledger.pay_rent("C1", D("6000.01"), on=d(2025, 7, 2))
    ledger.run_until_idle()
    assert rows(ledger.transfers("C1")) == [
        ("2025-07-02", "payment_in", "tenant:T1", "supervision", "6000.01", "0.00"),
        ("2025-07-02", "release", "supervision", "enterprise:E1", "6000.00", "0.00"),
        ("2025-08-04", "release", "supervision", "enterprise:E1", "0.01", "0.00"),
    ]


def test_rule_10_releases_on_clamped_anniversaries_from_a_holiday_arrival(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    # Rent 3,000.00 a month; 19,500.00 (6.5 months) arrives Fri 2025-01-31, a Spring Festival
    # holiday. Per 3,000.00: 10.50 a year.
    #  - first 3 months 9,000.00: instructed 01-31, not a working day (02-01..02-04 holiday too)
    #    → Wed 02-05, with interest for the days it waited: days 5;
    #    9,000.00 × 0.35 % = 31.50; × 5 = 157.50; / 360 = 0.4375 → 0.44 (half-up)
    #  - anniversary 1: 01-31 + 1 month = 02-28 (clamped), Fri: days 28;
    #    10.50 × 28 = 294.00; / 360 = 0.816666… → 0.82
    #  - anniversary 2: 03-31, Mon: days 28 + 31 = 59; 10.50 × 59 = 619.50 / 360 = 1.720833… → 1.72
    #  - anniversary 3: 04-30 (clamped), Wed (Labour Day starts 05-01): days 59 + 30 = 89;
    #    10.50 × 89 = 934.50 / 360 = 2.595833… → 2.60
    #  - anniversary 4: 05-31, Sat and Dragon Boat (05-31..06-02) → Tue 06-03; what remains is
    #    19,500 − 9,000 − 3 × 3,000 = 1,500.00 (the last release, partial):
    #    days 89 + 31 (→05-31) + 3 = 123; 1,500.00 × 0.35 % = 5.25; × 123 = 645.75;
    #    / 360 = 1.79375 → 1.79
    rent_contract(
        ledger,
        make_terms,
        start=d(2025, 2, 1),
        end=d(2026, 1, 31),
        monthly_rent="3000.00",
        on=d(2025, 1, 31),
    )
    ledger.pay_rent("C1", D("19500.00"), on=d(2025, 1, 31))
    # The instruction dates: the monthly release falls on 05-31 even though it settles 06-03.
    ledger.advance_to(d(2025, 5, 1))
    assert [(x.date, x.kind) for x in ledger.deadlines("C1")] == [(d(2025, 5, 31), "release")]
    ledger.run_until_idle()
    assert rows(ledger.transfers("C1")) == [
        ("2025-01-31", "payment_in", "tenant:T1", "supervision", "19500.00", "0.00"),
        ("2025-02-05", "release", "supervision", "enterprise:E1", "9000.00", "0.44"),
        ("2025-02-28", "release", "supervision", "enterprise:E1", "3000.00", "0.82"),
        ("2025-03-31", "release", "supervision", "enterprise:E1", "3000.00", "1.72"),
        ("2025-04-30", "release", "supervision", "enterprise:E1", "3000.00", "2.60"),
        ("2025-06-03", "release", "supervision", "enterprise:E1", "1500.00", "1.79"),
    ]
    assert ledger.held()["C1"]["rent"] == D("0.00")


def test_rule_10_a_tranche_arriving_on_a_weekend_releases_3_months_on_the_next_working_day(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    rent_contract(ledger, make_terms)
    # 8,000.00 arrives Sat 2025-07-05 (dated that day, rule 11) → 6,000.00 leaves Mon 07-07 with
    # the interest of the 2 days it waited: 6,000.00 × 0.35 % = 21.00; × 2 = 42.00;
    # / 360 = 0.116666… → 0.12
    ledger.pay_rent("C1", D("8000.00"), on=d(2025, 7, 5))
    ledger.advance_to(d(2025, 7, 7))
    assert rows(ledger.transfers("C1")) == [
        ("2025-07-05", "payment_in", "tenant:T1", "supervision", "8000.00", "0.00"),
        ("2025-07-07", "release", "supervision", "enterprise:E1", "6000.00", "0.12"),
    ]


def test_rule_10_each_tranche_has_its_own_schedule(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    rent_contract(ledger, make_terms)
    # Tranche 1: 8,000.00 on Wed 07-02; tranche 2: 8,000.00 on Tue 07-15 (rent 2,000.00).
    #   T1: 6,000.00 on 07-02 (0.00); 2,000.00 on Sat 08-02 → Mon 08-04, 33 days → 0.64
    #       (7.00 × 33 = 231.00 / 360 = 0.641666…)
    #   T2: 6,000.00 on 07-15 (0.00); 2,000.00 on Fri 08-15, days 31 → 7.00 × 31 = 217.00
    #       / 360 = 0.602777… → 0.60
    ledger.pay_rent("C1", D("8000.00"), on=d(2025, 7, 2))
    ledger.pay_rent("C1", D("8000.00"), on=d(2025, 7, 15))
    ledger.run_until_idle()
    assert rows(ledger.transfers("C1")) == [
        ("2025-07-02", "payment_in", "tenant:T1", "supervision", "8000.00", "0.00"),
        ("2025-07-02", "release", "supervision", "enterprise:E1", "6000.00", "0.00"),
        ("2025-07-15", "payment_in", "tenant:T1", "supervision", "8000.00", "0.00"),
        ("2025-07-15", "release", "supervision", "enterprise:E1", "6000.00", "0.00"),
        ("2025-08-04", "release", "supervision", "enterprise:E1", "2000.00", "0.64"),
        ("2025-08-15", "release", "supervision", "enterprise:E1", "2000.00", "0.60"),
    ]
