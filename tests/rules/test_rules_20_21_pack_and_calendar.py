"""docs/rules.md rule 20 (Art. 21–22: the rule pack) and rule 21 (the workday calendar).

20. The `beijing-2024` pack refuses a contract that starts before 2024-10-01, saying so.
21. Working days are the official calendar (weekends and holidays off, make-up days on); an
    override adds holidays or workdays; a deadline in a year whose schedule is not published
    (2027 for the installed package) is flagged ``provisional_deadline``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest

from escrow.config import LedgerConfig
from escrow.domain.terms import ContractTerms
from escrow.errors import ContractRefused
from escrow.service import Ledger

D = Decimal
d = dt.date


def test_rule_20_a_contract_starting_before_2024_10_01_is_refused(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], assert_refused: Callable[..., object]
) -> None:
    terms = make_terms("C1", start=d(2024, 9, 30), end=d(2025, 9, 29))
    error = assert_refused(ledger, ContractRefused, ledger.open_contract, terms, on=d(2024, 9, 30))
    assert "2024-10-01" in str(error)
    assert ledger.contract_ids() == []


def test_rule_20_a_contract_starting_on_2024_10_01_is_accepted(
    ledger: Ledger, make_terms: Callable[..., ContractTerms]
) -> None:
    ledger.open_contract(
        make_terms("C1", start=d(2024, 10, 1), end=d(2025, 9, 30)), on=d(2024, 10, 1)
    )
    ledger.open_contract(
        make_terms("C2", start=d(2024, 10, 1), end=d(2025, 9, 30), affordable=True),
        on=d(2024, 10, 1),
    )
    assert ledger.contract_ids() == ["C1", "C2"]


# --- rule 21 ------------------------------------------------------------------------------------


def provisional(ledger: Ledger, contract: str = "C1") -> list[tuple[dt.date, str | None]]:
    return [(n.date, n.fund) for n in ledger.notices(contract) if n.kind == "provisional_deadline"]


def deposit_2026(ledger: Ledger, make_terms: Callable[..., ContractTerms]) -> None:
    terms = make_terms("C1", start=d(2026, 1, 5), end=d(2026, 12, 31))
    ledger.open_contract(terms, on=d(2026, 1, 5))
    ledger.pay_deposit("C1", D("5000.00"), on=d(2026, 1, 5))


def test_rule_21_a_deadline_counted_into_2027_is_flagged_provisional(
    ledger: Ledger, make_terms: Callable[..., ContractTerms]
) -> None:
    deposit_2026(ledger, make_terms)
    # Returned Wed 2026-12-30: Thu 12-31 (1), then 2027, whose State Council schedule is not
    # published: on the statutory New Year holiday alone, Fri 2027-01-01 off, weekend off,
    # Mon 01-04 (2), Tue 01-05 (3). The deadline lies in 2027 → flagged on the return day.
    ledger.return_home("C1", on=d(2026, 12, 30))
    assert provisional(ledger) == [(d(2026, 12, 30), "deposit")]
    [deadline] = ledger.deadlines("C1")
    assert deadline.date.year == 2027
    assert deadline.date == d(2027, 1, 5)


def test_rule_21_a_deadline_within_2026_is_not_provisional(
    ledger: Ledger, make_terms: Callable[..., ContractTerms]
) -> None:
    deposit_2026(ledger, make_terms)
    # Returned Thu 2026-12-24: Fri 12-25 (1), Mon 12-28 (2), Tue 12-29 (3): all in 2026.
    ledger.return_home("C1", on=d(2026, 12, 24))
    assert provisional(ledger) == []
    assert [x.date for x in ledger.deadlines("C1")] == [d(2026, 12, 29)]


def test_rule_21_the_tenants_window_counted_into_2027_is_flagged_too(
    ledger: Ledger, make_terms: Callable[..., ContractTerms]
) -> None:
    deposit_2026(ledger, make_terms)
    # Returned Thu 12-24 (deadline 12-29, official); opinion Tue 12-29 deducting 100.00: the
    # tenant's window 12-30 (1), 12-31 (2), then 2027 (3) → provisional, flagged on 12-29.
    ledger.return_home("C1", on=d(2026, 12, 24))
    ledger.propose_refund("C1", "deposit", [("keys", D("100.00"))], on=d(2026, 12, 29))
    assert provisional(ledger) == [(d(2026, 12, 29), "deposit")]


@pytest.mark.parametrize(
    "ledger",
    [LedgerConfig(extra_holidays=(d(2025, 10, 10),))],
    indirect=True,
    ids=["extra_holiday_10_10"],
)
def test_rule_21_an_extra_holiday_moves_the_deadline(
    worked_example: Ledger, rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    # Fri 10-10 made a holiday: Thu 10-09 (1), Sat 10-11 make-up (2), Mon 10-13 (3) → 10-13.
    # Missed → Tue 10-14 (notice and refund that day):
    #   days 06-03→10-14 = 133; 17.50 × 133 = 2,327.50 / 360 = 6.465277… → 6.47
    ledger = worked_example
    assert [x.date for x in ledger.deadlines("C1")] == [d(2025, 10, 13)]
    ledger.run_until_idle()
    assert [(n.date, n.kind) for n in ledger.notices("C1") if n.kind != "late_payment"] == [
        (d(2025, 10, 14), "enterprise_deadline_missed")
    ]
    assert rows(ledger.transfers("C1"))[1:] == [
        ("2025-10-14", "refund", "custody", "tenant:T1", "5000.00", "6.47"),
    ]


@pytest.mark.parametrize(
    "ledger",
    [LedgerConfig(extra_workdays=(d(2025, 10, 8),))],
    indirect=True,
    ids=["extra_workday_10_08"],
)
def test_rule_21_an_extra_workday_moves_the_deadline(
    worked_example: Ledger, rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    # Wed 10-08 made a workday: 10-08 (1), 10-09 (2), Fri 10-10 (3) → 10-10. Missed → Sat 10-11,
    # a make-up working day: refund settles that day:
    #   days 130; 17.50 × 130 = 2,275.00 / 360 = 6.319444… → 6.32
    ledger = worked_example
    assert [x.date for x in ledger.deadlines("C1")] == [d(2025, 10, 10)]
    ledger.run_until_idle()
    assert [(n.date, n.kind) for n in ledger.notices("C1") if n.kind != "late_payment"] == [
        (d(2025, 10, 11), "enterprise_deadline_missed")
    ]
    assert rows(ledger.transfers("C1"))[1:] == [
        ("2025-10-11", "refund", "custody", "tenant:T1", "5000.00", "6.32"),
    ]
