"""Everything that can happen to a ledger, in the past tense.

Each event is a frozen pydantic model with a ``type`` discriminator and an effective date ``on``.
Events carry the results of rule computations (deadlines, release dates, the lots a payout takes)
so that replaying them never depends on today's calendar or rate tables.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from escrow.domain.event_base import Event as Event
from escrow.domain.terms import Account, ContractTerms, Fund
from escrow.domain.terms import Channel as Channel
from escrow.domain.terms import Resolution as Resolution
from escrow.domain.terms import ReturnReason as ReturnReason


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Piece(Frozen):
    """Part of one lot (a deposit payment or a rent tranche) taken by a payout."""

    lot: int
    arrived: dt.date
    principal: Decimal


class PaidPiece(Frozen):
    """A piece as paid out, with the interest it earned (rules 14–17)."""

    lot: int
    arrived: dt.date
    principal: Decimal
    days: int
    interest: Decimal


class Deduction(Frozen):
    """One itemised deduction of a refund opinion (Art. 10: 拟扣除部分费用明细)."""

    item: str
    amount: Decimal


class RateRowData(Frozen):
    effective: dt.date
    annual_percent: Decimal


# --- the ledger stream ----------------------------------------------------------------------


class LedgerConfigured(Event):
    """The rule pack, parameters, rate table and calendar changes this ledger runs on."""

    type: Literal["ledger_configured"] = "ledger_configured"
    label: str = ""
    rules: str
    day_basis: int
    settle_on_working_days: bool
    deducted_interest_to: Literal["recipient", "tenant"]
    rate_table: str
    rates: tuple[RateRowData, ...]
    extra_holidays: tuple[dt.date, ...] = ()
    extra_workdays: tuple[dt.date, ...] = ()


class ClockAdvanced(Event):
    """Business time reached ``on``: everything due up to it has been processed."""

    type: Literal["clock_advanced"] = "clock_advanced"


class AccountChanged(Event):
    """Art. 18: the account moved to a new bank; tell the authority by ``notice_due``."""

    type: Literal["account_changed"] = "account_changed"
    account: Account
    old_bank: str
    bank: str
    notice_due: dt.date
    provisional: bool = False


class AuthorityNoticeDue(Event):
    """Art. 18: the day by which the new account must be notified to the housing authority."""

    type: Literal["authority_notice_due"] = "authority_notice_due"
    account: Account
    bank: str


class ActionRefused(Event):
    """A scenario action the rules refused; recorded apart from the contract, which is unchanged."""

    type: Literal["action_refused"] = "action_refused"
    action: str
    contract: str | None = None
    enterprise: str | None = None
    error: str
    reason: str


# --- the contract stream --------------------------------------------------------------------


class ContractOpened(Event):
    type: Literal["contract_opened"] = "contract_opened"
    terms: ContractTerms
    rules: str
    custody_bank: str
    supervision_bank: str
    suspended: bool = False


class DepositReceived(Event):
    """Art. 9: a deposit payment arrived in custody; it is a lot with its own arrival date."""

    type: Literal["deposit_received"] = "deposit_received"
    amount: Decimal
    channel: Channel
    lot: int
    booked_on: dt.date | None = None
    """When the ledger learnt of it, if later than ``on`` (a backdated bank notice)."""


class RentReceived(Event):
    """Art. 13: rent arrived; more than 3 months goes into supervision as a tranche."""

    type: Literal["rent_received"] = "rent_received"
    amount: Decimal
    channel: Channel
    supervised: bool
    lot: int | None = None
    """The tranche number when supervised."""
    booked_on: dt.date | None = None
    """When the ledger learnt of it, if later than ``on``: no release can precede it."""


class PaymentFlagged(Event):
    """Rule 1: a short, late or excess payment, recorded and reported."""

    type: Literal["payment_flagged"] = "payment_flagged"
    fund: Fund
    kind: Literal["short_payment", "late_payment", "excess_payment"]
    detail: str


class HomeReturned(Event):
    """The tenant returned the home: the tenancy is over (Art. 10, Art. 15)."""

    type: Literal["home_returned"] = "home_returned"
    reason: ReturnReason | None = None


class RefundWorkflowOpened(Event):
    """Money is held for this fund at the return: an opinion is owed by ``deadline``."""

    type: Literal["refund_workflow_opened"] = "refund_workflow_opened"
    fund: Fund
    held: Decimal
    deadline: dt.date
    provisional: bool = False


class RefundProposed(Event):
    """The enterprise's refund opinion (押金/租金退还意见) with itemised deductions."""

    type: Literal["refund_proposed"] = "refund_proposed"
    fund: Fund
    deductions: tuple[Deduction, ...]
    answer_deadline: dt.date | None
    """End of the tenant's first 3 working days; None when nothing is deducted."""
    provisional: bool = False


