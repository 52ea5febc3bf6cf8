"""Read models: transfers, notices, balances and deadlines, all folds over events."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import NamedTuple

from escrow.domain import events as ev
from escrow.domain.decide import next_due
from escrow.domain.state import ContractState
from escrow.domain.supervision import next_release
from escrow.domain.terms import FUND_OF_ACCOUNT, FUNDS, Fund
from escrow.interest import RateTable, lot_interest
from escrow.money import ZERO


class Notice(NamedTuple):
    """Something the clock produced that moves no money (docs/report-format.md ``notices``);
    an immutable named tuple, like :class:`~escrow.domain.ledger.Transfer`."""

    date: dt.date
    kind: str
    contract: str | None = None
    fund: Fund | None = None
    detail: str = ""


_PROVISIONAL_EVENTS = frozenset(
    {ev.RefundWorkflowOpened, ev.RefundProposed, ev.ReminderIssued, ev.AccountChanged}
)
"""The events that carry a deadline, which may count days of a provisional year."""
_NOTICE_EVENTS = _PROVISIONAL_EVENTS | {
    ev.PaymentFlagged,
    ev.EnterpriseDeadlineMissed,
    ev.DeemedAgreed,
    ev.PayoutInstructed,
    ev.PayoutsHeld,
    ev.AuthorityNoticeDue,
}
"""The only events that can give rise to a notice (by exact type: events are final classes)."""


def notices_of(contract: str | None, event: ev.Event) -> list[Notice]:
    """The notices ``event`` gives rise to."""
    if type(event) not in _NOTICE_EVENTS:
        return []
    c = contract
    out: list[Notice] = []
    match event:  # releases first: they are the frequent ones
        case ev.PayoutInstructed(execute_on=None, fund=fund, kind=kind, on=on):
            out.append(Notice(on, "releases_held", c, fund, f"{kind} held by the suspension"))
        case ev.PaymentFlagged(fund=fund, kind=kind, detail=detail, on=on):
            out.append(Notice(on, kind, c, fund, detail))
        case ev.ReminderIssued(fund=fund, second_deadline=due, on=on):
            out.append(Notice(on, "reminder", c, fund, f"the tenant may still answer until {due}"))
        case ev.EnterpriseDeadlineMissed(fund=fund, on=on):
            out.append(Notice(on, "enterprise_deadline_missed", c, fund))
        case ev.DeemedAgreed(fund=fund, on=on):
            out.append(Notice(on, "deemed_agreed", c, fund))
        case ev.PayoutsHeld(payouts=nos, on=on):
            out.append(Notice(on, "releases_held", c, "rent", f"{len(nos)} pending payout(s) held"))
        case ev.AuthorityNoticeDue(account=account, bank=bank, on=on):
            out.append(
                Notice(
                    on,
                    "authority_notice_due",
                    None,
                    FUND_OF_ACCOUNT[account],
                    f"the new {account} account at {bank} must be notified by today (Art. 18)",
                )
            )
        case _:
            pass
    provisional_due = _provisional_deadline(event) if type(event) in _PROVISIONAL_EVENTS else None
    if provisional_due is not None:
        fund_of = getattr(event, "fund", None)
        out.append(
            Notice(
                event.on,
                "provisional_deadline",
                c,
                fund_of,
                f"deadline {provisional_due} counts days of a year whose official workday"
                " schedule is not yet published",
            )
        )
    return out


def _provisional_deadline(event: ev.Event) -> dt.date | None:
    match event:
        case ev.RefundWorkflowOpened(provisional=True, deadline=due):
            return due
        case ev.RefundProposed(provisional=True, answer_deadline=due):
            return due
        case ev.ReminderIssued(provisional=True, second_deadline=due):
            return due
        case ev.AccountChanged(provisional=True, notice_due=due):
            return due
        case _:
            return None


@dataclasses.dataclass(frozen=True)
class FundBalance:
    fund: Fund
    principal: Decimal
    """Principal held in the account for this fund."""
    interest_accrued: Decimal
    """Interest the held principal would earn if paid out on the as-of date (rules 14–17)."""
    lots: tuple[tuple[dt.date, Decimal], ...]


@dataclasses.dataclass(frozen=True)
class Balance:
    """What a tenant sees by filing number (Art. 19)."""

    contract: str
    filing_no: str
    tenant: str
    enterprise: str
    as_of: dt.date
    deposit: FundBalance
    rent: FundBalance


def balance_of(state: ContractState, as_of: dt.date, table: RateTable, day_basis: int) -> Balance:
    funds: dict[Fund, FundBalance] = {}
    for fund in FUNDS:
        pieces: list[tuple[dt.date, Decimal]] = [
            (lot.arrived, lot.remaining) for lot in state.lots(fund) if lot.remaining > ZERO
        ]
        for payout in state.payouts:
            if payout.fund == fund:
                pieces += [(p.arrived, p.principal) for p in payout.pieces]
        interest = ZERO
        try:
            for arrived, principal in pieces:
                interest += lot_interest(principal, arrived, as_of, table, day_basis)
        except Exception:  # before the rate table starts: no estimate
            interest = ZERO
        funds[fund] = FundBalance(fund, state.held(fund), interest, tuple(sorted(pieces)))
    t = state.terms
    return Balance(
        t.id, t.filing_no, t.tenant, t.enterprise, as_of, funds["deposit"], funds["rent"]
    )


@dataclasses.dataclass(frozen=True)
class Deadline:
    """Something that will fall due for a contract."""

    date: dt.date
    contract: str
    fund: Fund
    kind: str
    detail: str = ""


def deadlines_of(state: ContractState) -> list[Deadline]:
    """Open deadlines and scheduled money movements of a contract, earliest first."""
    c = state.terms.id
    out: list[Deadline] = []
    for wf in (state.deposit_workflow, state.rent_workflow):
        if wf is None:
            continue
        if wf.stage == "awaiting_opinion":
            out.append(Deadline(wf.deadline, c, wf.fund, "refund_opinion", "enterprise"))
        elif wf.stage == "awaiting_answer" and wf.answer_deadline is not None:
            out.append(Deadline(wf.answer_deadline, c, wf.fund, "tenant_answer", "first window"))
        elif wf.stage == "reminded" and wf.second_deadline is not None:
            out.append(
                Deadline(wf.second_deadline, c, wf.fund, "tenant_answer", "after the reminder")
            )
        elif wf.stage == "disputed":
            pass
    for payout in state.payouts:
        if payout.execute_on is not None:
            out.append(
                Deadline(
                    payout.execute_on, c, payout.fund, "settlement", f"{payout.kind} to {payout.to}"
                )
            )
    for lot in state.rent_lots:
        day = next_release(state, lot)
        if day is not None:
            out.append(Deadline(day, c, "rent", "release", f"tranche {lot.no}"))
    return sorted(out, key=lambda d: (d.date, d.fund, d.kind))


__all__ = [
    "Balance",
    "Deadline",
    "FundBalance",
    "Notice",
    "balance_of",
    "deadlines_of",
    "next_due",
    "notices_of",
]
