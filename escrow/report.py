"""The run report of INTERFACE.md: a public contract, built from the ledger's read models."""

from __future__ import annotations

from typing import Any

from escrow.money import fmt
from escrow.service import Ledger


def build_report(ledger: Ledger, scenario: str) -> dict[str, Any]:
    """``{scenario, clock, transfers, notices, held, refused}`` exactly as INTERFACE.md shows."""
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
