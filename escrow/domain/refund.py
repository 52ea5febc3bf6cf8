"""The refund negotiation after the return, the same for deposit and for rent left in supervision.

Art. 10–11 (deposit) and Art. 15–16 (rent), as docs/rules.md rules 3–8 and 12 make precise:
- the enterprise proposes an opinion within 3 working days after the return (the return day
  does not count), with itemised deductions no larger than what is held;
- the undisputed part, principal and interest, is refunded at once; an opinion without
  deductions refunds everything and closes the negotiation;
- the tenant has 3 working days to agree or disagree; silent, a reminder the day after, then 3
  more working days counted from the end of the first window; still silent, deemed agreed;
- disagreement holds the deducted amount until a resolution splits it;
- no opinion in time: everything held goes back to the tenant, from the next calendar day.
"""

from __future__ import annotations

import datetime as dt

from escrow.domain import events as ev
from escrow.domain.commands import ProposeRefund, Resolve
from escrow.domain.decision import Decision
from escrow.domain.payouts import instruct_amount
from escrow.domain.state import Workflow
from escrow.domain.supervision import cancel_held_releases
from escrow.domain.terms import FUNDS, Fund
from escrow.errors import (
    AlreadyAnswered,
    DeadlinePassed,
    DeductionsExceedHeld,
    NoDispute,
    NoRefundWorkflow,
    NothingToAnswer,
    OpinionAlreadyGiven,
    SplitMismatch,
    TenancyEnded,
)
from escrow.money import ZERO, check_amount, fmt

ONE_DAY = dt.timedelta(days=1)


def return_home(d: Decision, reason: ev.ReturnReason | None) -> None:
    """The tenancy ends; each fund with something held opens its own refund negotiation."""
    if d.state.returned_on is not None:
        raise TenancyEnded(
            f"contract {d.state.terms.id}: the home was already returned on {d.state.returned_on}"
        )
    d.emit(ev.HomeReturned(on=d.today, reason=reason))
    cancel_held_releases(d)
    for fund in FUNDS:
        held = d.state.unreserved(fund)
        if held <= ZERO:
            continue  # rule 8: nothing held, no refund workflow
        deadline, provisional = d.deadline(d.today, d.rules.opinion_working_days)
        d.emit(
            ev.RefundWorkflowOpened(
                on=d.today, fund=fund, held=held, deadline=deadline, provisional=provisional
            )
        )


def _open_workflow(d: Decision, fund: Fund) -> Workflow:
    if d.state.returned_on is None:
        raise NoRefundWorkflow(
            f"contract {d.state.terms.id}: no {fund} refund before the home is returned"
        )
    wf = d.state.workflow(fund)
    if wf is None:
        raise NoRefundWorkflow(
            f"contract {d.state.terms.id}: nothing was held in {fund} when the home was returned"
        )
    return wf


def propose(d: Decision, cmd: ProposeRefund) -> None:
    """The enterprise's opinion; the undisputed part goes back to the tenant at once."""
    wf = _open_workflow(d, cmd.fund)
    who = f"contract {d.state.terms.id}"
    if wf.outcome == "enterprise_deadline_missed" or (
        wf.stage == "awaiting_opinion" and d.today > wf.deadline
    ):
        raise DeadlinePassed(
            f"{who}: the {cmd.fund} refund opinion was due by {wf.deadline}; it is refused"
        )
    if wf.stage != "awaiting_opinion":
        raise OpinionAlreadyGiven(f"{who}: a {cmd.fund} refund opinion was already given")
    held = d.state.unreserved(cmd.fund)
    for item in cmd.deductions:
        check_amount(item.amount, f"deduction {item.item!r}")
    deducted = sum((x.amount for x in cmd.deductions), ZERO)
    if deducted > held:
        raise DeductionsExceedHeld(
            f"{who}: deductions of {fmt(deducted)} exceed the {fmt(held)} held in {cmd.fund}"
        )
    answer_deadline: dt.date | None = None
    provisional = False
    if deducted > ZERO:
        answer_deadline, provisional = d.deadline(d.today, d.rules.answer_working_days)
    d.emit(
        ev.RefundProposed(
            on=d.today,
            fund=cmd.fund,
            deductions=cmd.deductions,
            answer_deadline=answer_deadline,
            provisional=provisional,
        )
    )
    instruct_amount(
        d, on=d.today, fund=cmd.fund, kind="refund", to="tenant", amount=held - deducted
    )


