"""The FastAPI application of ``escrow serve``.

:func:`create_app` opens the ledger (one per process: ``--workers 4`` is four processes, each
with its own ledger on the same database; the store's write lock makes their writers serial).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator

from fastapi import FastAPI

from escrow import __version__
from escrow.api import problems, routes_acts, routes_clock, routes_reads, routes_webhooks
from escrow.api.context import Mode, Service
from escrow.api.delivery_task import Deliverer
from escrow.api.limits import BodyLimit
from escrow.api.live_clock import LiveClock
from escrow.api.tenant_page import tenant_page_router
from escrow.clock import Clock, SystemClock
from escrow.config import LedgerConfig
from escrow.service import CODEC, Ledger, open_ledger
from escrow.store import open_store

DESCRIPTION = """
The supervision system of Beijing's rental deposit custody and rent supervision (Art. 7):
every act and query of escrow's ledger, for the fund centre, the rental enterprises, the
tenants, the mediation association, the district authorities and auditors.

Every request carries `Authorization: Bearer <token>` (`escrow tokens create`). Every write
carries an `Idempotency-Key`. Errors are RFC 9457 problem details. Amounts are strings of
decimal yuan; dates are Beijing business dates.
"""


def create_app(
    url: str | os.PathLike[str],
    *,
    mode: Mode = "live",
    config: LedgerConfig | None = None,
    clock: Clock | None = None,
    live_interval: float = 60.0,
    deliver: bool = True,
    deliver_interval: float = 1.0,
) -> FastAPI:
    """The service on the ledger at ``url`` (created with ``config`` when new).

    ``mode``: ``live`` (the clock follows Beijing's today by itself, acts are dated today or
    earlier) or ``simulation`` (the fund centre moves the clock with ``POST /clock/advance``).
    ``deliver``: each worker also delivers the outbox's notices to the parties' webhooks
    (:mod:`escrow.api.delivery_task`)."""
    chosen = clock or SystemClock()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        where = str(url) if isinstance(url, os.PathLike) else url
        ledger = open_ledger(where, config, clock=chosen)
        try:
            reader = open_store(where, CODEC, chosen, read_only=True)
        except BaseException:
            ledger.close()
            raise
        service = Service(ledger, mode, chosen, reader)
        app.state.service = service
        live = LiveClock(service, live_interval) if mode == "live" else None
        if live is not None:
            live.start()
        deliverer = Deliverer(where, chosen, deliver_interval) if deliver else None
        if deliverer is not None:
            deliverer.start()
        try:
            yield
        finally:
            if deliverer is not None:
                deliverer.stop()
            if live is not None:
                live.stop()
            with service.lock:
                ledger.close()
            reader.close()

    app = FastAPI(
        title="escrow: rental deposit custody and rent supervision",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # Operation ids are the handlers' names (open_contract, pay_rent, balance…): what a
        # client generated from /openapi.json calls its methods.
        generate_unique_id_function=lambda route: route.name,
    )
    problems.install(app)
    app.add_middleware(BodyLimit)
    app.include_router(routes_acts.router)
    app.include_router(routes_reads.router)
    app.include_router(routes_clock.router)
    app.include_router(routes_webhooks.router)
    app.include_router(tenant_page_router(lambda: _held_ledger(app)))
    return app


@contextlib.contextmanager
def _held_ledger(app: FastAPI) -> Iterator[Ledger]:
    """The process's ledger, with its lock held (the tenant page's reads)."""
    service = app.state.service
    assert isinstance(service, Service)
    with service.lock:
        yield service.ledger


def app_from_environment() -> FastAPI:
    """The app ``escrow serve --workers N`` starts in each worker process (uvicorn's factory),
    from the settings the command put in the environment."""
    from escrow.api.settings import from_environment

    return from_environment()
