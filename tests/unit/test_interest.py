"""escrow.interest: rate tables and lot interest (docs/rules.md rules 14-17; Art. 10, Art. 15).

Every expected figure is worked by hand in the comment beside it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from escrow.errors import InputError, RateUnavailable, UnknownRateTable
from escrow.interest import (
    BUILTIN_TABLES,
    DEFAULT_RATE_TABLE,
    RateRow,
    RateTable,
    interest_days,
    lot_interest,
    rate_table,
)

PBOC = rate_table("pboc-benchmark")
BIG_BANK = rate_table("big-bank-listed")


def test_the_default_table_is_the_pboc_benchmark() -> None:
    assert DEFAULT_RATE_TABLE == "pboc-benchmark"
    assert set(BUILTIN_TABLES) == {"pboc-benchmark", "big-bank-listed"}


@pytest.mark.parametrize(
    ("day", "percent"),
    [
        (date(2012, 6, 8), "0.40"),  # first row, its effective day
        (date(2012, 7, 5), "0.40"),  # the day before the second row
        (date(2012, 7, 6), "0.35"),
        (date(2025, 10, 10), "0.35"),
    ],
    ids=str,
)
def test_pboc_benchmark_rate_in_force(day: date, percent: str) -> None:
    assert PBOC.rate_on(day) == Decimal(percent)


@pytest.mark.parametrize(
    ("day", "percent"),
    [
        (date(2015, 10, 24), "0.30"),
        (date(2022, 9, 15), "0.25"),
        (date(2023, 6, 8), "0.20"),
        (date(2024, 7, 24), "0.20"),
        (date(2024, 7, 25), "0.15"),
        (date(2024, 10, 18), "0.10"),
        (date(2025, 5, 19), "0.10"),
        (date(2025, 5, 20), "0.05"),
    ],
    ids=str,
)
def test_big_bank_listed_rate_in_force(day: date, percent: str) -> None:
    assert BIG_BANK.rate_on(day) == Decimal(percent)


def test_a_day_before_the_first_row_has_no_rate() -> None:
    with pytest.raises(RateUnavailable, match=r"pboc-benchmark.*2012-06-07"):
        PBOC.rate_on(date(2012, 6, 7))


def test_interest_days_count_the_arrival_day_but_not_the_payout_day() -> None:
    # 2025-06-03 -> 2025-10-10: June 3..30 = 28, July 31, August 31, September 30,
    # October 1..9 = 9 -> 28 + 31 + 31 + 30 + 9 = 129.
    assert interest_days(date(2025, 6, 3), date(2025, 10, 10)) == 129
    assert interest_days(date(2025, 6, 3), date(2025, 6, 4)) == 1
    assert interest_days(date(2025, 6, 3), date(2025, 6, 3)) == 0


def test_a_payout_before_arrival_is_an_error() -> None:
    with pytest.raises(ValueError):
        interest_days(date(2025, 6, 3), date(2025, 6, 2))


def test_a_tie_at_half_a_fen_rounds_up() -> None:
    # 2025-01-01 -> 2025-03-05: January 31 + February 28 + March 1..4 = 4 -> 63 days.
    # 2000.00 x 0.35 % = 7.00 a year; 7.00 x 63 / 360 = 441 / 360 = 1.225 exactly -> 1.23.
    assert interest_days(date(2025, 1, 1), date(2025, 3, 5)) == 63
    assert lot_interest(Decimal("2000.00"), date(2025, 1, 1), date(2025, 3, 5), PBOC) == Decimal(
        "1.23"
    )


def test_the_worked_example_refund_of_4700() -> None:
    # 129 days (see above). 4700.00 x 0.35 % = 16.45; 16.45 x 129 = 2122.05;
    # 2122.05 / 360 = 5.894583... -> 5.89.
    interest = lot_interest(Decimal("4700.00"), date(2025, 6, 3), date(2025, 10, 10), PBOC)
    assert interest == Decimal("5.89")
    assert str(interest) == "5.89"


def test_the_worked_example_deduction_of_300_paid_on_monday() -> None:
    # 2025-06-03 -> 2025-10-20: 129 days to 10-10, plus 10-10..10-19 = 10 -> 139 days.
    # 300.00 x 0.35 % = 1.05; 1.05 x 139 = 145.95; 145.95 / 360 = 0.405416... -> 0.41.
    assert interest_days(date(2025, 6, 3), date(2025, 10, 20)) == 139
    assert lot_interest(Decimal("300.00"), date(2025, 6, 3), date(2025, 10, 20), PBOC) == Decimal(
        "0.41"
    )


def test_the_payout_days_rate_applies_to_the_whole_period() -> None:
    # 10,000.00 arrived 2024-06-01 (rate then 0.20 %), paid 2025-05-21 (rate 0.05 % from 05-20).
    # Days: June 2024 1..30 = 30, Jul 31, Aug 31, Sep 30, Oct 31, Nov 30, Dec 31 -> 214;
    # 2025 Jan 31, Feb 28, Mar 31, Apr 30 -> 334; May 1..20 = 20 -> 354.
    # 10000 x 0.05 % = 5.00 a year; 5 x 354 / 360 = 1770 / 360 = 4.91666... -> 4.92.
    # (At 0.15 %, the rate when part of the period ran: 15 x 354 / 360 = 14.75 — not used.)
    arrived, paid = date(2024, 6, 1), date(2025, 5, 21)
    assert interest_days(arrived, paid) == 354
    assert lot_interest(Decimal("10000.00"), arrived, paid, BIG_BANK) == Decimal("4.92")


def test_a_payout_the_day_before_the_cut_uses_the_older_rate() -> None:
    # Paid 2025-05-19: 354 - 2 = 352 days, rate 0.10 % (from 2024-10-18).
    # 10000 x 0.10 % = 10.00 a year; 10 x 352 / 360 = 3520 / 360 = 9.7777... -> 9.78.
    assert lot_interest(
        Decimal("10000.00"), date(2024, 6, 1), date(2025, 5, 19), BIG_BANK
    ) == Decimal("9.78")


def test_a_payout_on_the_effective_day_uses_the_new_rate() -> None:
    # Paid 2025-05-20: 353 days at 0.05 %: 5 x 353 / 360 = 1765 / 360 = 4.902777... -> 4.90.
    assert lot_interest(
        Decimal("10000.00"), date(2024, 6, 1), date(2025, 5, 20), BIG_BANK
    ) == Decimal("4.90")


def test_a_same_day_payout_earns_nothing() -> None:
    # 0 days -> 5000 x 0.35 % x 0 / 360 = 0 -> 0.00.
    interest = lot_interest(Decimal("5000.00"), date(2025, 6, 3), date(2025, 6, 3), PBOC)
    assert interest == Decimal("0.00")
    assert str(interest) == "0.00"


def test_a_365_day_basis_can_be_chosen() -> None:
    # 129 days; 16.45 x 129 = 2122.05; 2122.05 / 365 = 5.813835... -> 5.81
    # (365 x 5.8 = 2117; 2122.05 - 2117 = 5.05; 5.05 / 365 = 0.0138...).
    assert lot_interest(
        Decimal("4700.00"), date(2025, 6, 3), date(2025, 10, 10), PBOC, day_basis=365
    ) == Decimal("5.81")


def test_a_full_year_on_a_365_basis_is_the_annual_rate() -> None:
    # 2025-01-01 -> 2026-01-01 = 365 days; 10000 x 0.35 % x 365 / 365 = 35.00.
    assert lot_interest(
        Decimal("10000.00"), date(2025, 1, 1), date(2026, 1, 1), PBOC, day_basis=365
    ) == Decimal("35.00")


def test_a_payout_before_the_table_starts_is_an_error_not_zero_interest() -> None:
    with pytest.raises(RateUnavailable):
        lot_interest(Decimal("100.00"), date(2012, 1, 1), date(2012, 6, 7), PBOC)


def test_an_unknown_table_name_is_refused_listing_the_known_ones() -> None:
    with pytest.raises(UnknownRateTable, match=r"big-bank-listed, pboc-benchmark"):
        rate_table("pboc")


def test_a_table_with_unsorted_rows_is_refused() -> None:
    rows = (
        RateRow(date(2012, 7, 6), Decimal("0.35")),
        RateRow(date(2012, 6, 8), Decimal("0.40")),
    )
    with pytest.raises(InputError, match="strictly increase"):
        RateTable("backwards", rows)


def test_a_table_with_two_rows_on_one_day_is_refused() -> None:
    rows = (
        RateRow(date(2012, 7, 6), Decimal("0.35")),
        RateRow(date(2012, 7, 6), Decimal("0.40")),
    )
    with pytest.raises(InputError):
        RateTable("twice", rows)


def test_an_empty_table_is_refused() -> None:
    with pytest.raises(InputError, match="no rows"):
        RateTable("empty", ())


def test_a_negative_rate_is_refused() -> None:
    with pytest.raises(InputError):
        RateRow(date(2012, 7, 6), Decimal("-0.01"))
