"""The run report (docs/report-format.md): a public contract, built from the ledger's read models.

:func:`build_report` makes it as plain JSON data; :class:`RunReport` and its parts describe it as
pydantic models, from which ``escrow schema report`` prints the JSON Schema.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from escrow.domain.ledger import TransferKind
from escrow.money import fmt
from escrow.service import Ledger

__all__ = [
    "HeldFunds",
    "ReportNotice",
    "ReportRefusal",
    "ReportTransfer",
    "RunReport",
    "build_report",
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


def build_report(ledger: Ledger, scenario: str) -> dict[str, Any]:
    """``{scenario, clock, transfers, notices, held, refused}``: a :class:`RunReport` as data."""
    transfers = [
        {
            "date": t.date.isoformat(),
            "contract": t.contract,
            "fund": t.fund,
            "kind": t.kind,
            "from": t.source,
            "to": t.target,
            "principal": fmt(t.principal),
            "interest": fmt(t.interest),
        }
        for t in ledger.transfers()
    ]
    notices = [
        {"date": n.date.isoformat(), "contract": n.contract, "fund": n.fund, "kind": n.kind}
        for n in ledger.notices()
    ]
    held = {
        contract: {fund: fmt(amount) for fund, amount in funds.items()}
        for contract, funds in ledger.held().items()
    }
    refused: list[dict[str, Any]] = []
    for r in ledger.refusals():
        item: dict[str, Any] = {"date": r.date.isoformat(), "action": r.action}
        if r.contract is not None:
            item["contract"] = r.contract
        item["reason"] = r.reason
        refused.append(item)
    return {
        "scenario": scenario,
        "clock": ledger.today.isoformat(),
        "transfers": transfers,
        "notices": notices,
        "held": held,
        "refused": refused,
    }
