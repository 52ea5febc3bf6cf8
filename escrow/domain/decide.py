"""decide(state, command, today, calendar, rules) -> events: the one entry to the rules.

Pure: no I/O, no wall clock. Before and after a command, everything that fell due up to
``today`` is done (releases, lapsed deadlines, settlements), earliest first, so a command's
immediate payouts (the undisputed refund, the first 3 months' rent) execute the same day when it
is a settlement day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import NamedTuple

from escrow.calendar import WorkdayCalendar
from escrow.domain import commands as cmd
from escrow.domain import events as ev
from escrow.domain.decision import Decision
from escrow.domain.ledger import Transfer
from escrow.domain.payments import pay_deposit, pay_rent
from escrow.domain.payouts import execute
from escrow.domain.refund import agree, disagree, lapse, next_lapse, propose, resolve, return_home
from escrow.domain.state import ContractState
from escrow.domain.supervision import next_release, release, resume, suspend
from escrow.domain.terms import FUND_OF_ACCOUNT
from escrow.errors import ClockError, DuplicateContract
from escrow.rules import RulePack


def open_contract(
    command: cmd.OpenContract,
    today: dt.date,
    rules: RulePack,
    *,
    custody_bank: str,
    supervision_bank: str,
    suspended: bool,
    existing: ContractState | None,
) -> list[ev.Event]:
    """Open a contract stream; the rule pack refuses contracts it does not govern (rule 20)."""
    if existing is not None:
        raise DuplicateContract(f"contract {command.terms.id} is already in the ledger")
    rules.check_contract(command.terms)
    return [
        ev.ContractOpened(
            on=today,
            terms=command.terms,
            rules=rules.name,
            custody_bank=custody_bank,
            supervision_bank=supervision_bank,
            suspended=suspended,
        )
    ]


class Decided(NamedTuple):
    """What a command decided: its events, the state before each of them, and the state after
    the last one. The fold is done once, while deciding (the service does not evolve again);
    so are each event's transfers (the overdraft guard computes them, the read models take
    them)."""

    events: list[ev.Event]
    befores: list[ContractState]
    state: ContractState
    transfers: list[list[Transfer]]


def decide(
    state: ContractState,
    command: cmd.Command,
    today: dt.date,
    calendar: WorkdayCalendar,
    rules: RulePack,
) -> list[ev.Event]:
    """The events ``command`` on ``today`` produces; raises a RuleViolation when refused."""
    return decide_folded(state, command, today, calendar, rules).events


def decide_folded(
    state: ContractState,
    command: cmd.Command,
    today: dt.date,
    calendar: WorkdayCalendar,
    rules: RulePack,
) -> Decided:
    """:func:`decide`, with the states the events fold to (see :class:`Decided`)."""
    if state.last_date is not None and today < state.last_date:
        raise ClockError(
            f"contract {state.terms.id}: {today} is before {state.last_date}, the last date"
            " the ledger recorded for it"
        )
    d = Decision(state=state, today=today, calendar=calendar, rules=rules)
    run_due(d, today)
    _HANDLERS[type(command)](d, command)
    run_due(d, today)
    return Decided(d.events, d.befores, d.state, d.transfers)


def _migrate(d: Decision, c: cmd.MigrateFunds) -> None:
    """Art. 18: every balance of the account moves; lots keep their arrival dates."""
    fund = FUND_OF_ACCOUNT[c.account]
    d.emit(
        ev.FundsMigrated(
            on=d.today,
            account=c.account,
            old_bank=c.old_bank,
            bank=c.bank,
            principal=d.state.held(fund),
        )
    )


def _refuse_open(d: Decision, c: cmd.OpenContract) -> None:
    raise DuplicateContract(f"contract {c.terms.id} is already in the ledger")


def _nothing(d: Decision, c: cmd.Tick) -> None:
    return None


_HANDLERS: dict[type, Callable[[Decision, object], None]] = {
    cmd.OpenContract: _refuse_open,  # type: ignore[dict-item]
    cmd.PayDeposit: pay_deposit,  # type: ignore[dict-item]
    cmd.PayRent: pay_rent,  # type: ignore[dict-item]
    cmd.ReturnHome: lambda d, c: return_home(d, c.reason),  # type: ignore[attr-defined]
    cmd.ProposeRefund: propose,  # type: ignore[dict-item]
    cmd.TenantAgree: lambda d, c: agree(d, c.fund),  # type: ignore[attr-defined]
    cmd.TenantDisagree: lambda d, c: disagree(d, c.fund),  # type: ignore[attr-defined]
    cmd.Resolve: resolve,  # type: ignore[dict-item]
    cmd.SuspendReleases: lambda d, c: suspend(d),
    cmd.ResumeReleases: lambda d, c: resume(d),
    cmd.MigrateFunds: _migrate,  # type: ignore[dict-item]
    cmd.Tick: _nothing,  # type: ignore[dict-item]
}


# What falls due, in the order the fund centre does it on one day: releases first, then lapsed
# deadlines, then the payouts that execute that day.
_RELEASE, _LAPSE, _EXECUTE = 0, 1, 2


def _due_items(state: ContractState) -> list[tuple[dt.date, int, int]]:
    items: list[tuple[dt.date, int, int]] = []
    for lot in state.rent_lots:
        day = next_release(state, lot)
        if day is not None:
            items.append((day, _RELEASE, lot.no))
    for i, wf in enumerate((state.deposit_workflow, state.rent_workflow)):
        if wf is not None:
            day = next_lapse(wf)
            if day is not None:
                items.append((day, _LAPSE, i))
    for payout in state.payouts:
        if payout.execute_on is not None:
            items.append((payout.execute_on, _EXECUTE, payout.no))
    return items


def next_due(state: ContractState) -> dt.date | None:
    """The earliest day on which something falls due for this contract, or None."""
    items = _due_items(state)
    return min(items)[0] if items else None


def run_due(d: Decision, until: dt.date) -> None:
    """Do everything due up to ``until``, earliest first; each event dated the day it falls."""
    while True:
        items = [item for item in _due_items(d.state) if item[0] <= until]
        if not items:
            return
        day, what, key = min(items)
        if what == _RELEASE:
            lot = next(lot for lot in d.state.rent_lots if lot.no == key)
            release(d, lot, day)
        elif what == _LAPSE:
            wf = (d.state.deposit_workflow, d.state.rent_workflow)[key]
            assert wf is not None
            lapse(d, wf, day)
        else:
            execute(d, d.state.payout(key))
