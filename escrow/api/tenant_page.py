"""The tenant's page (Art. 19): what is held for a contract, by filing number and query code.

``GET /tenant`` is a form (备案编号, 查询码); ``POST /tenant`` answers it with a page rendered on
the server (:mod:`escrow.api.tenant_html`): the deposit in custody and the prepaid rent in
supervision, their lots, the interest so far, the open deadlines and the history of transfers and
notices, as of the ledger's business date. No script runs on the page and nothing is loaded from
elsewhere (the Content-Security-Policy says so). A wrong filing number and a wrong code get the
same 404 page (:func:`escrow.api.query_code.contract_for_query`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse

from escrow.api import tenant_html
from escrow.api.query_code import contract_for_query
from escrow.domain.ledger import Transfer
from escrow.domain.supervision import next_release
from escrow.domain.terms import FUNDS, Fund
from escrow.money import ZERO
from escrow.projections import Balance, Deadline, Notice, balance_of
from escrow.service import Ledger

__all__ = ["Attempts", "LotLine", "TenantView", "tenant_page_router", "tenant_view"]


@dataclasses.dataclass(frozen=True)
class LotLine:
    """One deposit payment or rent tranche: when it arrived, how much, how much is still held."""

    fund: Fund
    no: int
    arrived: dt.date
    amount: Decimal
    held: Decimal
    """Principal of the lot still in the account (not yet taken, or instructed but unpaid)."""
    next_release: dt.date | None = None
    """Rent tranches: the day the next month's rent is due to be released to the enterprise."""


@dataclasses.dataclass(frozen=True)
class TenantView:
    """Everything the tenant's page shows, read as of one business date."""

    balance: Balance
    lots: tuple[LotLine, ...]
    deadlines: tuple[Deadline, ...]
    transfers: tuple[Transfer, ...]
    notices: tuple[Notice, ...]
    returned_on: dt.date | None
    suspended: bool


def tenant_view(ledger: Ledger, contract: str) -> TenantView:
    """What the page shows of ``contract`` on the ledger's business date.

    The balance and the lots are computed from one state of the contract (so they agree); the
    history is read up to the same date.
    """
    day = ledger.today
    state = ledger.state_as_of(contract)
    balance = balance_of(state, day, ledger.rules.rate_table, ledger.rules.day_basis)
    lots: list[LotLine] = []
    for fund in FUNDS:
        for lot in state.lots(fund):
            pending = sum(
                (
                    piece.principal
                    for payout in state.payouts
                    if payout.fund == fund
                    for piece in payout.pieces
                    if piece.lot == lot.no
                ),
                ZERO,
            )
            release = next_release(state, lot) if fund == "rent" else None
            lots.append(
                LotLine(fund, lot.no, lot.arrived, lot.amount, lot.remaining + pending, release)
            )
    return TenantView(
        balance=balance,
        lots=tuple(lots),
        deadlines=tuple(ledger.deadlines(contract)),
        transfers=tuple(ledger.transfers(contract, as_of=day)),
        notices=tuple(ledger.notices(contract, as_of=day)),
        returned_on=state.returned_on,
        suspended=state.suspended,
    )


class Attempts:
    """Wrong codes per filing number: after :data:`MAX_FAILURES` within :data:`WINDOW` seconds,
    the number is not looked up again until the window has passed (``429``).

    An 8-digit code has 10^8 values; at 10 tries per quarter-hour per worker, guessing one takes
    centuries. The count is the same for a filing number that does not exist (it is counted by
    the text the form was sent with), so a lockout says nothing about existence. It is kept in
    the worker's memory: each worker counts its own, and a restart forgets.
    """

    MAX_FAILURES = 10
    WINDOW = 15 * 60.0

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, filing_no: str) -> list[float]:
        since = self._now() - self.WINDOW
        kept = [t for t in self._failures.get(filing_no, []) if t > since]
        if kept:
            self._failures[filing_no] = kept
        else:
            self._failures.pop(filing_no, None)
        return kept

    def allowed(self, filing_no: str) -> bool:
        with self._lock:
            return len(self._recent(filing_no)) < self.MAX_FAILURES

    def failed(self, filing_no: str) -> None:
        with self._lock:
            if len(self._failures) > 100_000:  # bounded memory: forget the oldest windows
                for key in list(self._failures)[:50_000]:
                    del self._failures[key]
            self._failures.setdefault(filing_no, []).append(self._now())


def _page(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=tenant_html.SECURITY_HEADERS)


def tenant_page_router(
    ledger_of: Callable[[], AbstractContextManager[Ledger]],
    attempts: Attempts | None = None,
) -> APIRouter:
    """The routes of the tenant's page; ``with ledger_of() as ledger`` gives the ledger to read
    (per request, for as long as the request reads it: the service holds its lock meanwhile).

    Mount with ``app.include_router(tenant_page_router(...))``. The handlers are plain functions
    (FastAPI runs them in its thread pool): the ledger's reads are blocking. The page is not an
    API resource, so it is left out of the OpenAPI document. ``attempts`` bounds the wrong codes
    a filing number may be tried with (:class:`Attempts`).
    """
    attempts = attempts or Attempts()
    router = APIRouter()

    @router.get("/tenant", response_class=HTMLResponse, include_in_schema=False)
    def tenant_form() -> HTMLResponse:
        return _page(tenant_html.form_page())

    @router.post("/tenant", response_class=HTMLResponse, include_in_schema=False)
    def tenant_lookup(
        filing_no: Annotated[str, Form()] = "",
        query_code: Annotated[str, Form()] = "",
    ) -> HTMLResponse:
        if not attempts.allowed(filing_no):
            return _page(tenant_html.too_many_page(), 429)
        with ledger_of() as ledger:
            contract = contract_for_query(ledger, filing_no, query_code)
            if contract is None:
                attempts.failed(filing_no)
                return _page(tenant_html.not_found_page(), 404)
            return _page(tenant_html.view_page(tenant_view(ledger, contract)))

    return router
