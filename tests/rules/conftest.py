"""Fixtures for the rule tests (issue 3): a ledger on a real SQLite file, and the invariants.

Every test that uses ``ledger`` (or ``make_ledger``) gets, after it ran, the checks of issue 3:

1. postings sum to zero (every transfer, and all of them together);
2. replaying the postings in order, no ``custody@…`` or ``supervision@…`` account ever goes below
   zero (Art. 8, Art. 12: 不透支);
3. money in = money out + held, per contract and fund: ``payment_in`` principal = ``release`` +
   ``refund`` + ``deduction`` principal + ``ledger.held()``; and what the postings leave in a
   contract's escrow accounts is exactly what ``held()`` says;
4. opening the same file again gives the same run report (replay equals live) and the same open
   deadlines.

A ledger is parametrised with a :class:`LedgerConfig` by indirect parametrisation::

    @pytest.mark.parametrize("ledger", [LedgerConfig(day_basis=365)], indirect=True)
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from escrow.config import LedgerConfig
from escrow.domain.ledger import Transfer, postings_of
from escrow.domain.terms import ContractTerms
from escrow.errors import EscrowError
from escrow.projector import drift
from escrow.report import build_report
from escrow.service import Ledger, open_ledger

ZERO = Decimal("0.00")
OUT_OF_ESCROW = ("release", "refund", "deduction")
ESCROW_PREFIXES = ("custody@", "supervision@")


def check_invariants(ledger: Ledger, path: str) -> None:
    """The four invariants of issue 3 (see the module docstring)."""
    transfers = ledger.transfers()

    # (1) Postings sum to zero: each transfer on its own, and the whole ledger.
    total = ZERO
    for t in transfers:
        postings = postings_of(t)
        assert sum((p.amount for p in postings), ZERO) == ZERO, f"unbalanced transfer {t}"
        total += sum((p.amount for p in postings), ZERO)
    assert total == ZERO, f"postings sum to {total}, not zero"

    # (2) Replaying the postings in order, no escrow account ever goes below zero.
    balances: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for t in transfers:
        for p in postings_of(t):
            balances[p.account] += p.amount
            if p.account.startswith(ESCROW_PREFIXES):
                assert balances[p.account] >= ZERO, (
                    f"{p.account} went below zero ({balances[p.account]}) at {t}"
                )

    # (3) Money in = money out + held, per contract and fund.
    held = ledger.held()
    money_in: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    money_out: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for t in transfers:
        if t.kind == "payment_in":
            money_in[(t.contract, t.fund)] += t.principal
        elif t.kind in OUT_OF_ESCROW:
            money_out[(t.contract, t.fund)] += t.principal
    for contract, funds in held.items():
        for fund, amount in funds.items():
            key = (contract, fund)
            assert money_in[key] == money_out[key] + amount, (
                f"{contract} {fund}: in {money_in[key]} != out {money_out[key]} + held {amount}"
            )
            prefix = "custody@" if fund == "deposit" else "supervision@"
            in_accounts = sum(
                (
                    v
                    for account, v in balances.items()
                    if account.startswith(prefix) and account.endswith(f":{contract}")
                ),
                ZERO,
            )
            assert in_accounts == amount, (
                f"{contract} {fund}: postings leave {in_accounts} in {prefix}…, held() says {amount}"
            )

    # (4) Replay equals live: every read model equals a rebuild from the events alone, and the
    # same file opened again gives the same report and deadlines.
    found = drift(ledger.store)
    assert found == [], found
    live = build_report(ledger, "invariants")
    live_deadlines = ledger.deadlines()
    again = open_ledger(path)
    try:
        assert build_report(again, "invariants") == live
        assert again.deadlines() == live_deadlines
    finally:
        again.close()


@pytest.fixture
def make_ledger(tmp_path: Path) -> Iterator[Callable[..., Ledger]]:
    """Open ledgers on real SQLite files in ``tmp_path``; each is checked after the test."""
    opened: list[tuple[Ledger, str]] = []

    def make(config: LedgerConfig | None = None, name: str = "ledger.db") -> Ledger:
        path = str(tmp_path / name)
        ledger = open_ledger(path, config)
        opened.append((ledger, path))
        return ledger

    yield make
    try:
        for ledger, path in opened:
            check_invariants(ledger, path)
    finally:
        for ledger, _ in opened:
            ledger.close()


@pytest.fixture
def ledger(request: pytest.FixtureRequest, make_ledger: Callable[..., Ledger]) -> Ledger:
    """A ledger on ``tmp_path/ledger.db``, with the LedgerConfig given by indirect parametrisation."""
    config: LedgerConfig | None = getattr(request, "param", None)
    return make_ledger(config)


def _terms(
    id: str = "C1",
    *,
    filing_no: str | None = None,
    tenant: str = "T1",
    enterprise: str = "E1",
    start: dt.date = dt.date(2025, 6, 1),
    end: dt.date = dt.date(2026, 5, 31),
    monthly_rent: str = "5000.00",
    deposit: str = "5000.00",
    affordable: bool = False,
) -> ContractTerms:
    return ContractTerms(
        id=id,
        filing_no=filing_no or f"JZ-{id}",
        tenant=tenant,
        enterprise=enterprise,
        start=start,
        end=end,
        monthly_rent=Decimal(monthly_rent),
        deposit=Decimal(deposit),
        affordable=affordable,
    )


@pytest.fixture
def make_terms() -> Callable[..., ContractTerms]:
    """``make_terms("C1", start=…, deposit="5000.00", …)``: ContractTerms with defaults.

    Defaults are the docs/scenario-format.md contract: T1 rents from E1, 2025-06-01..2026-05-31,
    5,000.00 a month, deposit 5,000.00; the filing number is ``JZ-<id>``.
    """
    return _terms


Row = tuple[str, str, str, str, str, str]


def _rows(transfers: list[Transfer]) -> list[Row]:
    """Transfers as (date, kind, from, to, principal, interest) strings, as the report shows."""
    return [
        (t.date.isoformat(), t.kind, t.source, t.target, f"{t.principal:.2f}", f"{t.interest:.2f}")
        for t in transfers
    ]


@pytest.fixture
def rows() -> Callable[[list[Transfer]], list[Row]]:
    return _rows


def _assert_refused(
    ledger: Ledger,
    error: type[EscrowError],
    act: Callable[..., Any],
    *args: Any,
    exact: bool = True,
    **kwargs: Any,
) -> EscrowError:
    """``act(*args, **kwargs)`` raises exactly ``error`` (or a subclass, ``exact=False``) and
    writes nothing.

    Nothing written: the store's last position is unchanged, and so is the run report (transfers,
    notices, held, refused) and the open deadlines.
    """
    position = ledger.store.last_position()
    report = build_report(ledger, "before")
    deadlines = ledger.deadlines()
    with pytest.raises(Exception) as info:  # the exact class is asserted below
        act(*args, **kwargs)
    matches = type(info.value) is error if exact else isinstance(info.value, error)
    assert matches, f"expected {error.__name__}, got {type(info.value).__name__}: {info.value}"

    assert ledger.store.last_position() == position, "a refused act wrote to the store"
    assert build_report(ledger, "before") == report
    assert ledger.deadlines() == deadlines
    assert isinstance(info.value, EscrowError)
    return info.value


@pytest.fixture
def assert_refused() -> Callable[..., EscrowError]:
    return _assert_refused


@pytest.fixture
def worked_example(ledger: Ledger, make_terms: Callable[..., ContractTerms]) -> Ledger:
    """docs/rules.md worked example up to the return: the docs/scenario-format.md contract C1 (filing
    JZ-2025-000001), deposit 5,000.00 arriving Tue 2025-06-03, home returned Tue 2025-09-30."""
    ledger.open_contract(make_terms("C1", filing_no="JZ-2025-000001"), on=dt.date(2025, 6, 1))
    ledger.pay_deposit("C1", Decimal("5000.00"), on=dt.date(2025, 6, 3))
    ledger.return_home("C1", on=dt.date(2025, 9, 30))
    return ledger
