"""Given/when/then on ``decide``: opening a contract (rule 20), deposits (Art. 9, rule 1) and
rent (Art. 13–14, rules 9–11). Histories and shorthands: ``tenancy_c1``."""

from __future__ import annotations

import pytest
from unit.given_when_then import CALENDAR, RULES, given
from unit.tenancy_c1 import DEPOSIT, OPENED, START, TERMS, D, d, executed, instructed

from escrow.domain import commands as cmd
from escrow.domain import events as ev
from escrow.domain.decide import decide
from escrow.domain.state import fold
from escrow.errors import (
    AmountError,
    ContractRefused,
    DuplicateContract,
    RuleViolation,
    TenancyEnded,
)

RETURNED = (OPENED, DEPOSIT, ev.HomeReturned(on=d(2025, 9, 30)))

# --- OpenContract (through open_contract) -------------------------------------------------------


def test_a_new_contract_opens_under_the_beijing_2024_rules_at_the_ledgers_banks() -> None:
    given().when(cmd.OpenContract(TERMS), on=d(2025, 6, 1)).then(
        ev.ContractOpened(
            on=d(2025, 6, 1),
            terms=TERMS,
            rules="beijing-2024",
            custody_bank="B1",
            supervision_bank="B2",
            suspended=False,
        )
    )


def test_a_contract_of_a_suspended_enterprise_opens_suspended() -> None:
    # Art. 20: the suspension covers every contract of the enterprise, new ones too.
    given().when(cmd.OpenContract(TERMS), on=d(2025, 6, 1), enterprise_suspended=True).then(
        ev.ContractOpened(
            on=d(2025, 6, 1),
            terms=TERMS,
            rules="beijing-2024",
            custody_bank="B1",
            supervision_bank="B2",
            suspended=True,
        )
    )


def test_a_contract_starting_the_day_before_the_rules_came_into_force_is_refused() -> None:
    # Rule 20 / Art. 22: beijing-2024 governs contracts starting from 2024-10-01.
    early = TERMS.model_copy(update={"start": d(2024, 9, 30)})
    given().when(cmd.OpenContract(early), on=d(2024, 9, 30)).refused(
        ContractRefused, "starts on 2024-09-30, before 2024-10-01"
    )


def test_a_contract_starting_the_day_the_rules_came_into_force_opens() -> None:
    first = TERMS.model_copy(update={"start": d(2024, 10, 1)})
    given().when(cmd.OpenContract(first), on=d(2024, 10, 1)).then(
        ev.ContractOpened(
            on=d(2024, 10, 1),
            terms=first,
            rules="beijing-2024",
            custody_bank="B1",
            supervision_bank="B2",
        )
    )


def test_a_contract_already_in_the_ledger_is_not_opened_again() -> None:
    given(OPENED).when(cmd.OpenContract(TERMS), on=d(2025, 6, 2)).refused(
        DuplicateContract, "contract C1 is already in the ledger"
    )


# --- PayDeposit ---------------------------------------------------------------------------------


def test_the_agreed_deposit_paid_on_the_start_day_is_one_lot_and_no_flag() -> None:
    given(OPENED).when(cmd.PayDeposit(D("5000.00")), on=START).then(
        ev.DepositReceived(on=START, amount=D("5000.00"), channel="bank", lot=1)
    )


def test_a_late_short_deposit_is_recorded_and_flagged_twice() -> None:
    # Rule 1: 3,000.00 of the agreed 5,000.00, by e-CNY, two days after the start (06-03).
    given(OPENED).when(cmd.PayDeposit(D("3000.00"), channel="ecny"), on=d(2025, 6, 5)).then(
        ev.DepositReceived(on=d(2025, 6, 5), amount=D("3000.00"), channel="ecny", lot=1),
        ev.PaymentFlagged(
            on=d(2025, 6, 5),
            fund="deposit",
            kind="late_payment",
            detail="deposit paid on 2025-06-05, after the tenancy started on 2025-06-03",
        ),
        ev.PaymentFlagged(
            on=d(2025, 6, 5),
            fund="deposit",
            kind="short_payment",
            detail="deposit paid so far 3000.00 is below the agreed 5000.00",
        ),
    )


def test_a_second_deposit_payment_is_lot_2_and_an_excess_is_flagged() -> None:
    # 5,000.00 + 100.00 = 5,100.00 paid, above the agreed 5,000.00; paid on the start day.
    given(OPENED, DEPOSIT).when(cmd.PayDeposit(D("100.00")), on=START).then(
        ev.DepositReceived(on=START, amount=D("100.00"), channel="bank", lot=2),
        ev.PaymentFlagged(
            on=START,
            fund="deposit",
            kind="excess_payment",
            detail="deposit paid so far 5100.00 is above the agreed 5000.00",
        ),
    )


