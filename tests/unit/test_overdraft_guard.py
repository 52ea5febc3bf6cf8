"""The overdraft guard (docs/rules.md rules 18–19; Art. 8, Art. 12: 不透支).

``escrow.domain.ledger.post`` refuses, with :class:`~escrow.errors.Overdraft`, a posting that
would take a contract's share of the custody or the supervision account below zero, and leaves
the balances as they were; ``Decision.emit`` (every event a decision makes goes through it)
then emits nothing. The rules never ask for an overdraft, so these tests hand the guard one
directly: a transfer of more than is held, a migration of more than is held, and, through
``decide``, a migration from a bank that does not hold the money.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from escrow.calendar import WorkdayCalendar
from escrow.domain import commands as cmd
from escrow.domain import events as ev
from escrow.domain.decide import decide, decide_folded
from escrow.domain.decision import Decision
from escrow.domain.ledger import Transfer, post, transfers_of
from escrow.domain.state import ContractState, evolve, open_state
from escrow.domain.terms import Account, ContractTerms, Fund
from escrow.errors import Overdraft
from escrow.rules import rule_pack

D = Decimal
d = dt.date
CALENDAR = WorkdayCalendar()
RULES = rule_pack("beijing-2024")
CUSTODY = "custody@B1:C1"
SUPERVISION = "supervision@B1:C1"
TODAY = d(2025, 9, 30)


def transfer(account: str, principal: str, interest: str = "0.00") -> Transfer:
    """A payout of ``principal`` (+ the bank's ``interest``) from ``account`` to tenant T1."""
    fund: Fund = "deposit" if account.startswith("custody") else "rent"
    name = account.partition("@")[0]
    return Transfer(
        TODAY, "C1", fund, "refund", name, "tenant:T1", D(principal), D(interest), account,
        "tenant:T1",
    )  # fmt: skip


# --- post: the guard itself ---------------------------------------------------------------------


@pytest.mark.parametrize("account", [CUSTODY, SUPERVISION])
def test_a_transfer_of_one_fen_more_than_is_held_is_refused_and_nothing_moves(
    account: str,
) -> None:
    balances = {account: D("5000.00"), "tenant:T1": D("-5000.00")}
    with pytest.raises(Overdraft, match=account):
        post(balances, [transfer(account, "5000.01")])
    assert balances == {account: D("5000.00"), "tenant:T1": D("-5000.00")}


@pytest.mark.parametrize("account", [CUSTODY, SUPERVISION])
def test_a_transfer_from_an_empty_account_is_refused(account: str) -> None:
    balances: dict[str, Decimal] = {}
    with pytest.raises(Overdraft):
        post(balances, [transfer(account, "0.01")])
    assert balances == {}


@pytest.mark.parametrize("account", [CUSTODY, SUPERVISION])
def test_everything_held_may_leave_with_the_banks_interest_on_top(account: str) -> None:
    # 5,000.00 held; 5,000.00 principal + 6.47 interest paid: the principal leaves the account
    # (5,000.00 - 5,000.00 = 0.00, not below zero), the interest comes from the bank's interest.
    balances = {account: D("5000.00")}
    post(balances, [transfer(account, "5000.00", "6.47")])
    assert balances == {account: D("0.00"), "tenant:T1": D("5006.47"), "interest": D("-6.47")}


def test_a_batch_is_refused_whole_when_a_later_transfer_overdraws() -> None:
    # 3,000.00 held: 2,000.00 (leaves 1,000.00), then 1,000.01 (would leave -0.01): refused, and
    # the first transfer is not applied either.
    balances = {CUSTODY: D("3000.00")}
    with pytest.raises(Overdraft):
        post(balances, [transfer(CUSTODY, "2000.00"), transfer(CUSTODY, "1000.01")])
    assert balances == {CUSTODY: D("3000.00")}


def test_outside_parties_are_not_escrow_accounts_and_may_go_below_zero() -> None:
    # A payment in debits the tenant's account (money from outside the ledger).
    balances: dict[str, Decimal] = {}
    payment = Transfer(
        TODAY, "C1", "deposit", "payment_in", "tenant:T1", "custody", D("5000.00"), D("0.00"),
        "tenant:T1", CUSTODY,
    )  # fmt: skip
    post(balances, [payment])
    assert balances == {"tenant:T1": D("-5000.00"), CUSTODY: D("5000.00")}


# --- Decision.emit: a refused event is not emitted ----------------------------------------------


ARRIVAL = d(2025, 6, 3)


def holding() -> ContractState:
    """C1 (5,000.00 a month) at bank B1 after Tue 2025-06-03, when 5,000.00 of deposit and six
    months of rent (30,000.00) arrived: custody holds 5,000.00; the rent is a supervised tranche
    whose first 3 months (15,000.00) were paid to the enterprise that day (Art. 13), so
    supervision holds 30,000.00 - 15,000.00 = 15,000.00, and nothing falls due before 07-03."""
    terms = ContractTerms(
        id="C1",
        filing_no="JZ-C1",
        tenant="T1",
        enterprise="E1",
        start=d(2025, 6, 1),
        end=d(2026, 5, 31),
        monthly_rent=D("5000.00"),
        deposit=D("5000.00"),
    )
    state = open_state(
        ev.ContractOpened(
            on=d(2025, 6, 1),
            terms=terms,
            rules=RULES.name,
            custody_bank="B1",
            supervision_bank="B1",
        )
    )
    for command in (cmd.PayDeposit(D("5000.00")), cmd.PayRent(D("30000.00"))):
        for event in decide(state, command, ARRIVAL, CALENDAR, RULES):
            state = evolve(state, event)
    assert (state.held("deposit"), state.held("rent")) == (D("5000.00"), D("15000.00"))
    return state


@pytest.mark.parametrize(
    ("account", "fund"),
    [("custody", "deposit"), ("supervision", "rent")],
    ids=["custody", "supervision"],
)
def test_a_migration_of_more_than_is_held_is_not_emitted(account: Account, fund: Fund) -> None:
    state = holding()
    held = state.held(fund)
    decision = Decision(state=state, today=ARRIVAL, calendar=CALENDAR, rules=RULES)
    too_much = ev.FundsMigrated(
        on=ARRIVAL, account=account, old_bank="B1", bank="B2", principal=held + D("0.01")
    )

    with pytest.raises(Overdraft, match=f"{account}@B1:C1"):
        decision.emit(too_much)

    assert decision.events == []
    assert decision.state is state
    # What is held may move: the guard's balances were left as they were by the refusal.
    decision.emit(too_much.model_copy(update={"principal": held}))
    assert decision.events == [too_much.model_copy(update={"principal": held})]


# --- through decide -----------------------------------------------------------------------------


@pytest.mark.parametrize("account", ["custody", "supervision"])
def test_decide_refuses_a_migration_from_a_bank_that_does_not_hold_the_money(
    account: Account,
) -> None:
    # C1's money is at B1; a migration from B9 would take {account}@B9:C1 from 0.00 to -held.
    state = holding()
    with pytest.raises(Overdraft, match=f"{account}@B9:C1"):
        decide(state, cmd.MigrateFunds(account, "B9", "B2"), ARRIVAL, CALENDAR, RULES)

    # From B1, where it is, the whole balance moves: custody 5,000.00, supervision 15,000.00.
    [moved] = decide(state, cmd.MigrateFunds(account, "B1", "B2"), ARRIVAL, CALENDAR, RULES)
    assert isinstance(moved, ev.FundsMigrated)
    assert moved.principal == (D("5000.00") if account == "custody" else D("15000.00"))


def test_a_decision_hands_on_the_transfers_its_guard_posted() -> None:
    """The read models take each event's transfers from the decision (the guard computed
    them): they are the transfers of the event from the state just before it. C1 holds 5,000.00
    in custody and 15,000.00 in supervision; its tenant moves out, the enterprise lets its
    deadline pass and the clock runs on: both funds are refunded to the tenant."""
    state = holding()
    out = decide_folded(state, cmd.ReturnHome("expiry"), ARRIVAL, CALENDAR, RULES)
    later = decide_folded(out.state, cmd.Tick(), ARRIVAL + dt.timedelta(days=40), CALENDAR, RULES)
    for decided in (out, later):
        assert decided.transfers is not None
        assert len(decided.transfers) == len(decided.events)
        for before, event, transfers in zip(
            decided.befores, decided.events, decided.transfers, strict=True
        ):
            assert transfers == transfers_of(before, event)
    moved = [t for decided in (out, later) for ts in decided.transfers for t in ts]
    assert sorted((t.debit, t.principal) for t in moved) == [
        (CUSTODY, D("5000.00")),
        (SUPERVISION, D("15000.00")),
    ]
