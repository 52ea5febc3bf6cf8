"""Rent supervision: tranche releases and their suspension (Art. 14, Art. 20).

Art. 14: a tranche's first 3 months' rent goes to the enterprise within 1 day of arrival; the rest
one month's rent at a time, principal with its interest, the last release whatever remains.
Rule 10: each monthly release falls on a monthly anniversary of the arrival (clamped to
the month's end by ``relativedelta``), counted from the arrival each time so it never drifts.
Rule 12: releases that fall after the day the home is returned do not happen.
Rule 13 (Art. 20): while suspended, payouts from supervision to the enterprise are held; on
resumption they execute at once; a return while releases are held cancels them (none is
instructed again) and the rent they held goes through the rent refund workflow.
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from escrow.domain import events as ev
from escrow.domain.decision import Decision
from escrow.domain.payouts import instruct
from escrow.domain.state import ContractState, Lot
from escrow.errors import AlreadySuspended, NotSuspended
from escrow.money import ZERO


def release_date(lot: Lot, release_no: int) -> dt.date:
    """Release 0 on arrival; release k on the k-th monthly anniversary of the arrival."""
    return _anniversary(lot.arrived, release_no)


@functools.lru_cache(maxsize=65536)
def _anniversary(arrived: dt.date, months: int) -> dt.date:
    """``arrived`` plus ``months`` months, clamped to month end (asked many times per lot)."""
    return arrived + relativedelta(months=months)


def next_release(state: ContractState, lot: Lot) -> dt.date | None:
    """When ``lot`` next releases rent, or None (empty, or the home was returned).

    Once the home is returned no release is instructed any more (rules 12 and 13): releases due
    up to the return day were instructed before the return was decided, those after it do not
    happen, and releases held by a suspension at the return are cancelled and never instructed
    again, so the rent they held goes through the rent refund workflow.
    """
    if lot.remaining <= ZERO or state.returned_on is not None:
        return None
    day = release_date(lot, lot.next_release)
    if lot.booked_on is not None and day < lot.booked_on:
        day = lot.booked_on  # the fund centre cannot act on money before it learns of it
    return day


def release_amount(d: Decision, lot: Lot) -> Decimal:
    months = d.rules.first_release_months if lot.next_release == 0 else 1
    return min(d.state.terms.monthly_rent * months, lot.remaining)


def release(d: Decision, lot: Lot, day: dt.date) -> None:
    """Instruct the lot's next release; held (with a notice) while releases are suspended."""
    piece = ev.Piece(lot=lot.no, arrived=lot.arrived, principal=release_amount(d, lot))
    instruct(
        d,
        on=day,
        fund="rent",
        kind="release",
        to="enterprise",
        pieces=(piece,),
        release_no=lot.next_release,
    )


def suspend(d: Decision) -> None:
    """Art. 20: hold payouts from supervision to the enterprise, those not yet executed too."""
    if d.state.suspended:
        raise AlreadySuspended(
            f"releases to enterprise {d.state.terms.enterprise} are already suspended"
        )
    d.emit(ev.ReleasesSuspended(on=d.today, enterprise=d.state.terms.enterprise))
    pending = tuple(
        p.no
        for p in d.state.payouts
        if p.fund == "rent" and p.to == "enterprise" and p.execute_on is not None
    )
    if pending:
        d.emit(ev.PayoutsHeld(on=d.today, payouts=pending))


def resume(d: Decision) -> None:
    """Art. 20: what was held is paid at once, with interest to the day before payment."""
    if not d.state.suspended:
        raise NotSuspended(f"releases to enterprise {d.state.terms.enterprise} are not suspended")
    d.emit(ev.ReleasesResumed(on=d.today, enterprise=d.state.terms.enterprise))
    held = tuple(p.no for p in d.state.payouts if p.execute_on is None)
    if held:
        d.emit(ev.HeldPayoutsFreed(on=d.today, payouts=held, execute_on=d.settlement_day(d.today)))


def cancel_held_releases(d: Decision) -> None:
    """Rule 13: returned while releases are held: they are cancelled, and the rent they held
    goes back to its tranches for the rent refund workflow (``next_release`` never instructs a
    release after the return, so none of them comes back)."""
    held = tuple(p.no for p in d.state.payouts if p.execute_on is None and p.kind == "release")
    if held:
        d.emit(ev.HeldReleasesCancelled(on=d.today, payouts=held))