class TenantAnswered(Event):
    type: Literal["tenant_answered"] = "tenant_answered"
    fund: Fund
    agreed: bool


class ReminderIssued(Event):
    """The tenant stayed silent for 3 working days: reminded, with 3 more working days."""

    type: Literal["reminder_issued"] = "reminder_issued"
    fund: Fund
    second_deadline: dt.date
    provisional: bool = False


class DeemedAgreed(Event):
    """Silent after the reminder too: the opinion applies as if agreed."""

    type: Literal["deemed_agreed"] = "deemed_agreed"
    fund: Fund


class EnterpriseDeadlineMissed(Event):
    """No opinion within 3 working days: everything held goes back to the tenant."""

    type: Literal["enterprise_deadline_missed"] = "enterprise_deadline_missed"
    fund: Fund


class DisputeResolved(Event):
    """Art. 11 / Art. 16: negotiation, mediation, arbitration or court split the disputed amount."""

    type: Literal["dispute_resolved"] = "dispute_resolved"
    fund: Fund
    via: Resolution
    to_tenant: Decimal
    to_enterprise: Decimal


PayoutKind = Literal["release", "refund", "deduction"]
Party = Literal["tenant", "enterprise"]


class PayoutInstructed(Event):
    """The fund centre instructs a payout; it executes on ``execute_on`` (a settlement day).

    ``execute_on`` is None while the payout is held by a suspension (Art. 20).
    """

    type: Literal["payout_instructed"] = "payout_instructed"
    fund: Fund
    payout: int
    kind: PayoutKind
    to: Party
    pieces: tuple[Piece, ...]
    execute_on: dt.date | None
    release_no: int | None = None
    """For a release: which monthly anniversary of the tranche (0 = the first 3 months)."""


class PayoutExecuted(Event):
    """The payout left the account, each piece with its interest at the payout day's rate."""

    type: Literal["payout_executed"] = "payout_executed"
    fund: Fund
    payout: int
    annual_percent: Decimal
    pieces: tuple[PaidPiece, ...]
    interest_to: Party


class ReleasesSuspended(Event):
    """Art. 20: the district authority suspended payments from supervision to the enterprise."""

    type: Literal["releases_suspended"] = "releases_suspended"
    enterprise: str


class ReleasesResumed(Event):
    type: Literal["releases_resumed"] = "releases_resumed"
    enterprise: str


class PayoutsHeld(Event):
    """Art. 20: payouts to the enterprise not yet executed when releases were suspended."""

    type: Literal["payouts_held"] = "payouts_held"
    payouts: tuple[int, ...]


class HeldPayoutsFreed(Event):
    """On resumption, payouts held by the suspension execute at once (on the settlement day)."""

    type: Literal["held_payouts_freed"] = "held_payouts_freed"
    payouts: tuple[int, ...]
    execute_on: dt.date


class HeldReleasesCancelled(Event):
    """The home was returned while releases were held: the rent stays in supervision (rule 13)."""

    type: Literal["held_releases_cancelled"] = "held_releases_cancelled"
    payouts: tuple[int, ...]


class FundsMigrated(Event):
    """Art. 18: this contract's money moved to the account's new bank; arrival dates are kept."""

    type: Literal["funds_migrated"] = "funds_migrated"
    account: Account
    old_bank: str
    bank: str
    principal: Decimal


AnyEvent = Annotated[
    LedgerConfigured
    | ClockAdvanced
    | AccountChanged
    | AuthorityNoticeDue
    | ActionRefused
    | ContractOpened
    | DepositReceived
    | RentReceived
    | PaymentFlagged
    | HomeReturned
    | RefundWorkflowOpened
    | RefundProposed
    | TenantAnswered
    | ReminderIssued
    | DeemedAgreed
    | EnterpriseDeadlineMissed
    | DisputeResolved
    | PayoutInstructed
    | PayoutExecuted
    | ReleasesSuspended
    | ReleasesResumed
    | PayoutsHeld
    | HeldPayoutsFreed
    | HeldReleasesCancelled
    | FundsMigrated,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)
