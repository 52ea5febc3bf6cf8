"""A contract's state: a fold of its events (``evolve``), never stored on its own."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any, Literal, TypeVar, cast

from escrow.domain import events as ev
from escrow.domain.terms import Account, ContractTerms, Fund
from escrow.money import ZERO

_Record = TypeVar("_Record")


def _replace(record: _Record, **changes: Any) -> _Record:
    """``dataclasses.replace`` for this module's frozen records, at a fraction of the cost.

    ``evolve`` replaces a record several times per event (and ``decide`` folds its own events
    to check them), so this is the domain's hottest line. The records have no ``__post_init__``
    and no defaults that depend on other fields, so copying the instance's ``__dict__`` and
    setting the changed fields (as the generated ``__init__`` itself does) builds the same
    object without a call per field. Unlike ``dataclasses.replace`` it does not check the
    field names; ``tests/unit/test_state_records.py`` checks every call in this module.
    """
    new: _Record = object.__new__(type(record))
    new.__dict__.update(record.__dict__, **changes)
    return new


Stage = Literal["awaiting_opinion", "awaiting_answer", "reminded", "disputed", "closed"]


@dataclasses.dataclass(frozen=True)
class Lot:
    """A deposit payment or a supervised rent tranche: principal with its own arrival date."""

    no: int
    arrived: dt.date
    amount: Decimal
    remaining: Decimal
    """Principal not yet taken by any payout instruction."""
    next_release: int = 0
    booked_on: dt.date | None = None
    """When the ledger learnt of the lot, if after its arrival (a backdated bank notice)."""
    """Tranches: the next release (0: the first 3 months; k: the k-th monthly anniversary)."""


@dataclasses.dataclass(frozen=True)
class Payout:
    """An instructed payout that has not executed yet (``execute_on`` None: held by suspension)."""

    no: int
    fund: Fund
    kind: ev.PayoutKind
    to: ev.Party
    pieces: tuple[ev.Piece, ...]
    instructed_on: dt.date
    execute_on: dt.date | None

    @property
    def principal(self) -> Decimal:
        return sum((p.principal for p in self.pieces), ZERO)


@dataclasses.dataclass(frozen=True)
class Workflow:
    """The refund negotiation of one fund after the return (Art. 10–11, Art. 15–16)."""

    fund: Fund
    returned_on: dt.date
    held: Decimal
    deadline: dt.date
    stage: Stage = "awaiting_opinion"
    opinion_on: dt.date | None = None
    deductions: tuple[ev.Deduction, ...] = ()
    answer_deadline: dt.date | None = None
    second_deadline: dt.date | None = None
    outcome: str | None = None

    @property
    def deducted(self) -> Decimal:
        return sum((d.amount for d in self.deductions), ZERO)


@dataclasses.dataclass(frozen=True)
class ContractState:
    terms: ContractTerms
    rules: str
    custody_bank: str
    supervision_bank: str
    suspended: bool = False
    deposit_lots: tuple[Lot, ...] = ()
    rent_lots: tuple[Lot, ...] = ()
    payouts: tuple[Payout, ...] = ()
    next_payout: int = 1
    returned_on: dt.date | None = None
    deposit_workflow: Workflow | None = None
    rent_workflow: Workflow | None = None
    deposit_paid: Decimal = ZERO
    rent_paid: Decimal = ZERO
    last_date: dt.date | None = None
    """The latest effective date of any event: business time never runs backwards."""

    def lots(self, fund: Fund) -> tuple[Lot, ...]:
        return self.deposit_lots if fund == "deposit" else self.rent_lots

    def workflow(self, fund: Fund) -> Workflow | None:
        return self.deposit_workflow if fund == "deposit" else self.rent_workflow

    def unreserved(self, fund: Fund) -> Decimal:
        """Principal of ``fund`` not promised to any payout: what a refund opinion works on."""
        return sum((lot.remaining for lot in self.lots(fund)), ZERO)

    def held(self, fund: Fund) -> Decimal:
        """Principal still in the account: unreserved plus instructed but not yet executed."""
        pending = sum((p.principal for p in self.payouts if p.fund == fund), ZERO)
        return self.unreserved(fund) + pending

    def bank(self, account: Account) -> str:
        return self.custody_bank if account == "custody" else self.supervision_bank

    def payout(self, no: int) -> Payout:
        for p in self.payouts:
            if p.no == no:
                return p
        raise KeyError(no)


def _with_workflow(state: ContractState, wf: Workflow) -> ContractState:
    if wf.fund == "deposit":
        return _replace(state, deposit_workflow=wf)
    return _replace(state, rent_workflow=wf)


def _take(
    lots: tuple[Lot, ...], pieces: tuple[ev.Piece, ...], release: tuple[int, int] | None = None
) -> tuple[Lot, ...]:
    """``lots`` less the principal ``pieces`` take; ``release`` (a lot and its next release
    number) also moves that tranche's next release on."""
    taken: dict[int, Decimal] = {}
    for piece in pieces:
        taken[piece.lot] = taken.get(piece.lot, ZERO) + piece.principal
    out = []
    for lot in lots:
        principal = taken.get(lot.no)
        if principal is None:
            out.append(lot)
        elif release is not None and lot.no == release[0]:
            out.append(_replace(lot, remaining=lot.remaining - principal, next_release=release[1]))
        else:
            out.append(_replace(lot, remaining=lot.remaining - principal))
    return tuple(out)


