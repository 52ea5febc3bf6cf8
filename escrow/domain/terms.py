"""The vocabulary shared by commands, events and state: funds, channels, contract terms."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    StrictBool,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from escrow.calendar import check_supported_date
from escrow.errors import AmountError, InputError, refusal_of
from escrow.identifiers import check_id, id_problem
from escrow.money import amount_of

Fund = Literal["deposit", "rent"]
"""The deposit sits in custody (押金托管账户); prepaid rent in supervision (租金监管账户)."""

FUNDS: tuple[Fund, ...] = ("deposit", "rent")

Channel = Literal["bank", "ecny"]
"""How a payment arrived: bank transfer or e-CNY 数字人民币 (Art. 2)."""

ReturnReason = Literal["expiry", "termination"]
Resolution = Literal["negotiation", "mediation", "arbitration", "court"]
"""Art. 11 / Art. 16: negotiation, mediation by the association (中介协会), arbitration, court."""

Account = Literal["custody", "supervision"]

ACCOUNT_OF_FUND: dict[Fund, Account] = {"deposit": "custody", "rent": "supervision"}
FUND_OF_ACCOUNT: dict[Account, Fund] = {"custody": "deposit", "supervision": "rent"}


class ContractTerms(BaseModel):
    """A filed rental contract (住房租赁合同), as the ledger needs it.

    Built in Python, the terms are checked as strictly as a scenario file's ``[[contracts]]``:
    ids (``id``, ``filing_no``, ``tenant``, ``enterprise``) as :func:`escrow.identifiers.check_id`
    says; ``monthly_rent`` (more than zero) and ``deposit`` a ``Decimal``, an ``int`` or a string
    of at most two decimals, up to :data:`escrow.money.MAX_AMOUNT`, normalised to two places (a
    ``float`` is an :class:`~escrow.errors.AmountError`); ``start``/``end`` dates (not
    datetimes) within the supported dates. Anything else raises an
    :class:`~escrow.errors.EscrowError` subclass with a one-line message.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    filing_no: str
    """备案编号: the filing number a tenant queries balances with (Art. 19)."""
    tenant: str
    enterprise: str
    start: dt.date
    end: dt.date
    monthly_rent: Decimal
    deposit: Decimal
    affordable: StrictBool = False
    """保障性租赁住房 (Art. 21)."""

    if not TYPE_CHECKING:  # the pydantic mypy plugin keeps the typed keyword signature

        def __init__(self, **data: Any) -> None:
            try:
                super().__init__(**data)
            except ValidationError as exc:
                raise refusal_of(exc, "contract terms") from None

    # A custom __init__ makes pydantic validate stored terms through it too (model_validate,
    # validate_json): terms read from a ledger meet the same checks as terms built in Python.

    # The validators name the field in a message only when there is one to give: terms are
    # read back with every kept state a cold act loads, and the names cost more than the checks.

    @field_validator("id", "filing_no", "tenant", "enterprise", mode="before")
    @classmethod
    def _check_id(cls, value: object, info: ValidationInfo) -> str:
        if isinstance(value, str) and id_problem(value) is None:
            return value
        return check_id(value, f"{_contract(info)}{info.field_name}")

    @field_validator("monthly_rent", "deposit", mode="before")
    @classmethod
    def _check_amount(cls, value: object, info: ValidationInfo) -> Decimal:
        allow_zero = info.field_name != "monthly_rent"
        try:
            return amount_of(value, "", allow_zero=allow_zero)
        except AmountError:
            return amount_of(value, f"{_contract(info)}{info.field_name}", allow_zero=allow_zero)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _check_date(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, dt.datetime):
            raise InputError(f"{_contract(info)}{info.field_name}: expected a date, got a datetime")
        return value

    @model_validator(mode="after")
    def _check(self) -> ContractTerms:
        # Both dates within escrow's supported dates (escrow.calendar.FIRST_DATE..LAST_DATE):
        # "contract C1: start 1999-12-31 is outside the supported dates 2000-01-01 to ...".
        check_supported_date(self.start, f"contract {self.id}: start")
        check_supported_date(self.end, f"contract {self.id}: end")
        if self.end < self.start:
            raise InputError(f"contract {self.id}: end {self.end} is before start {self.start}")
        if self.monthly_rent <= 0:
            raise InputError(f"contract {self.id}: monthly_rent must be positive")
        if self.deposit < 0:
            raise InputError(f"contract {self.id}: deposit must not be negative")
        return self


def _contract(info: ValidationInfo) -> str:
    """``"contract C1: "`` once the id is known (fields are checked in order)."""
    contract = info.data.get("id") if info.data else None
    return f"contract {contract}: " if isinstance(contract, str) else "contract terms: "