def test_a_deposit_notice_booked_later_is_dated_the_day_it_arrived() -> None:
    given(OPENED).when(cmd.PayDeposit(D("5000.00"), arrived=START), on=d(2025, 6, 5)).then(
        ev.DepositReceived(
            on=START, amount=D("5000.00"), channel="bank", lot=1, booked_on=d(2025, 6, 5)
        )
    )


def test_a_deposit_after_the_return_is_refused() -> None:
    given(*RETURNED).when(cmd.PayDeposit(D("100.00")), on=d(2025, 10, 1)).refused(
        TenancyEnded, "returned on 2025-09-30; no deposit is taken"
    )


def test_a_deposit_of_nothing_is_refused() -> None:
    given(OPENED).when(cmd.PayDeposit(D("0.00")), on=START).refused(
        AmountError, "deposit payment: must be more than zero"
    )


def test_a_deposit_arriving_tomorrow_is_refused() -> None:
    given(OPENED).when(cmd.PayDeposit(D("5000.00"), arrived=d(2025, 6, 4)), on=START).refused(
        RuleViolation, "cannot arrive on 2025-06-04, after today"
    )


# --- PayRent ------------------------------------------------------------------------------------


def test_three_months_rent_goes_straight_to_the_enterprise() -> None:
    # Rule 9: 12,000.00 = 3 × 4,000.00 is not MORE than 3 months: outside the escrow.
    given(OPENED).when(cmd.PayRent(D("12000.00")), on=START).then(
        ev.RentReceived(on=START, amount=D("12000.00"), channel="bank", supervised=False)
    )


def test_six_months_rent_is_a_tranche_and_its_first_three_months_go_out_the_same_day() -> None:
    # Rules 9–10: 24,000.00 = 6 months > 3 months: tranche 1. Release 0 = 3 × 4,000.00 =
    # 12,000.00 to the enterprise on arrival, Tuesday 2025-06-03, a working day (rule 11), so it
    # executes that day: days = 0, interest 12,000.00 × 0.35 % × 0 / 360 = 0.00.
    given(OPENED).when(cmd.PayRent(D("24000.00")), on=START).then(
        ev.RentReceived(on=START, amount=D("24000.00"), channel="bank", supervised=True, lot=1),
        instructed(
            START, 1, "rent", "release", "enterprise", "12000.00", execute_on=START, release_no=0
        ),
        executed(START, 1, "rent", "12000.00", days=0, interest="0.00", interest_to="enterprise"),
    )


def test_a_tranche_arriving_on_a_saturday_releases_on_monday() -> None:
    # Rule 11: arrival Saturday 2025-06-07; the release is instructed that day and settles on the
    # next working day, Monday 06-09 (no holiday between): nothing executes on the 7th.
    saturday = d(2025, 6, 7)
    given(OPENED).when(cmd.PayRent(D("24000.00")), on=saturday).then(
        ev.RentReceived(on=saturday, amount=D("24000.00"), channel="bank", supervised=True, lot=1),
        instructed(
            saturday,
            1,
            "rent",
            "release",
            "enterprise",
            "12000.00",
            execute_on=d(2025, 6, 9),
            arrived=saturday,
            release_no=0,
        ),
    )


def test_rent_above_the_whole_term_is_flagged() -> None:
    # The term 2025-06-03..2026-06-02 has 12 monthly anniversaries (06-03 … 2026-05-03):
    # 12 × 4,000.00 = 48,000.00; 13 months = 52,000.00 is above it. Release 0 as above.
    given(OPENED).when(cmd.PayRent(D("52000.00")), on=START).then(
        ev.RentReceived(on=START, amount=D("52000.00"), channel="bank", supervised=True, lot=1),
        ev.PaymentFlagged(
            on=START,
            fund="rent",
            kind="excess_payment",
            detail="rent paid so far 52000.00 is above the 48000.00 of the whole term",
        ),
        instructed(
            START, 1, "rent", "release", "enterprise", "12000.00", execute_on=START, release_no=0
        ),
        executed(START, 1, "rent", "12000.00", days=0, interest="0.00", interest_to="enterprise"),
    )


def test_rent_after_the_return_is_refused() -> None:
    given(*RETURNED).when(cmd.PayRent(D("4000.00")), on=d(2025, 10, 1)).refused(
        TenancyEnded, "returned on 2025-09-30; no rent is taken"
    )


def test_rent_for_more_than_240_months_is_refused() -> None:
    # 240 × 4,000.00 = 960,000.00 is the most one payment may cover (Civil Code Art. 705).
    given(OPENED).when(cmd.PayRent(D("960000.01")), on=START).refused(
        RuleViolation, "more than 240 months' rent at 4000.00"
    )


def test_decide_itself_refuses_to_open_a_contract_it_already_holds() -> None:
    # decide has no handler that opens: an OpenContract reaching it is a duplicate.
    state = fold([OPENED])
    assert state is not None
    with pytest.raises(DuplicateContract, match="contract C1 is already in the ledger"):
        decide(state, cmd.OpenContract(TERMS), d(2025, 6, 2), CALENDAR, RULES)