def _instructed(state: ContractState, event: ev.PayoutInstructed, last: dt.date) -> ContractState:
    """The payout is pending; its pieces are taken from their lots (a release also moves its
    tranche's next release on)."""
    payout = Payout(
        no=event.payout,
        fund=event.fund,
        kind=event.kind,
        to=event.to,
        pieces=event.pieces,
        instructed_on=event.on,
        execute_on=event.execute_on,
    )
    release = None
    if event.release_no is not None:  # a tranche's release: its next one comes after
        release = (event.pieces[0].lot, event.release_no + 1)
    lots = _take(state.lots(event.fund), event.pieces, release)
    payouts = (*state.payouts, payout)
    next_payout = max(state.next_payout, event.payout + 1)
    if event.fund == "deposit":
        return _replace(
            state,
            last_date=last,
            deposit_lots=lots,
            payouts=payouts,
            next_payout=next_payout,
        )
    return _replace(state, last_date=last, rent_lots=lots, payouts=payouts, next_payout=next_payout)


def _give_back(lots: tuple[Lot, ...], pieces: tuple[ev.Piece, ...]) -> tuple[Lot, ...]:
    back = tuple(p.model_copy(update={"principal": -p.principal}) for p in pieces)
    return _take(lots, back)


def open_state(event: ev.ContractOpened) -> ContractState:
    """The state a contract stream starts in."""
    return ContractState(
        terms=event.terms,
        rules=event.rules,
        custody_bank=event.custody_bank,
        supervision_bank=event.supervision_bank,
        suspended=event.suspended,
        last_date=event.on,
    )


_PAYMENTS = frozenset({ev.DepositReceived, ev.RentReceived})
"""Payments, which may be booked after they arrived (by exact type: events are final classes)."""


