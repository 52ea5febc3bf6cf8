"""Rich tables and summaries for the terminal; the JSON forms are the public contract.

A query's result is a :class:`Rows` (one JSON object per row, keys in column order): printed as
a rich table (an empty result as one line saying so), as JSON, or as CSV with one header row.
Text from a scenario or a ledger is shown as data in every form (see :mod:`escrow.terminal`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from decimal import Decimal
from typing import IO, Any, Literal, NamedTuple

from rich.console import Console
from rich.table import Table

from escrow.domain.ledger import Transfer
from escrow.domain.state import ContractState
from escrow.money import ZERO, fmt
from escrow.projections import Balance, Deadline, Notice
from escrow.terminal import markup_safe, printable

OutputFormat = Literal["table", "json", "csv"]


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
    print_summary(summary(report), console)


def print_summary(s: dict[str, Decimal], console: Console) -> None:
    """The run's totals on one line, or one figure a line where the terminal is too narrow for
    it (never a figure split from its label)."""
    items = [
        f"money in {fmt(s['in'])}",
        f"refunded {fmt(s['refunded'])}",
        f"deducted {fmt(s['deducted'])}",
        f"released {fmt(s['released'])}",
        f"interest paid {fmt(s['interest'])}",
        f"held {fmt(s['held'])}",
    ]
    line = " · ".join(items)
    for text in [line] if len(line) <= console.width else items:
        console.print(text, soft_wrap=True)


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
    print_rows(deadline_rows(deadlines), console)


def transfer_json(t: Transfer) -> dict[str, Any]:
    """One transfer as the run report lists it (docs/report-format.md ``transfers``)."""
    return {
        "date": t.date.isoformat(),
        "contract": t.contract,
        "fund": t.fund,
        "kind": t.kind,
        "from": t.source,
        "to": t.target,
        "principal": fmt(t.principal),
        "interest": fmt(t.interest),
    }


def notice_json(n: Notice) -> dict[str, Any]:
    """One notice as the run report lists it, with its detail (empty for most kinds)."""
    return {
        "date": n.date.isoformat(),
        "contract": n.contract,
        "fund": n.fund,
        "kind": n.kind,
        "detail": n.detail,
    }


class Rows(NamedTuple):
    """A query's result: a title, its columns, one JSON object per row and what an empty
    result says (``no transfers``)."""

    title: str
    columns: tuple[str, ...]
    rows: Iterable[dict[str, Any]]
    """The rows, read once: a list, or a generator that reads the ledger as they are written
    (JSON and CSV are written row by row, in bounded memory)."""
    empty: str
    right: frozenset[str] = frozenset()
    """Columns of amounts, right-justified in a table."""
    shown: tuple[str, ...] | None = None
    """The columns a table shows (default: all), when all would not fit a terminal."""


TRANSFER_COLUMNS = ("date", "contract", "fund", "kind", "from", "to", "principal", "interest")
NOTICE_COLUMNS = ("date", "contract", "fund", "kind", "detail")
DEADLINE_COLUMNS = ("date", "contract", "fund", "kind", "detail")
BALANCE_COLUMNS = ("contract", "filing_no", "as_of", "fund", "principal", "interest_accrued")
MONEY = frozenset({"principal", "interest", "interest_accrued", "monthly_rent", "deposit"})


CONTRACT_COLUMNS = (
    "contract", "filing_no", "tenant", "enterprise", "start", "end", "monthly_rent", "deposit",
    "affordable", "returned_on", "suspended", "held_deposit", "held_rent",
)  # fmt: skip


def contract_json(state: ContractState) -> dict[str, Any]:
    """A contract's terms and where it stands: returned or not, releases suspended, principal
    still held per fund."""
    terms = state.terms
    return {
        "contract": terms.id,
        "filing_no": terms.filing_no,
        "tenant": terms.tenant,
        "enterprise": terms.enterprise,
        "start": terms.start.isoformat(),
        "end": terms.end.isoformat(),
        "monthly_rent": fmt(terms.monthly_rent),
        "deposit": fmt(terms.deposit),
        "affordable": terms.affordable,
        "returned_on": None if state.returned_on is None else state.returned_on.isoformat(),
        "suspended": state.suspended,
        "held_deposit": fmt(state.held("deposit")),
        "held_rent": fmt(state.held("rent")),
    }


def contract_rows(states: Iterable[ContractState]) -> Rows:
    return Rows(
        "Contracts",
        CONTRACT_COLUMNS,
        map(contract_json, states),
        "no contracts",
        MONEY | {"held_deposit", "held_rent"},
        tuple(c for c in CONTRACT_COLUMNS if c not in ("monthly_rent", "deposit", "affordable")),
    )


def transfer_rows(transfers: Iterable[Transfer]) -> Rows:
    return Rows("Transfers", TRANSFER_COLUMNS, map(transfer_json, transfers), "no transfers", MONEY)


def notice_rows(notices: Iterable[Notice]) -> Rows:
    return Rows("Notices", NOTICE_COLUMNS, map(notice_json, notices), "no notices")


def deadline_rows(deadlines: Iterable[Deadline]) -> Rows:
    return Rows(
        "Open deadlines and scheduled movements",
        DEADLINE_COLUMNS,
        map(deadline_json, deadlines),
        "no open deadlines",
    )


def balance_rows(b: Balance) -> Rows:
    """A balance flat, one row per fund (for CSV; the JSON form is :func:`balance_json`)."""
    rows = [
        {
            "contract": b.contract,
            "filing_no": b.filing_no,
            "as_of": b.as_of.isoformat(),
            "fund": f.fund,
            "principal": fmt(f.principal),
            "interest_accrued": fmt(f.interest_accrued),
        }
        for f in (b.deposit, b.rent)
    ]
    return Rows("Balance", BALANCE_COLUMNS, rows, "no balance", MONEY)


def _text(value: object) -> str:
    """A cell as text: null is empty, a flag is true/false, the rest as written."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_csv(rows: Rows, out: IO[str]) -> None:
    """CSV (RFC 4180 quoting, by the csv module) with one header row; every cell printable.
    Written to ``out`` row by row."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(rows.columns)
    for row in rows.rows:
        writer.writerow([printable(_text(row[c])) for c in rows.columns])


def write_json(rows: Rows, out: IO[str]) -> None:
    """The rows as a JSON array, written to ``out`` row by row: the text is exactly
    ``json.dumps(list(rows.rows), ensure_ascii=False, indent=2)`` and a newline (each row is
    dumped alone and indented one level more; JSON text holds no raw newline but these)."""
    first = True
    for row in rows.rows:
        text = json.dumps(row, ensure_ascii=False, indent=2).replace("\n", "\n  ")
        out.write(("[\n  " if first else ",\n  ") + text)
        first = False
    out.write("[]\n" if first else "\n]\n")


def print_rows(rows: Rows, console: Console) -> None:
    """A rich table of ``rows``, or one line saying the result is empty."""
    table = Table(title=markup_safe(rows.title))
    columns = rows.shown or rows.columns
    for column in columns:
        table.add_column(column, justify="right" if column in rows.right else "left")
    for row in rows.rows:
        table.add_row(*_cells(*(_text(row[c]) for c in columns)))
    if not table.row_count:
        console.print(markup_safe(rows.empty))
        return
    console.print(table)
