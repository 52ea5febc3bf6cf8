"""Small events for the store contract tests: Decimal, date and list fields, one union, a codec."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from escrow.domain.event_base import Event
from escrow.store import PydanticCodec


class DepositReceived(Event):
    """A deposit arrived in the custody account."""

    type: Literal["deposit_received"] = "deposit_received"
    contract: str
    amount: Decimal
    value_date: dt.date


class RefundProposed(Event):
    """The enterprise proposed a refund with itemised deductions."""

    type: Literal["refund_proposed"] = "refund_proposed"
    contract: str
    items: list[str]
    deductions: list[Decimal]
    reply_by: dt.date


class NoteTaken(Event):
    """A free-text note (used to tell concurrent writers apart)."""

    type: Literal["note_taken"] = "note_taken"
    text: str
    tags: list[str] = Field(default_factory=list)


class Unregistered(Event):
    """An event the standard test codec does not know."""

    type: Literal["unregistered"] = "unregistered"
    text: str


StoreTestEvent = Annotated[
    DepositReceived | RefundProposed | NoteTaken, Field(discriminator="type")
]
WideTestEvent = Annotated[
    DepositReceived | RefundProposed | NoteTaken | Unregistered, Field(discriminator="type")
]

ADAPTER: TypeAdapter[StoreTestEvent] = TypeAdapter(StoreTestEvent)
CODEC = PydanticCodec(ADAPTER)
"""The codec every contract test uses."""

WIDE_CODEC = PydanticCodec(TypeAdapter(WideTestEvent))
"""A codec that also knows :class:`Unregistered` (to store what CODEC cannot read)."""

DAY = dt.date(2024, 10, 8)


def deposit(i: int, contract: str = "C1") -> DepositReceived:
    """Deposit number ``i``: amount ``{100 + i}.50`` yuan, dated ``i`` days after DAY."""
    return DepositReceived(
        on=DAY + dt.timedelta(days=i),
        contract=contract,
        amount=Decimal(f"{100 + i}.50"),
        value_date=DAY + dt.timedelta(days=i + 1),
    )


def note(text: str, on: dt.date = DAY) -> NoteTaken:
    return NoteTaken(on=on, text=text, tags=[text.split("-")[0]])