def evolve(state: ContractState, event: ev.Event) -> ContractState:
    """The state after ``event``. Pure: the same events always fold to the same state."""
    booked = event.on
    if type(event) in _PAYMENTS:
        booked = cast(ev.DepositReceived | ev.RentReceived, event).booked_on or booked
    last = max(state.last_date or booked, booked)
    # Payouts are most of the events: each is folded in one replace, last date included.
    if type(event) is ev.PayoutInstructed:
        return _instructed(state, event, last)
    if type(event) is ev.PayoutExecuted:
        payouts = tuple(p for p in state.payouts if p.no != event.payout)
        return _replace(state, last_date=last, payouts=payouts)
    s = state if last == state.last_date else _replace(state, last_date=last)
    match event:
        case ev.DepositReceived(amount=amount, lot=no, on=on):
            lot = Lot(no=no, arrived=on, amount=amount, remaining=amount)
            return _replace(
                s, deposit_lots=(*s.deposit_lots, lot), deposit_paid=s.deposit_paid + amount
            )
        case ev.RentReceived(amount=amount, supervised=supervised, lot=no, on=on):
            s = _replace(s, rent_paid=s.rent_paid + amount)
            if supervised and no is not None:
                lot = Lot(
                    no=no, arrived=on, amount=amount, remaining=amount, booked_on=event.booked_on
                )
                s = _replace(s, rent_lots=(*s.rent_lots, lot))
            return s
        case ev.HomeReturned(on=on):
            return _replace(s, returned_on=on)
        case ev.RefundWorkflowOpened(fund=fund, held=held, deadline=deadline, on=on):
            wf = Workflow(fund=fund, returned_on=on, held=held, deadline=deadline)
            return _with_workflow(s, wf)
        case ev.RefundProposed(fund=fund, deductions=deductions, answer_deadline=due, on=on):
            wf = _workflow(s, fund)
            stage: Stage = "awaiting_answer" if due is not None else "closed"
            wf = _replace(
                wf,
                stage=stage,
                opinion_on=on,
                deductions=deductions,
                answer_deadline=due,
                outcome=None if due is not None else "refunded_in_full",
            )
            return _with_workflow(s, wf)
        case ev.TenantAnswered(fund=fund, agreed=agreed):
            wf = _workflow(s, fund)
            if agreed:
                wf = _replace(wf, stage="closed", outcome="agreed")
            else:
                wf = _replace(wf, stage="disputed", outcome="disputed")
            return _with_workflow(s, wf)
        case ev.ReminderIssued(fund=fund, second_deadline=due):
            wf = _replace(_workflow(s, fund), stage="reminded", second_deadline=due)
            return _with_workflow(s, wf)
        case ev.DeemedAgreed(fund=fund):
            wf = _replace(_workflow(s, fund), stage="closed", outcome="deemed_agreed")
            return _with_workflow(s, wf)
        case ev.EnterpriseDeadlineMissed(fund=fund):
            wf = _replace(_workflow(s, fund), stage="closed", outcome="enterprise_deadline_missed")
            return _with_workflow(s, wf)
        case ev.DisputeResolved(fund=fund, via=via):
            wf = _replace(_workflow(s, fund), stage="closed", outcome=f"resolved:{via}")
            return _with_workflow(s, wf)
        case ev.ReleasesSuspended():
            return _replace(s, suspended=True)
        case ev.ReleasesResumed():
            return _replace(s, suspended=False)
        case ev.PayoutsHeld(payouts=nos):
            return _replace(
                s,
                payouts=tuple(
                    _replace(p, execute_on=None) if p.no in nos else p for p in s.payouts
                ),
            )
        case ev.HeldPayoutsFreed(payouts=nos, execute_on=execute_on):
            return _replace(
                s,
                payouts=tuple(
                    _replace(p, execute_on=execute_on) if p.no in nos else p for p in s.payouts
                ),
            )
        case ev.HeldReleasesCancelled(payouts=nos):
            cancelled = [p for p in s.payouts if p.no in nos]
            lots = s.rent_lots
            for p in cancelled:
                lots = _give_back(lots, p.pieces)
            return _replace(
                s, rent_lots=lots, payouts=tuple(p for p in s.payouts if p.no not in nos)
            )
        case ev.FundsMigrated(account=account, bank=bank):
            if account == "custody":
                return _replace(s, custody_bank=bank)
            return _replace(s, supervision_bank=bank)
        case _:
            # Notices that change nothing (payment flags) and events of other streams.
            return s


def _workflow(state: ContractState, fund: Fund) -> Workflow:
    wf = state.workflow(fund)
    if wf is None:  # pragma: no cover - decide never emits workflow events without one
        raise AssertionError(f"no {fund} workflow in contract {state.terms.id}")
    return wf


def fold(events: list[ev.Event]) -> ContractState | None:
    """The state of a contract stream, or None when it has no ContractOpened yet."""
    state: ContractState | None = None
    for event in events:
        if isinstance(event, ev.ContractOpened):
            state = open_state(event)
        elif state is not None:
            state = evolve(state, event)
    return state
