"""The run report (docs/report-format.md): a public contract, built from the ledger's read models.

:func:`build_report` makes it as plain JSON data; :class:`RunReport` and its parts describe it as
pydantic models, from which ``escrow schema report`` prints the JSON Schema.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Literal, TextIO

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Connection

from escrow.domain.ledger import TransferKind
from escrow.money import fmt
from escrow.projections import Notice
from escrow.render import transfer_json
from escrow.service import Ledger
from escrow.store import readstore

__all__ = [
    "HeldFunds",
    "ReportNotice",
    "ReportRefusal",
    "ReportTransfer",
    "RunReport",
    "build_report",
    "report_held",
    "report_notice",
    "report_refusal",
    "report_transfer",
    "write_report",
]

_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_MONEY = r"^[0-9]+\.[0-9]{2}$"

NoticeKind = Literal[
    "reminder",
    "enterprise_deadline_missed",
    "deemed_agreed",
    "releases_held",
    "authority_notice_due",
    "provisional_deadline",
    "short_payment",
    "late_payment",
    "excess_payment",
]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, populate_by_name=True)


class ReportTransfer(_Part):
    """One money movement, in the order the fund centre executed them."""

    date: str = Field(pattern=_DATE, description="YYYY-MM-DD.")
    contract: str
    fund: Literal["deposit", "rent"]
    kind: TransferKind
    source: str = Field(
        alias="from", description="custody, supervision, tenant:ID or enterprise:ID."
    )
    target: str = Field(alias="to", description="custody, supervision, tenant:ID or enterprise:ID.")
    principal: str = Field(pattern=_MONEY, description="Decimal yuan, two decimals.")
    interest: str = Field(pattern=_MONEY, description="Decimal yuan, two decimals.")


class ReportNotice(_Part):
    """Something the clock produced that moves no money."""

    date: str = Field(pattern=_DATE, description="YYYY-MM-DD.")
    contract: str | None = Field(description="null for a notice about an account (rule 18).")
    fund: Literal["deposit", "rent"] | None
    kind: NoticeKind


class HeldFunds(_Part):
    """Principal still held for one contract when the clock stopped."""

    deposit: str = Field(pattern=_MONEY)
    rent: str = Field(pattern=_MONEY)


class ReportRefusal(_Part):
    """An action the rules refused: it changed nothing."""

    date: str = Field(pattern=_DATE, description="YYYY-MM-DD.")
    action: str = Field(description="The action's name, or open_contract for a refused contract.")
    contract: str | None = Field(
        default=None, description="Absent for an action that names no contract."
    )
    reason: str


class RunReport(_Part):
    """The report of ``escrow run FILE --json`` (and ``escrow replay --json``)."""

    scenario: str = Field(description="The scenario's name.")
    clock: str = Field(
        pattern=_DATE,
        description="The day the ledger's clock stopped.",
    )
    transfers: list[ReportTransfer]
    notices: list[ReportNotice]
    held: dict[str, HeldFunds]
    refused: list[ReportRefusal]


report_transfer = transfer_json
"""One transfer as the report lists it (the same dictionary the query commands print)."""


def report_notice(n: Notice) -> dict[str, Any]:
    return {"date": n.date.isoformat(), "contract": n.contract, "fund": n.fund, "kind": n.kind}


def report_refusal(date: dt.date, action: str, contract: str | None, reason: str) -> dict[str, Any]:
    item: dict[str, Any] = {"date": date.isoformat(), "action": action}
    if contract is not None:
        item["contract"] = contract
    item["reason"] = reason
    return item


def report_held(deposit: Decimal, rent: Decimal) -> dict[str, str]:
    return {"deposit": fmt(deposit), "rent": fmt(rent)}


def build_report(ledger: Ledger, scenario: str) -> dict[str, Any]:
    """``{scenario, clock, transfers, notices, held, refused}``: a :class:`RunReport` as data."""
    return {
        "scenario": scenario,
        "clock": ledger.today.isoformat(),
        "transfers": [report_transfer(t) for t in ledger.iter_transfers()],
        "notices": [report_notice(n) for n in ledger.iter_notices()],
        "held": {c: report_held(d, r) for c, d, r in ledger.iter_held()},
        "refused": [
            report_refusal(r.date, r.action, r.contract, r.reason) for r in ledger.refusals()
        ],
    }


def write_report(out: TextIO, conn: Connection, scenario: str, clock: dt.date) -> None:
    """Write the report of the read models ``conn`` sees as it reads them (bounded memory):
    the same text as ``json.dumps(report, ensure_ascii=False, indent=2)`` and a newline."""
    out.write("{\n")
    out.write(f'  "scenario": {_json(scenario)},\n  "clock": {_json(clock.isoformat())},\n')
    _write_items(
        out, "transfers", "[]", map(report_transfer, readstore.transfers(conn, None, None, None))
    )
    out.write(",\n")
    _write_items(
        out, "notices", "[]", map(report_notice, readstore.notices(conn, None, None, None))
    )
    out.write(",\n")
    held = ((c, report_held(d, r)) for c, d, r in readstore.held(conn))
    _write_items(out, "held", "{}", held)
    out.write(",\n")
    refused = (report_refusal(d, a, c, r) for d, a, c, r, _ in readstore.refusals(conn))
    _write_items(out, "refused", "[]", refused)
    out.write("\n}\n")


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def _write_items(out: TextIO, name: str, brackets: str, items: Iterable[Any]) -> None:
    """One member of the report: a list of items, or (``{}``) an object of (key, item) pairs."""
    out.write(f'  "{name}": {brackets[0]}')
    first = True
    for item in items:
        out.write("\n    " if first else ",\n    ")
        first = False
        if brackets == "{}":
            key, item = item
            out.write(f"{_json(key)}: ")
        out.write(_json(item).replace("\n", "\n    "))
    out.write(brackets[1] if first else f"\n  {brackets[1]}")
