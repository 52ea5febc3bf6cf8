"""The clock in simulation mode: the fund centre moves it by request."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from escrow.api import access, models
from escrow.api.context import PartyDep, Service, ServiceDep
from escrow.api.parties import Role
from escrow.api.problems import Problem
from escrow.api.routes_acts import _PROBLEMS

router = APIRouter()
_CLOCK: dict[str, Any] = {
    "response_model": models.ClockOut,
    "responses": {k: _PROBLEMS[k] for k in (401, 403, 409, 422)},
    "tags": ["clock"],
}


def _simulating(service: Service, party: PartyDep) -> None:
    access.require(party, {Role.FUND_CENTRE}, "move the clock")
    if service.mode != "simulation":
        raise Problem(409, "WrongMode", "the clock moves by itself in live mode")


@router.post("/clock/advance", **_CLOCK)
async def advance(body: models.AdvanceIn, service: ServiceDep, party: PartyDep) -> dict[str, Any]:
    """Move the ledger's clock to ``to``, running what falls due on the way (simulation mode).
    Moving it to a day it has passed changes nothing."""
    _simulating(service, party)

    def run() -> dict[str, Any]:
        with service.lock:
            service.ledger.advance_to(body.to)
            return {"today": service.ledger.today, "mode": service.mode}

    return await run_in_threadpool(run)


@router.post("/clock/run", **_CLOCK)
async def run_until_idle(
    body: models.RunIn, service: ServiceDep, party: PartyDep
) -> dict[str, Any]:
    """Run the clock until nothing more falls due, or to ``limit`` (simulation mode): what
    ``escrow run`` does after the scenario's last action."""
    _simulating(service, party)

    def run() -> dict[str, Any]:
        with service.lock:
            service.ledger.run_until_idle(limit=body.limit)
            return {"today": service.ledger.today, "mode": service.mode}

    return await run_in_threadpool(run)
