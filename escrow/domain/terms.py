"""The vocabulary shared by commands, events and state: funds, channels, contract terms."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from escrow.calendar import check_supported_date

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
    """A filed rental contract (住房租赁合同), as the ledger needs it."""

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
    affordable: bool = False
    """保障性租赁住房 (Art. 21)."""

    @model_validator(mode="after")
    def _check(self) -> ContractTerms:
        # Both dates within escrow's supported dates (escrow.calendar.FIRST_DATE..LAST_DATE):
        # "contract C1: start 1999-12-31 is outside the supported dates 2000-01-01 to ...".
        check_supported_date(self.start, f"contract {self.id}: start")
        check_supported_date(self.end, f"contract {self.id}: end")
        if self.end < self.start:
            raise ValueError(f"contract {self.id}: end {self.end} is before start {self.start}")
        if self.monthly_rent <= 0:
            raise ValueError(f"contract {self.id}: monthly_rent must be positive")
        if self.deposit < 0:
            raise ValueError(f"contract {self.id}: deposit must not be negative")
        return self
