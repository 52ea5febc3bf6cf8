"""The clock in simulation mode: the fund centre moves it by request.

Both are writes, with an ``Idempotency-Key`` like every other (the answer to a key is kept).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from escrow.api import access, models
from escrow.api.context import PartyDep, Service, ServiceDep
from escrow.api.parties import Role
from escrow.api.problems import Problem
from escrow.api.routes_acts import _PROBLEMS, KeyHeader
from escrow.api.writes import Outcome, write

router = APIRouter()
_CLOCK: dict[str, Any] = {
    "response_model": models.ClockOut,
    "responses": {k: _PROBLEMS[k] for k in (400, 401, 403, 409, 422)},
    "tags": ["clock"],
}


def _simulating(service: Service, party: PartyDep) -> None:
    access.require(party, {Role.FUND_CENTRE}, "move the clock")
    if service.mode != "simulation":
        raise Problem(409, "WrongMode", "the clock moves by itself in live mode")


def _clock(service: Service) -> Outcome:
    return 200, {"today": service.ledger.today.isoformat(), "mode": service.mode}


@router.post("/clock/advance", **_CLOCK)
async def advance(
    body: models.AdvanceIn,
    request: Request,
    service: ServiceDep,
    party: PartyDep,
    key: KeyHeader = None,
) -> Response:
    """Move the ledger's clock to ``to``, running what falls due on the way (simulation mode).
    A day before the ledger's clock is refused (``409 ClockError``): business time only moves
    forward."""
    _simulating(service, party)

    def run(_: str) -> Outcome:
        service.ledger.advance_to(body.to)
        return _clock(service)

    return await write(request, service, party, key, body, run)


@router.post("/clock/run", **_CLOCK)
async def run_until_idle(
    body: models.RunIn,
    request: Request,
    service: ServiceDep,
    party: PartyDep,
    key: KeyHeader = None,
) -> Response:
    """Run the clock until nothing more falls due, or to ``limit`` (simulation mode): what
    ``escrow run`` does after the scenario's last action."""
    _simulating(service, party)

    def run(_: str) -> Outcome:
        service.ledger.run_until_idle(limit=body.limit)
        return _clock(service)

    return await write(request, service, party, key, body, run)
