"""Payouts: which principal leaves (oldest lots first) and the interest it carries.

docs/rules.md rule 7: principal is taken from the oldest lots first, the tenant's part before the
enterprise's. Rules 14–17 (Art. 10, Art. 15): each piece earns interest at the demand-deposit rate
in force on the payout day, for the days from its arrival to the day before payout, rounded
half-up to the fen once per payout per lot.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from escrow.domain import events as ev
from escrow.domain.decision import Decision
from escrow.domain.state import Lot, Payout
from escrow.domain.terms import Fund
from escrow.errors import Overdraft
from escrow.interest import interest_days, lot_interest
from escrow.money import ZERO


def take_oldest_first(lots: tuple[Lot, ...], amount: Decimal) -> tuple[ev.Piece, ...]:
    """Pieces of ``lots`` worth ``amount``, oldest lot first; Overdraft if they hold less."""
    pieces: list[ev.Piece] = []
    left = amount
    for lot in sorted(lots, key=lambda lot: (lot.arrived, lot.no)):
        if left <= ZERO:
            break
        part = min(lot.remaining, left)
        if part > ZERO:
            pieces.append(ev.Piece(lot=lot.no, arrived=lot.arrived, principal=part))
            left -= part
    if left > ZERO:
        raise Overdraft(f"a payout of {amount} exceeds the {sum(x.remaining for x in lots)} held")
    return tuple(pieces)


def held_by_suspension(d: Decision, fund: Fund, to: ev.Party) -> bool:
    """Art. 20: while suspended, every payment from supervision to the enterprise is held."""
    return d.state.suspended and fund == "rent" and to == "enterprise"


def instruct(
    d: Decision,
    *,
    on: dt.date,
    fund: Fund,
    kind: ev.PayoutKind,
    to: ev.Party,
    pieces: tuple[ev.Piece, ...],
    release_no: int | None = None,
) -> None:
    """Instruct a payout of ``pieces``, executing on the settlement day (or held)."""
    held = held_by_suspension(d, fund, to)
    d.emit(
        ev.PayoutInstructed(
            on=on,
            fund=fund,
            payout=d.state.next_payout,
            kind=kind,
            to=to,
            pieces=pieces,
            execute_on=None if held else d.settlement_day(on),
            release_no=release_no,
        )
    )


def instruct_amount(
    d: Decision, *, on: dt.date, fund: Fund, kind: ev.PayoutKind, to: ev.Party, amount: Decimal
) -> None:
    """Instruct a payout of ``amount`` from the fund's unreserved principal, oldest lots first."""
    if amount > ZERO:
        pieces = take_oldest_first(d.state.lots(fund), amount)
        instruct(d, on=on, fund=fund, kind=kind, to=to, pieces=pieces)


def execute(d: Decision, payout: Payout) -> None:
    """The payout leaves the account on its execution day with each piece's interest."""
    assert payout.execute_on is not None
    day = payout.execute_on
    table = d.rules.rate_table
    paid = tuple(
        ev.PaidPiece(
            lot=p.lot,
            arrived=p.arrived,
            principal=p.principal,
            days=interest_days(p.arrived, day),
            interest=lot_interest(p.principal, p.arrived, day, table, d.rules.day_basis),
        )
        for p in payout.pieces
    )
    interest_to: ev.Party = payout.to
    if payout.kind == "deduction" and d.rules.deducted_interest_to == "tenant":
        interest_to = "tenant"
    d.emit(
        ev.PayoutExecuted(
            on=day,
            fund=payout.fund,
            payout=payout.no,
            annual_percent=table.rate_on(day),
            pieces=paid,
            interest_to=interest_to,
        )
    )
