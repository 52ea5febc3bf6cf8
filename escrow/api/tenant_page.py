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
from collections.abc import Callable
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

__all__ = ["LotLine", "TenantView", "tenant_page_router", "tenant_view"]


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


def _page(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=tenant_html.SECURITY_HEADERS)


def tenant_page_router(ledger_of: Callable[[], Ledger]) -> APIRouter:
    """The routes of the tenant's page; ``ledger_of()`` gives the ledger to read (per request).

    Mount with ``app.include_router(tenant_page_router(...))``. The handlers are plain functions
    (FastAPI runs them in its thread pool): the ledger's reads are blocking. The page is not an
    API resource, so it is left out of the OpenAPI document.
    """
    router = APIRouter()

    @router.get("/tenant", response_class=HTMLResponse, include_in_schema=False)
    def tenant_form() -> HTMLResponse:
        return _page(tenant_html.form_page())

    @router.post("/tenant", response_class=HTMLResponse, include_in_schema=False)
    def tenant_lookup(
        filing_no: Annotated[str, Form()] = "",
        query_code: Annotated[str, Form()] = "",
    ) -> HTMLResponse:
        ledger = ledger_of()
        contract = contract_for_query(ledger, filing_no, query_code)
        if contract is None:
            return _page(tenant_html.not_found_page(), 404)
        return _page(tenant_html.view_page(tenant_view(ledger, contract)))

    return router
