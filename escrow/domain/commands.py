"""What the parties and authorities ask the ledger to do, in the imperative.

The date a command happens on is not part of it: ``decide`` takes ``today``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from escrow.domain.events import Deduction
from escrow.domain.terms import Account, Channel, ContractTerms, Fund, Resolution, ReturnReason


@dataclasses.dataclass(frozen=True)
class OpenContract:
    terms: ContractTerms


@dataclasses.dataclass(frozen=True)
class PayDeposit:
    """The tenant pays (part of) the deposit into custody (Art. 9).

    ``arrived``: the day the money arrived when the bank's notice is recorded later (a backdated
    correction); interest counts from it. None: it arrived today.
    """

    amount: Decimal
    channel: Channel = "bank"
    arrived: dt.date | None = None


@dataclasses.dataclass(frozen=True)
class PayRent:
    """The tenant pays rent; more than 3 months goes into supervision (Art. 13)."""

    amount: Decimal
    channel: Channel = "bank"
    arrived: dt.date | None = None


@dataclasses.dataclass(frozen=True)
class ReturnHome:
    reason: ReturnReason | None = None


@dataclasses.dataclass(frozen=True)
class ProposeRefund:
    """The enterprise's refund opinion with itemised deductions (Art. 10, Art. 15)."""

    fund: Fund
    deductions: tuple[Deduction, ...] = ()


@dataclasses.dataclass(frozen=True)
class TenantAgree:
    fund: Fund


@dataclasses.dataclass(frozen=True)
class TenantDisagree:
    fund: Fund


@dataclasses.dataclass(frozen=True)
class Resolve:
    """A negotiation, mediation, arbitration or court decision splitting the disputed amount."""

    fund: Fund
    via: Resolution
    to_tenant: Decimal
    to_enterprise: Decimal


@dataclasses.dataclass(frozen=True)
class SuspendReleases:
    """Art. 20: hold every payment from supervision to this contract's enterprise."""

    enterprise: str


@dataclasses.dataclass(frozen=True)
class ResumeReleases:
    enterprise: str


@dataclasses.dataclass(frozen=True)
class MigrateFunds:
    """Art. 18: move this contract's money in ``account`` to ``bank``."""

    account: Account
    old_bank: str
    bank: str


@dataclasses.dataclass(frozen=True)
class Tick:
    """Business time has reached ``today``: do what falls due (deadlines, releases, settlements)."""


Command = (
    OpenContract
    | PayDeposit
    | PayRent
    | ReturnHome
    | ProposeRefund
    | TenantAgree
    | TenantDisagree
    | Resolve
    | SuspendReleases
    | ResumeReleases
    | MigrateFunds
    | Tick
)
