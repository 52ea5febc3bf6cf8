"""The acts a ledger is asked to do, as commands: what :meth:`escrow.service.Ledger.handle` takes.

One frozen record per act, with everything the act needs: who and what it concerns, the business
date it happens on (``on``; None: the ledger clock's today) and the idempotency key it is
delivered with. A record checks and normalises its own fields when made (a bad argument raises an
:class:`~escrow.errors.InputError` naming it), so an act that exists is well formed. The ledger's
named methods (``pay_rent(...)``) are thin wrappers that make one and hand it to ``handle``; the
scenario runner and the simulation make them directly.

:meth:`Act.request` is the canonical text of the act (its name and arguments, without the key):
what an idempotency key stands for, recorded with it (:mod:`escrow.delivery`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import ClassVar

from escrow import arguments as arg
from escrow.delivery import act_request
from escrow.domain.terms import Account, Channel, ContractTerms, Fund, Resolution, ReturnReason

_ARGUMENT_NAMES: dict[type, tuple[str, ...]] = {}


def _argument_names(cls: type) -> tuple[str, ...]:
    """The names of an act class's arguments: its fields but the idempotency key (found once
    per class)."""
    names = _ARGUMENT_NAMES.get(cls)
    if names is None:
        fields = dataclasses.fields(cls)
        names = _ARGUMENT_NAMES[cls] = tuple(f.name for f in fields if f.name != "idempotency_key")
    return names


def _set(act: object, name: str, value: object) -> None:
    object.__setattr__(act, name, value)  # a frozen record normalising its own field


def _check_when(act: Act) -> None:
    """Every act's ``on`` and idempotency key (after its own fields, which come first in its
    error messages). Called by name: ``super()`` does not work in slotted dataclasses."""
    on, key = arg.act(act.on, act.idempotency_key)
    _set(act, "on", on)
    _set(act, "idempotency_key", key)


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Act:
    """What every act has: its business date and idempotency key."""

    name: ClassVar[str]
    """The act's name, as the ledger's method and in recorded requests."""

    on: dt.date | None = None
    idempotency_key: str | None = None

    def __post_init__(self) -> None:
        _check_when(self)

    def arguments(self) -> Mapping[str, object]:
        """The act's arguments, as recorded with its key (the key itself left out)."""
        return {name: getattr(self, name) for name in _argument_names(type(self))}

    def request(self) -> str:
        """The canonical text of the act: equal for equal acts."""
        return act_request(self.name, self.arguments())

    def keyed(self, idempotency_key: str | None) -> Act:
        """The same act, delivered with ``idempotency_key``."""
        return dataclasses.replace(self, idempotency_key=idempotency_key)


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class OpenContract(Act):
    """File a contract with the ledger (the rule pack refuses one it does not govern)."""

    name = "open_contract"
    terms: ContractTerms

    def __post_init__(self) -> None:
        _set(self, "terms", arg.terms(self.terms))
        _check_when(self)


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class _Payment(Act):
    contract: str
    amount: Decimal
    channel: Channel = "bank"

    def __post_init__(self) -> None:
        _set(self, "contract", arg.contract(self.contract))
        _set(self, "amount", arg.amount(self.amount))
        _set(self, "channel", arg.channel(self.channel))
        _check_when(self)


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class PayDeposit(_Payment):
    """The tenant pays (part of) the deposit into custody (Art. 9)."""

    name = "pay_deposit"


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class PayRent(_Payment):
    """The tenant pays rent; more than 3 months goes into supervision (Art. 13)."""

    name = "pay_rent"


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class ReturnHome(Act):
    """The tenant returns the home: each fund with money held starts its refund."""

    name = "return_home"
    contract: str
    reason: ReturnReason | None = None

    def __post_init__(self) -> None:
        _set(self, "contract", arg.contract(self.contract))
        _set(self, "reason", arg.reason(self.reason))
        _check_when(self)


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class ProposeRefund(Act):
    """The enterprise's refund opinion, with itemised deductions (Art. 10, Art. 15)."""

    name = "propose_refund"
    contract: str
    fund: Fund
    deductions: tuple[tuple[str, Decimal], ...] = ()

    def __post_init__(self) -> None:
        _set(self, "contract", arg.contract(self.contract))
        _set(self, "fund", arg.fund(self.fund))
        _set(self, "deductions", arg.deductions(self.deductions))
        _check_when(self)


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class _Answer(Act):
    contract: str
    fund: Fund

    def __post_init__(self) -> None:
        _set(self, "contract", arg.contract(self.contract))
        _set(self, "fund", arg.fund(self.fund))
        _check_when(self)


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class TenantAgree(_Answer):
    """The tenant agrees to the refund opinion (Art. 10)."""

    name = "tenant_agree"


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class TenantDisagree(_Answer):
    """The tenant disputes the refund opinion's deductions (Art. 11)."""

    name = "tenant_disagree"


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Resolve(Act):
    """A negotiation, mediation, arbitration or court splits the disputed amount."""

    name = "resolve"
    contract: str
    fund: Fund
    via: Resolution
    to_tenant: Decimal
    to_enterprise: Decimal

    def __post_init__(self) -> None:
        _set(self, "contract", arg.contract(self.contract))
        _set(self, "fund", arg.fund(self.fund))
        _set(self, "via", arg.resolution(self.via))
        _set(self, "to_tenant", arg.amount(self.to_tenant, "to_tenant"))
        _set(self, "to_enterprise", arg.amount(self.to_enterprise, "to_enterprise"))
        _check_when(self)


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class _EnterpriseAct(Act):
    enterprise: str

    def __post_init__(self) -> None:
        _set(self, "enterprise", arg.enterprise(self.enterprise))
        _check_when(self)


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class SuspendReleases(_EnterpriseAct):
    """Art. 20: the district authority holds payments from supervision to the enterprise."""

    name = "suspend_releases"


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class ResumeReleases(_EnterpriseAct):
    """What was held is paid at once, with interest to the day before payment."""

    name = "resume_releases"


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class ChangeAccount(Act):
    """Art. 18: move the custody or supervision account to ``bank``; every balance moves."""

    name = "change_account"
    account: Account
    bank: str

    def __post_init__(self) -> None:
        _set(self, "account", arg.account(self.account))
        _set(self, "bank", arg.bank(self.bank))
        _check_when(self)


ACTS: tuple[type[Act], ...] = (
    OpenContract,
    PayDeposit,
    PayRent,
    ReturnHome,
    ProposeRefund,
    TenantAgree,
    TenantDisagree,
    Resolve,
    SuspendReleases,
    ResumeReleases,
    ChangeAccount,
)
"""Every kind of act, in the order the docs list them."""
