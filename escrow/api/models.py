"""The request and response bodies of the HTTP API (what ``/openapi.json`` describes).

Amounts are JSON strings of decimal yuan with at most two decimals (``"3000.00"``): a JSON number
is refused, as a float is by the library, because money is exact. Dates are ``YYYY-MM-DD``
business dates in Beijing.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from escrow.domain.terms import Channel, Fund, Resolution, ReturnReason

Amount = Annotated[
    str,
    Field(
        pattern=r"^[0-9]+(\.[0-9]{1,2})?$",
        description="Decimal yuan, at most two decimals, as a string.",
        examples=["3000.00"],
    ),
]


def _iso_day(value: object) -> object:
    """Dates come as ``YYYY-MM-DD`` text only (not a number of seconds, not a datetime)."""
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise ValueError("must be a date written YYYY-MM-DD")
    return value


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
Day = Annotated[
    dt.date,
    BeforeValidator(_iso_day),
    Field(description="A business date, YYYY-MM-DD (Beijing)."),
]
FundName = Fund


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ContractIn(_Body):
    """A filed rental contract (住房租赁合同) to open in custody and supervision."""

    id: str
    filing_no: str = Field(description="备案编号: the filing number (Art. 19).")
    tenant: str
    enterprise: str
    start: Day
    end: Day
    monthly_rent: Amount
    deposit: Amount
    affordable: StrictBool = Field(False, description="保障性租赁住房 (Art. 21).")
    on: Day | None = Field(None, description="The day it is filed (default: the ledger's today).")


class PaymentIn(_Body):
    """A bank notice of money paid in for a contract."""

    amount: Amount
    channel: Channel = "bank"
    arrived_on: Day | None = Field(
        None,
        description="The day the money arrived. Booked that day, or today when the ledger's"
        " clock has passed it (a backdated notice keeps its arrival for interest).",
    )


class ReturnIn(_Body):
    """The tenant returned the home."""

    reason: ReturnReason | None = None
    on: Day | None = None


class DeductionIn(_Body):
    item: str
    amount: Amount


class RefundOpinionIn(_Body):
    """The enterprise's refund opinion for one fund, with itemised deductions (Art. 10)."""

    fund: FundName
    deductions: list[DeductionIn] = []
    on: Day | None = None


class AnswerIn(_Body):
    """The tenant's answer to a refund opinion (Art. 10, Art. 11)."""

    fund: FundName
    answer: Literal["agree", "disagree"]
    on: Day | None = None


class ResolutionIn(_Body):
    """How a dispute was settled: the disputed amount split between tenant and enterprise."""

    fund: FundName
    via: Resolution
    to_tenant: Amount
    to_enterprise: Amount
    on: Day | None = None


class DatedIn(_Body):
    """An act with nothing but its date."""

    on: Day | None = None


class AccountChangeIn(_Body):
    """Art. 18: the custody or supervision account moves to another bank."""

    bank: str
    on: Day | None = None


class AdvanceIn(_Body):
    """Move the ledger's clock to ``to`` and run what falls due (simulation mode)."""

    to: Day


class RunIn(_Body):
    """Run the clock until nothing more falls due, or to ``limit`` (simulation mode)."""

    limit: Day | None = None


class WebhookIn(_Body):
    """Where the party wants its notices delivered (signed with HMAC-SHA256)."""

    url: str
    secret: str | None = Field(None, description="The signing key; made up when absent.")


class ReceiptOut(BaseModel):
    """What an act wrote."""

    on: dt.date = Field(description="The business date the act was booked on.")
    first_position: int
    last_position: int
    duplicate: bool = Field(description="True when the key had been delivered before.")


class ContractOpened(BaseModel):
    contract: str
    filing_no: str
    query_code: str = Field(
        description="查询码: the code printed on the contract, which the tenant enters with the"
        " filing number on the tenant page (/tenant)."
    )
    receipt: ReceiptOut


class ClockOut(BaseModel):
    today: dt.date = Field(description="The ledger's business date.")
    mode: Literal["live", "simulation"]


class LotOut(BaseModel):
    arrived: dt.date
    principal: str


class FundOut(BaseModel):
    principal: str
    interest_accrued: str
    lots: list[LotOut]


class BalanceOut(BaseModel):
    contract: str
    filing_no: str
    tenant: str
    enterprise: str
    as_of: dt.date
    funds: dict[FundName, FundOut]


class ContractOut(BaseModel):
    contract: str
    filing_no: str
    tenant: str
    enterprise: str
    start: dt.date
    end: dt.date
    monthly_rent: str
    deposit: str
    affordable: bool
    returned_on: dt.date | None
    suspended: bool
    held_deposit: str
    held_rent: str


class TransferOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    date: dt.date
    contract: str
    fund: FundName
    kind: str
    source: str = Field(alias="from")
    target: str = Field(alias="to")
    principal: str
    interest: str


class NoticeOut(BaseModel):
    date: dt.date
    contract: str | None
    fund: FundName | None
    kind: str
    detail: str


class DeadlineOut(BaseModel):
    date: dt.date
    contract: str
    fund: FundName | None
    kind: str
    detail: str


class RefusalOut(BaseModel):
    date: dt.date
    action: str
    contract: str | None
    enterprise: str | None
    reason: str


class HeldOut(BaseModel):
    contract: str
    deposit: str
    rent: str


class EnterpriseOut(BaseModel):
    enterprise: str
    suspended: bool


class ProblemOut(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(description="The refusal's class name, e.g. DeadlinePassed.")
    title: str
    status: int
    detail: str = Field(description="One line: what is wrong and where.")
    instance: str
