"""What a ledger runs on: rule pack, parameters, rate table and calendar changes.

Recorded as the first event of the ledger (``LedgerConfigured``) so that a replay, a later
process or `escrow verify` works on exactly the same rules as the run that wrote the events.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from escrow.calendar import WorkdayCalendar
from escrow.domain.events import LedgerConfigured, RateRowData
from escrow.errors import refusal_of
from escrow.identifiers import check_line
from escrow.interest import DEFAULT_RATE_TABLE, RateRow, RateTable, rate_table
from escrow.rules import RulePack, rule_pack


class LedgerConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str = ""
    rules: str = "beijing-2024"
    day_basis: int = 360
    settle_on_working_days: bool = True
    deducted_interest_to: Literal["recipient", "tenant"] = "recipient"
    rate_table: str = DEFAULT_RATE_TABLE
    rates: tuple[tuple[dt.date, Decimal], ...] = Field(default=())
    """Custom rate rows (effective date, annual percent); replace the named table when given."""
    extra_holidays: tuple[dt.date, ...] = ()
    extra_workdays: tuple[dt.date, ...] = ()

    if not TYPE_CHECKING:  # the pydantic mypy plugin keeps the typed keyword signature

        def __init__(self, **data: Any) -> None:
            try:
                super().__init__(**data)
            except ValidationError as exc:  # one line, an EscrowError: never pydantic's
                raise refusal_of(exc, "ledger configuration") from None

    @field_validator("label")
    @classmethod
    def _one_line(cls, value: str) -> str:
        """The report's name (a scenario's ``name``): empty, or one line without controls."""
        return value if value == "" else check_line(value, "label")

    def table(self) -> RateTable:
        if self.rates:
            rows = tuple(RateRow(effective=d, annual_percent=p) for d, p in self.rates)
            return RateTable(name="custom", rows=rows)
        return rate_table(self.rate_table)

    def rule_pack(self) -> RulePack:
        return rule_pack(self.rules).with_parameters(
            day_basis=self.day_basis,
            settle_on_working_days=self.settle_on_working_days,
            deducted_interest_to=self.deducted_interest_to,
            rate_table=self.table(),
        )

    def calendar(self) -> WorkdayCalendar:
        return WorkdayCalendar(
            extra_holidays=self.extra_holidays, extra_workdays=self.extra_workdays
        )

    def as_event(self, on: dt.date) -> LedgerConfigured:
        return LedgerConfigured(
            on=on,
            label=self.label,
            rules=self.rules,
            day_basis=self.day_basis,
            settle_on_working_days=self.settle_on_working_days,
            deducted_interest_to=self.deducted_interest_to,
            rate_table=self.rate_table,
            rates=tuple(RateRowData(effective=d, annual_percent=p) for d, p in self.rates),
            extra_holidays=self.extra_holidays,
            extra_workdays=self.extra_workdays,
        )

    @classmethod
    def from_event(cls, event: LedgerConfigured) -> LedgerConfig:
        return cls(
            label=event.label,
            rules=event.rules,
            day_basis=event.day_basis,
            settle_on_working_days=event.settle_on_working_days,
            deducted_interest_to=event.deducted_interest_to,
            rate_table=event.rate_table,
            rates=tuple((r.effective, r.annual_percent) for r in event.rates),
            extra_holidays=event.extra_holidays,
            extra_workdays=event.extra_workdays,
        )
