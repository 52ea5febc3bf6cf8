"""docs/rules.md rule 20 (Art. 21–22: the rule pack) and rule 21 (the workday calendar).

20. The `beijing-2024` pack refuses a contract that starts before 2024-10-01, saying so.
21. Working days are the official calendar (weekends and holidays off, make-up days on); an
    override adds holidays or workdays; a deadline in a year whose schedule is not published is
    flagged ``provisional_deadline``.

Which years the installed ``holidays`` knows is not stated here: an unpublished year is one no
release will know for decades (2091), and the step from an official year into an unpublished
one is placed there by declaring the years before it official (``official_years``) on a calendar
handed to ``decide``. 2026, whose schedule the ``holidays`` floor carries, is official.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest

from escrow.calendar import WorkdayCalendar
from escrow.config import LedgerConfig
from escrow.domain import commands as cmd
from escrow.domain import events as ev
from escrow.domain.decide import decide, open_contract
from escrow.domain.state import ContractState, evolve, open_state
from escrow.domain.terms import ContractTerms
from escrow.errors import ContractRefused
from escrow.rules import rule_pack
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


def deposit_2091(ledger: Ledger, make_terms: Callable[..., ContractTerms]) -> None:
    # 2091: a year whose State Council schedule no release will carry for decades.
    terms = make_terms("C1", start=d(2091, 3, 5), end=d(2091, 7, 11))
    ledger.open_contract(terms, on=d(2091, 3, 5))
    ledger.pay_deposit("C1", D("5000.00"), on=d(2091, 3, 5))


def test_rule_21_a_deadline_in_a_year_without_a_published_schedule_is_flagged_provisional(
    ledger: Ledger, make_terms: Callable[..., ContractTerms]
) -> None:
    deposit_2091(ledger, make_terms)
    # Returned Wed 2091-07-11 (no holiday in July in any year): Thu 07-12 (1), Fri 07-13 (2),
    # weekend off, Mon 07-16 (3). 2091's schedule is not published → flagged on the return day.
    ledger.return_home("C1", on=d(2091, 7, 11))
    assert provisional(ledger) == [(d(2091, 7, 11), "deposit")]
    assert [x.date for x in ledger.deadlines("C1")] == [d(2091, 7, 16)]


def test_rule_21_a_deadline_within_2026_is_not_provisional(
    ledger: Ledger, make_terms: Callable[..., ContractTerms]
) -> None:
    deposit_2026(ledger, make_terms)
    # Returned Thu 2026-12-24: Fri 12-25 (1), Mon 12-28 (2), Tue 12-29 (3): all in 2026.
    ledger.return_home("C1", on=d(2026, 12, 24))
    assert provisional(ledger) == []
    assert [x.date for x in ledger.deadlines("C1")] == [d(2026, 12, 29)]


def test_rule_21_the_tenants_window_in_a_year_without_a_published_schedule_is_flagged_too(
    ledger: Ledger, make_terms: Callable[..., ContractTerms]
) -> None:
    deposit_2091(ledger, make_terms)
    # Returned Wed 07-11 (deadline Mon 07-16, flagged); opinion Fri 07-13 deducting 100.00: the
    # tenant's window Mon 07-16 (1), Tue 07-17 (2), Wed 07-18 (3), flagged on 07-13.
    ledger.return_home("C1", on=d(2091, 7, 11))
    ledger.propose_refund("C1", "deposit", [("keys", D("100.00"))], on=d(2091, 7, 13))
    assert provisional(ledger) == [(d(2091, 7, 11), "deposit"), (d(2091, 7, 13), "deposit")]


# Crossing from an official year into an unpublished one, through ``decide`` with a calendar on
# which 2027..2092 are declared official (as a platform does after adding their schedules) and
# 2093 is not. Thu 2093-01-01 is New Year's Day (元旦, a statutory holiday in every year).

OFFICIAL_THROUGH_2092 = WorkdayCalendar(official_years=range(2027, 2093))
RULES = rule_pack("beijing-2024")


def decided(
    state: ContractState, command: cmd.Command, on: dt.date
) -> tuple[ContractState, list[ev.Event]]:
    events = decide(state, command, on, OFFICIAL_THROUGH_2092, RULES)
    for event in events:
        state = evolve(state, event)
    return state, events


def deposit_2092(make_terms: Callable[..., ContractTerms]) -> ContractState:
    terms = make_terms("C1", start=d(2092, 3, 3), end=d(2092, 12, 31))
    [opened] = open_contract(
        cmd.OpenContract(terms),
        d(2092, 3, 3),
        RULES,
        custody_bank="B1",
        supervision_bank="B1",
        suspended=False,
        existing=None,
    )
    assert isinstance(opened, ev.ContractOpened)
    state, _ = decided(open_state(opened), cmd.PayDeposit(D("5000.00")), d(2092, 3, 3))
    return state


def opened_workflows(events: list[ev.Event]) -> list[tuple[dt.date, bool]]:
    return [(e.deadline, e.provisional) for e in events if isinstance(e, ev.RefundWorkflowOpened)]


def test_rule_21_a_deadline_counted_from_an_official_year_into_an_unpublished_one_is_provisional(
    make_terms: Callable[..., ContractTerms],
) -> None:
    state = deposit_2092(make_terms)
    # Returned Mon 2092-12-29: Tue 12-30 (1), Wed 12-31 (2), Thu 2093-01-01 off, Fri 01-02 (3).
    _, events = decided(state, cmd.ReturnHome(), d(2092, 12, 29))
    assert opened_workflows(events) == [(d(2093, 1, 2), True)]


def test_rule_21_a_deadline_that_stays_in_the_official_year_is_not_provisional(
    make_terms: Callable[..., ContractTerms],
) -> None:
    state = deposit_2092(make_terms)
    # Returned Tue 2092-12-23: Wed 12-24 (1), Thu 12-25 (2), Fri 12-26 (3).
    _, events = decided(state, cmd.ReturnHome(), d(2092, 12, 23))
    assert opened_workflows(events) == [(d(2092, 12, 26), False)]


def test_rule_21_a_tenants_window_counted_into_an_unpublished_year_is_provisional(
    make_terms: Callable[..., ContractTerms],
) -> None:
    state = deposit_2092(make_terms)
    # Returned Wed 12-24: Thu 12-25 (1), Fri 12-26 (2), Mon 12-29 (3): official. The opinion of
    # Mon 12-29 deducting 100.00: Tue 12-30 (1), Wed 12-31 (2), Fri 2093-01-02 (3): provisional.
    state, events = decided(state, cmd.ReturnHome(), d(2092, 12, 24))
    assert opened_workflows(events) == [(d(2092, 12, 29), False)]
    deduction = ev.Deduction(item="keys", amount=D("100.00"))
    _, events = decided(state, cmd.ProposeRefund("deposit", (deduction,)), d(2092, 12, 29))
    proposed = [e for e in events if isinstance(e, ev.RefundProposed)]
    assert [(e.answer_deadline, e.provisional) for e in proposed] == [(d(2093, 1, 2), True)]


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
