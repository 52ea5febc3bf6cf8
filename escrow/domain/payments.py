"""Incoming payments: deposit lots (Art. 9) and rent, supervised or direct (Art. 13).

Rule 1: a short, late or excess payment is recorded and reported (a notice), never silently
taken as the agreed amount. Our reading where the regulation is silent:
- deposit: *late* when it arrives after the contract's start date; *short* while the deposit
  paid so far is below the contract's deposit; *excess* once it is above it;
- rent: *short* when a payment is not a whole number of months' rent; *excess* once the rent
  paid exceeds the rent of the whole term (whole months, a started month counting in full), or
  when one payment covers more months than are left from its arrival to the contract's end
  (flagged at arrival; its tranche still releases month by month while the tenant keeps the
  home, rule 10, and what is left at the return goes through the refund, rule 12).
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from escrow.domain import events as ev
from escrow.domain.commands import PayDeposit, PayRent
from escrow.domain.decision import Decision
from escrow.domain.state import ContractState
from escrow.errors import RuleViolation, TenancyEnded
from escrow.money import ZERO, check_amount, fmt

MAX_MONTHS_PER_PAYMENT = 240
"""The most months of rent one payment may cover: a lease is at most 20 years (Civil Code
Art. 705), so no lawful rent payment covers more; this bounds the releases (and so the events)
one payment can cause."""


def _refuse_after_return(state: ContractState, what: str) -> None:
    if state.returned_on is not None:
        raise TenancyEnded(
            f"contract {state.terms.id}: the home was returned on {state.returned_on};"
            f" no {what} is taken into escrow after the tenancy ended"
        )


def _check_positive(amount: Decimal, what: str) -> None:
    check_amount(amount, what, allow_zero=False)


def _arrival(d: Decision, arrived: dt.date | None) -> tuple[dt.date, dt.date | None]:
    """The arrival date, and the booking date when the notice comes later (backdated)."""
    if arrived is None or arrived == d.today:
        return d.today, None
    if arrived > d.today:
        raise RuleViolation(f"a payment cannot arrive on {arrived}, after today ({d.today})")
    return arrived, d.today


def pay_deposit(d: Decision, cmd: PayDeposit) -> None:
    """Art. 9: the deposit goes into the custody account as a lot of its own."""
    state = d.state
    _check_positive(cmd.amount, "deposit payment")
    _refuse_after_return(state, "deposit")
    on, booked = _arrival(d, cmd.arrived)
    lot_no = len(state.deposit_lots) + 1
    d.emit(
        ev.DepositReceived(
            on=on, amount=cmd.amount, channel=cmd.channel, lot=lot_no, booked_on=booked
        )
    )
    terms = d.state.terms
    paid = d.state.deposit_paid
    if on > terms.start:
        d.emit(
            ev.PaymentFlagged(
                on=on,
                fund="deposit",
                kind="late_payment",
                detail=f"deposit paid on {on}, after the tenancy started on {terms.start}",
            )
        )
    if paid < terms.deposit:
        kind = "short_payment"
        detail = f"deposit paid so far {fmt(paid)} is below the agreed {fmt(terms.deposit)}"
    elif paid > terms.deposit:
        kind = "excess_payment"
        detail = f"deposit paid so far {fmt(paid)} is above the agreed {fmt(terms.deposit)}"
    else:
        return
    d.emit(ev.PaymentFlagged(on=on, fund="deposit", kind=kind, detail=detail))


def term_rent(state: ContractState) -> Decimal:
    """The rent of the whole term: whole months from start to end, a started month in full."""
    terms = state.terms
    return terms.monthly_rent * term_months(terms.start, terms.end)


def term_months(start: dt.date, end: dt.date) -> int:
    """How many monthly anniversaries of ``start`` (itself included) fall on or before ``end``:
    the months a payment made on ``start`` can pay for, a started month counting in full."""
    return _term_months(start, end)


@functools.lru_cache(maxsize=4096)
def _term_months(start: dt.date, end: dt.date) -> int:
    """How many monthly anniversaries of ``start`` (itself included) fall on or before ``end``."""
    # Every anniversary before ``end``'s calendar month is on or before ``end``: start there.
    months = max(0, (end.year - start.year) * 12 + end.month - start.month - 1)
    while start + relativedelta(months=months) <= end:
        months += 1
    return months


def pay_rent(d: Decision, cmd: PayRent) -> None:
    """Art. 13: more than 3 months' rent goes wholly into supervision; else to the enterprise."""
    state = d.state
    _check_positive(cmd.amount, "rent payment")
    _refuse_after_return(state, "rent")
    terms = state.terms
    if cmd.amount > terms.monthly_rent * MAX_MONTHS_PER_PAYMENT:
        raise RuleViolation(
            f"contract {terms.id}: a rent payment of {fmt(cmd.amount)} is more than"
            f" {MAX_MONTHS_PER_PAYMENT} months' rent at {fmt(terms.monthly_rent)} a month"
            " (a lease is at most 20 years, Civil Code Art. 705)"
        )
    on, booked = _arrival(d, cmd.arrived)
    supervised = cmd.amount > terms.monthly_rent * d.rules.supervision_threshold_months
    lot_no = len(state.rent_lots) + 1 if supervised else None
    d.emit(
        ev.RentReceived(
            on=on,
            amount=cmd.amount,
            channel=cmd.channel,
            supervised=supervised,
            lot=lot_no,
            booked_on=booked,
        )
    )
    if cmd.amount % terms.monthly_rent != ZERO:
        d.emit(
            ev.PaymentFlagged(
                on=on,
                fund="rent",
                kind="short_payment",
                detail=f"rent of {fmt(cmd.amount)} is not a whole number of months"
                f" at {fmt(terms.monthly_rent)} a month",
            )
        )
    whole_term = term_rent(d.state)
    months_left = term_months(on, terms.end)
    left = terms.monthly_rent * months_left
    if d.state.rent_paid > whole_term:
        detail = (
            f"rent paid so far {fmt(d.state.rent_paid)} is above the {fmt(whole_term)} of the"
            " whole term"
        )
    elif cmd.amount > left:
        detail = (
            f"rent of {fmt(cmd.amount)} is above the {fmt(left)} of the {months_left}"
            f" month{'s' if months_left != 1 else ''} from {on} to the contract's end"
            f" on {terms.end}"
        )
    else:
        return
    d.emit(
        ev.PaymentFlagged(
            on=on,
            fund="rent",
            kind="excess_payment",
            detail=detail,
        )
    )