def _answerable(d: Decision, fund: Fund) -> Workflow:
    wf = _open_workflow(d, fund)
    who = f"contract {d.state.terms.id}"
    if wf.stage == "awaiting_opinion":
        raise NothingToAnswer(f"{who}: there is no {fund} refund opinion to answer yet")
    if wf.outcome == "refunded_in_full":
        raise NothingToAnswer(
            f"{who}: the {fund} opinion deducted nothing; there is nothing to answer"
        )
    if wf.outcome == "enterprise_deadline_missed":
        raise NothingToAnswer(f"{who}: the enterprise gave no {fund} opinion in time")
    if wf.outcome == "deemed_agreed":
        raise DeadlinePassed(
            f"{who}: the tenant's time to answer the {fund} opinion ended on {wf.second_deadline};"
            " it was deemed agreed"
        )
    if wf.stage != "awaiting_answer" and wf.stage != "reminded":
        raise AlreadyAnswered(f"{who}: the {fund} opinion was already answered ({wf.outcome})")
    return wf


def agree(d: Decision, fund: Fund) -> None:
    """The tenant agrees: the deductions go to the enterprise."""
    _answerable(d, fund)
    d.emit(ev.TenantAnswered(on=d.today, fund=fund, agreed=True))
    pay_deductions(d, fund, d.today)


def disagree(d: Decision, fund: Fund) -> None:
    """The tenant disagrees: the deducted amount stays held until a resolution."""
    _answerable(d, fund)
    d.emit(ev.TenantAnswered(on=d.today, fund=fund, agreed=False))


def pay_deductions(d: Decision, fund: Fund, on: dt.date) -> None:
    amount = d.state.unreserved(fund)
    instruct_amount(d, on=on, fund=fund, kind="deduction", to="enterprise", amount=amount)


def resolve(d: Decision, cmd: Resolve) -> None:
    """A resolution splits the disputed amount; the tenant's part comes from the oldest lots."""
    wf = _open_workflow(d, cmd.fund)
    who = f"contract {d.state.terms.id}"
    if wf.stage != "disputed":
        raise NoDispute(f"{who}: the {cmd.fund} refund is not in dispute")
    for part, name in ((cmd.to_tenant, "to_tenant"), (cmd.to_enterprise, "to_enterprise")):
        if part >= ZERO:  # a negative part is a split that does not add up (below)
            check_amount(part, name)
    disputed = d.state.unreserved(cmd.fund)
    total = cmd.to_tenant + cmd.to_enterprise
    if total != disputed or cmd.to_tenant < ZERO or cmd.to_enterprise < ZERO:
        raise SplitMismatch(
            f"{who}: to_tenant {fmt(cmd.to_tenant)} + to_enterprise {fmt(cmd.to_enterprise)}"
            f" = {fmt(total)}, but {fmt(disputed)} of {cmd.fund} is in dispute"
        )
    d.emit(
        ev.DisputeResolved(
            on=d.today,
            fund=cmd.fund,
            via=cmd.via,
            to_tenant=cmd.to_tenant,
            to_enterprise=cmd.to_enterprise,
        )
    )
    instruct_amount(d, on=d.today, fund=cmd.fund, kind="refund", to="tenant", amount=cmd.to_tenant)
    instruct_amount(
        d, on=d.today, fund=cmd.fund, kind="deduction", to="enterprise", amount=cmd.to_enterprise
    )


def next_lapse(wf: Workflow) -> dt.date | None:
    """The day a deadline of ``wf`` lapses: the calendar day after it (end-of-day deadlines)."""
    if wf.stage == "awaiting_opinion":
        return wf.deadline + ONE_DAY
    if wf.stage == "awaiting_answer" and wf.answer_deadline is not None:
        return wf.answer_deadline + ONE_DAY
    if wf.stage == "reminded" and wf.second_deadline is not None:
        return wf.second_deadline + ONE_DAY
    return None


def lapse(d: Decision, wf: Workflow, day: dt.date) -> None:
    """What the rules make of a lapsed deadline, dated the day after it."""
    fund = wf.fund
    if wf.stage == "awaiting_opinion":
        d.emit(ev.EnterpriseDeadlineMissed(on=day, fund=fund))
        amount = d.state.unreserved(fund)
        instruct_amount(d, on=day, fund=fund, kind="refund", to="tenant", amount=amount)
    elif wf.stage == "awaiting_answer" and wf.answer_deadline is not None:
        second, provisional = d.deadline(wf.answer_deadline, d.rules.reminder_working_days)
        d.emit(
            ev.ReminderIssued(on=day, fund=fund, second_deadline=second, provisional=provisional)
        )
    elif wf.stage == "reminded":
        d.emit(ev.DeemedAgreed(on=day, fund=fund))
        pay_deductions(d, fund, day)
