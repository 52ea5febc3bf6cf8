"""Refusals: every act the rules forbid raises a named EscrowError and writes nothing.

docs/scenario-format.md lists: a refund opinion after its deadline, deductions above what is held, a second
opinion, a resolution whose split does not add up. The others are the named errors of
escrow/errors.py that the Ledger raises. Each test checks the error class AND that nothing was
written (the store's last position, the run report and the open deadlines are unchanged).

When a refused act is dated later than the ledger's clock, the clock first does what fell due by
that date (that is not the act writing): so every test below brings the clock to the act's date
with ``advance_to`` before the refused act.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from escrow.config import LedgerConfig
from escrow.domain.terms import ContractTerms
from escrow.errors import (
    AlreadyAnswered,
    AlreadySuspended,
    AmountError,
    ClockError,
    DeadlinePassed,
    DeductionsExceedHeld,
    DuplicateContract,
    EscrowError,
    InputError,
    NoDispute,
    NoRefundWorkflow,
    NothingToAnswer,
    NotSuspended,
    OpinionAlreadyGiven,
    RuleViolation,
    SplitMismatch,
    TenancyEnded,
    UnknownContract,
)
from escrow.service import Ledger, open_ledger

D = Decimal
d = dt.date

Refuse = Callable[..., EscrowError]


OPINION_DAY = d(2025, 10, 10)


def opinion(ledger: Ledger, on: dt.date = OPINION_DAY, amount: str = "300.00") -> None:
    ledger.propose_refund("C1", "deposit", [("cleaning", D(amount))], on=on)


# --- the refusals docs/scenario-format.md lists -------------------------------------------------------------


def test_refusal_an_opinion_after_its_deadline_is_deadline_passed(
    worked_example: Ledger, assert_refused: Refuse
) -> None:
    # Deadline Sat 2025-10-11 (end of day); Mon 10-13 is too late.
    worked_example.advance_to(d(2025, 10, 13))
    error = assert_refused(
        worked_example, DeadlinePassed, opinion, worked_example, on=d(2025, 10, 13)
    )
    assert "2025-10-11" in str(error)


def test_refusal_deductions_above_what_is_held(
    worked_example: Ledger, assert_refused: Refuse
) -> None:
    # Held 5,000.00; 300.00 + 4,700.01 = 5,000.01 > 5,000.00.
    worked_example.advance_to(d(2025, 10, 10))
    assert_refused(
        worked_example,
        DeductionsExceedHeld,
        worked_example.propose_refund,
        "C1",
        "deposit",
        [("cleaning", D("300.00")), ("damage", D("4700.01"))],
        on=d(2025, 10, 10),
    )
    # Exactly what is held is allowed (rule 4 tests that).


def test_refusal_a_second_opinion(
    worked_example: Ledger, make_terms: Callable[..., ContractTerms], assert_refused: Refuse
) -> None:
    opinion(worked_example)
    assert_refused(worked_example, OpinionAlreadyGiven, opinion, worked_example, amount="100.00")
    # Also once an opinion without deductions has closed the workflow.
    worked_example.open_contract(make_terms("C2"), on=d(2025, 10, 10))
    worked_example.pay_deposit("C2", D("1000.00"), on=d(2025, 10, 10))
    worked_example.return_home("C2", on=d(2025, 10, 10))
    worked_example.propose_refund("C2", "deposit", [], on=d(2025, 10, 10))
    assert_refused(
        worked_example,
        OpinionAlreadyGiven,
        worked_example.propose_refund,
        "C2",
        "deposit",
        [],
        on=d(2025, 10, 10),
    )


@pytest.mark.parametrize(
    ("to_tenant", "to_enterprise", "error"),
    [
        ("100.00", "100.00", SplitMismatch),
        ("200.00", "100.01", SplitMismatch),
        # A negative part is no amount at all: refused at the library's edge, as in a file.
        ("400.00", "-100.00", AmountError),
        ("-1.00", "301.00", AmountError),
    ],
)
def test_refusal_a_resolution_whose_split_does_not_add_up(
    worked_example: Ledger,
    assert_refused: Refuse,
    to_tenant: str,
    to_enterprise: str,
    error: type[EscrowError],
) -> None:
    # 300.00 in dispute: 100 + 100 ≠ 300; 200 + 100.01 ≠ 300; a negative part is no split.
    opinion(worked_example)
    worked_example.tenant_disagree("C1", "deposit", on=d(2025, 10, 13))
    assert_refused(
        worked_example,
        error,
        worked_example.resolve,
        "C1",
        "deposit",
        via="court",
        to_tenant=D(to_tenant),
        to_enterprise=D(to_enterprise),
        on=d(2025, 10, 13),
    )


# --- the other named errors the Ledger raises ----------------------------------------------------


def test_refusal_a_resolution_without_a_dispute_is_no_dispute(
    worked_example: Ledger, assert_refused: Refuse
) -> None:
    opinion(worked_example)
    resolve = worked_example.resolve
    kw = {"via": "negotiation", "to_tenant": D("300.00"), "to_enterprise": D("0.00")}
    # Awaiting the tenant's answer: not in dispute.
    assert_refused(worked_example, NoDispute, resolve, "C1", "deposit", on=d(2025, 10, 10), **kw)
    # Agreed: not in dispute.
    worked_example.tenant_agree("C1", "deposit", on=d(2025, 10, 13))
    assert_refused(worked_example, NoDispute, resolve, "C1", "deposit", on=d(2025, 10, 13), **kw)


def test_refusal_answers_out_of_turn(worked_example: Ledger, assert_refused: Refuse) -> None:
    ledger = worked_example
    # No opinion yet: nothing to answer.
    assert_refused(ledger, NothingToAnswer, ledger.tenant_agree, "C1", "deposit", on=d(2025, 10, 9))
    assert_refused(
        ledger, NothingToAnswer, ledger.tenant_disagree, "C1", "deposit", on=d(2025, 10, 9)
    )
    opinion(ledger)
    ledger.tenant_disagree("C1", "deposit", on=d(2025, 10, 13))
    # Already answered (disputed): neither a second disagreement nor a late agreement.
    assert_refused(
        ledger, AlreadyAnswered, ledger.tenant_agree, "C1", "deposit", on=d(2025, 10, 13)
    )
    assert_refused(
        ledger, AlreadyAnswered, ledger.tenant_disagree, "C1", "deposit", on=d(2025, 10, 13)
    )


def test_refusal_answering_after_agreeing(worked_example: Ledger, assert_refused: Refuse) -> None:
    ledger = worked_example
    opinion(ledger)
    ledger.tenant_agree("C1", "deposit", on=d(2025, 10, 13))
    assert_refused(
        ledger, AlreadyAnswered, ledger.tenant_agree, "C1", "deposit", on=d(2025, 10, 13)
    )
    assert_refused(
        ledger, AlreadyAnswered, ledger.tenant_disagree, "C1", "deposit", on=d(2025, 10, 13)
    )


def test_refusal_answering_after_deemed_agreement_is_deadline_passed(
    worked_example: Ledger, assert_refused: Refuse
) -> None:
    opinion(worked_example)
    worked_example.advance_to(d(2025, 10, 20))
    assert_refused(
        worked_example,
        DeadlinePassed,
        worked_example.tenant_disagree,
        "C1",
        "deposit",
        on=d(2025, 10, 20),
    )


def test_refusal_no_refund_workflow_before_the_return(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], assert_refused: Refuse
) -> None:
    ledger.open_contract(make_terms("C1"), on=d(2025, 6, 1))
    ledger.pay_deposit("C1", D("5000.00"), on=d(2025, 6, 3))
    for act in (ledger.tenant_agree, ledger.tenant_disagree):
        assert_refused(ledger, NoRefundWorkflow, act, "C1", "deposit", on=d(2025, 6, 3))
    assert_refused(
        ledger, NoRefundWorkflow, ledger.propose_refund, "C1", "deposit", [], on=d(2025, 6, 3)
    )


def test_refusal_a_duplicate_contract_or_filing_number(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], assert_refused: Refuse
) -> None:
    ledger.open_contract(make_terms("C1", filing_no="JZ-1"), on=d(2025, 6, 1))
    assert_refused(
        ledger,
        DuplicateContract,
        ledger.open_contract,
        make_terms("C1", filing_no="JZ-2"),
        on=d(2025, 6, 1),
    )
    assert_refused(
        ledger,
        InputError,
        ledger.open_contract,
        make_terms("C2", filing_no="JZ-1"),
        on=d(2025, 6, 1),
    )


def test_refusal_an_unknown_contract(ledger: Ledger, assert_refused: Refuse) -> None:
    assert_refused(ledger, UnknownContract, ledger.pay_deposit, "C9", D("1.00"), on=d(2025, 6, 1))
    assert_refused(ledger, UnknownContract, ledger.return_home, "C9", on=d(2025, 6, 1))


def test_refusal_payments_and_returns_after_the_tenancy_ended(
    worked_example: Ledger, assert_refused: Refuse
) -> None:
    ledger = worked_example
    day = d(2025, 10, 1)
    ledger.advance_to(day)
    assert_refused(ledger, TenancyEnded, ledger.pay_deposit, "C1", D("100.00"), on=day)
    assert_refused(ledger, TenancyEnded, ledger.pay_rent, "C1", D("20000.00"), on=day)
    assert_refused(ledger, TenancyEnded, ledger.return_home, "C1", on=day)


def test_refusal_non_positive_payments(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], assert_refused: Refuse
) -> None:
    ledger.open_contract(make_terms("C1"), on=d(2025, 6, 1))
    # A payment must be a positive amount of whole fen: zero and negatives are bad amounts.
    for amount in ("0.00", "-5000.00"):
        assert_refused(ledger, AmountError, ledger.pay_deposit, "C1", D(amount), on=d(2025, 6, 1))
        assert_refused(ledger, AmountError, ledger.pay_rent, "C1", D(amount), on=d(2025, 6, 1))


def test_refusal_suspending_twice_or_resuming_what_is_not_suspended(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], assert_refused: Refuse
) -> None:
    ledger.open_contract(make_terms("C1"), on=d(2025, 6, 1))
    assert_refused(ledger, NotSuspended, ledger.resume_releases, "E1", on=d(2025, 6, 1))
    ledger.suspend_releases("E1", on=d(2025, 6, 2))
    assert_refused(ledger, AlreadySuspended, ledger.suspend_releases, "E1", on=d(2025, 6, 2))


def test_refusal_acts_dated_before_the_ledgers_clock(
    worked_example: Ledger, assert_refused: Refuse
) -> None:
    # The clock is at 2025-09-30 (the return). (Payments are not in this list: a payment dated
    # before the clock is a backdated bank notice, booked today.)
    ledger = worked_example
    assert_refused(ledger, ClockError, opinion, ledger, on=d(2025, 9, 29))
    assert_refused(ledger, ClockError, ledger.suspend_releases, "E1", on=d(2025, 9, 1))
    assert_refused(ledger, ClockError, ledger.change_account, "custody", "ICBC", on=d(2025, 9, 1))
    assert_refused(ledger, ClockError, ledger.advance_to, d(2025, 9, 29))


def test_refusal_an_account_change_to_the_bank_it_is_already_at(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], assert_refused: Refuse
) -> None:
    ledger.open_contract(make_terms("C1"), on=d(2025, 6, 1))
    ledger.change_account("custody", "ICBC", on=d(2025, 6, 2))
    assert_refused(
        ledger, RuleViolation, ledger.change_account, "custody", "ICBC", on=d(2025, 6, 2)
    )


def test_refusal_reopening_a_ledger_with_another_configuration(
    ledger: Ledger, tmp_path: Path
) -> None:
    # The ledger fixture's file was configured with the defaults (day basis 360).
    position = ledger.store.last_position()
    with pytest.raises(InputError):
        open_ledger(str(tmp_path / "ledger.db"), LedgerConfig(day_basis=365))
    assert ledger.store.last_position() == position


# --- amounts: the ledger works in whole fen ------------------------------------------------------


def test_refusal_a_payment_with_sub_fen_digits_is_an_amount_error(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], assert_refused: Refuse
) -> None:
    # Money is decimal yuan with at most two decimals (docs/scenario-format.md; escrow.errors.AmountError).
    # A refused act raises a named EscrowError (Ledger docstring).
    ledger.open_contract(make_terms("C1"), on=d(2025, 6, 1))
    assert_refused(
        ledger, InputError, ledger.pay_deposit, "C1", D("100.001"), on=d(2025, 6, 1), exact=False
    )
    assert_refused(
        ledger, InputError, ledger.pay_rent, "C1", D("20000.005"), on=d(2025, 6, 1), exact=False
    )


def test_refusal_a_deduction_with_sub_fen_digits_is_an_amount_error(
    worked_example: Ledger, assert_refused: Refuse
) -> None:
    # A 300.005 deduction would refund 4,699.995: a sub-fen transfer no bank can make.
    worked_example.advance_to(d(2025, 10, 10))
    assert_refused(
        worked_example, InputError, opinion, worked_example, amount="300.005", exact=False
    )


def test_refusal_a_resolution_with_sub_fen_digits_is_an_amount_error(
    worked_example: Ledger, assert_refused: Refuse
) -> None:
    # 100.005 + 199.995 = 300.00 adds up, but neither part is a whole number of fen.
    opinion(worked_example)
    worked_example.tenant_disagree("C1", "deposit", on=d(2025, 10, 13))
    assert_refused(
        worked_example,
        InputError,
        worked_example.resolve,
        "C1",
        "deposit",
        via="court",
        to_tenant=D("100.005"),
        to_enterprise=D("199.995"),
        on=d(2025, 10, 13),
        exact=False,
    )


def test_refusal_a_negative_deduction_item(worked_example: Ledger, assert_refused: Refuse) -> None:
    # An opinion "lists itemised deductions (item + amount)" (rule 3): an item of −100.00 is no
    # deduction; it would net 300.00 − 100.00 = 200.00 against the tenant under a "credit" line.
    worked_example.advance_to(d(2025, 10, 10))
    assert_refused(
        worked_example,
        EscrowError,
        worked_example.propose_refund,
        "C1",
        "deposit",
        [("cleaning", D("300.00")), ("credit", D("-100.00"))],
        on=d(2025, 10, 10),
        exact=False,
    )
