"""Rich tables and summaries for the terminal; the JSON forms are the public contract."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from escrow.money import ZERO, fmt
from escrow.projections import Balance, Deadline
from escrow.terminal import markup_safe


def _cells(*values: str | None) -> list[str]:
    """Table cells from text that may come from a scenario file: never markup (see terminal)."""
    return [markup_safe(v or "") for v in values]


def summary(report: dict[str, Any]) -> dict[str, Decimal]:
    """Money in, refunded, deducted, released, interest paid and held, over a run report."""
    totals = {k: ZERO for k in ("in", "refunded", "deducted", "released", "interest", "held")}
    for t in report["transfers"]:
        principal, interest = Decimal(t["principal"]), Decimal(t["interest"])
        key = {"payment_in": "in", "refund": "refunded", "deduction": "deducted"}.get(t["kind"])
        if t["kind"] == "release":
            key = "released"
        if key is not None:
            totals[key] += principal
        totals["interest"] += interest
    for funds in report["held"].values():
        totals["held"] += sum((Decimal(v) for v in funds.values()), ZERO)
    return totals


def print_report(report: dict[str, Any], console: Console) -> None:
    console.print(
        f"[bold]{markup_safe(report['scenario'])}[/bold] — clock {markup_safe(report['clock'])}"
    )
    transfers = Table(title="Transfers", show_lines=False)
    for col in ("date", "contract", "fund", "kind", "from", "to"):
        transfers.add_column(col)
    transfers.add_column("principal", justify="right")
    transfers.add_column("interest", justify="right")
    for t in report["transfers"]:
        transfers.add_row(
            *_cells(*(t[c] for c in ("date", "contract", "fund", "kind", "from", "to"))),
            *_cells(t["principal"], t["interest"]),
        )
    console.print(transfers)
    if report["notices"]:
        notices = Table(title="Notices")
        for col in ("date", "contract", "fund", "kind"):
            notices.add_column(col)
        for n in report["notices"]:
            notices.add_row(*_cells(n["date"], n["contract"], n["fund"], n["kind"]))
        console.print(notices)
    if report["refused"]:
        refused = Table(title="Refused actions")
        for col in ("date", "action", "contract", "reason"):
            refused.add_column(col)
        for r in report["refused"]:
            refused.add_row(*_cells(r["date"], r["action"], r.get("contract"), r["reason"]))
        console.print(refused)
    s = summary(report)
    console.print(
        f"money in {fmt(s['in'])} · refunded {fmt(s['refunded'])} · deducted {fmt(s['deducted'])}"
        f" · released {fmt(s['released'])} · interest paid {fmt(s['interest'])}"
        f" · held {fmt(s['held'])}"
    )


def balance_json(b: Balance) -> dict[str, Any]:
    return {
        "contract": b.contract,
        "filing_no": b.filing_no,
        "tenant": b.tenant,
        "enterprise": b.enterprise,
        "as_of": b.as_of.isoformat(),
        "funds": {
            f.fund: {
                "principal": fmt(f.principal),
                "interest_accrued": fmt(f.interest_accrued),
                "lots": [{"arrived": d.isoformat(), "principal": fmt(p)} for d, p in f.lots],
            }
            for f in (b.deposit, b.rent)
        },
    }


def print_balance(b: Balance, console: Console) -> None:
    table = Table(title=markup_safe(f"{b.filing_no} (contract {b.contract}) as of {b.as_of}"))
    table.add_column("fund")
    table.add_column("held", justify="right")
    table.add_column("interest so far", justify="right")
    table.add_column("lots (arrived: principal)")
    for f in (b.deposit, b.rent):
        lots = ", ".join(f"{d}: {fmt(p)}" for d, p in f.lots)
        table.add_row(*_cells(f.fund, fmt(f.principal), fmt(f.interest_accrued), lots))
    console.print(table)


def deadline_json(d: Deadline) -> dict[str, Any]:
    return {
        "date": d.date.isoformat(),
        "contract": d.contract,
        "fund": d.fund,
        "kind": d.kind,
        "detail": d.detail,
    }


def print_deadlines(deadlines: list[Deadline], console: Console) -> None:
    table = Table(title="Open deadlines and scheduled movements")
    for col in ("date", "contract", "fund", "kind", "detail"):
        table.add_column(col)
    for d in deadlines:
        table.add_row(*_cells(d.date.isoformat(), d.contract, d.fund, d.kind, d.detail))
    console.print(table)
