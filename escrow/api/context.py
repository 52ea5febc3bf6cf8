"""What every request handler needs: the process's ledger, its lock, the mode, the party."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from typing import Annotated, Literal

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from escrow.api.parties import Party
from escrow.api.problems import Problem
from escrow.api.tokens import authenticate
from escrow.clock import Clock
from escrow.service import Ledger
from escrow.store import EventStoreLike

Mode = Literal["live", "simulation"]


@dataclasses.dataclass
class Service:
    """One process's ledger. A ledger is not shared between threads: every use holds ``lock``
    (writers are serial in the store anyway; several processes give parallel readers)."""

    ledger: Ledger
    mode: Mode
    clock: Clock
    reader: EventStoreLike
    """A read-only store on the same database, used only by the event loop's thread: the
    bearer token's lookup, without the ledger's lock or a thread-pool hop."""
    lock: threading.RLock = dataclasses.field(default_factory=threading.RLock)

    def default_day(self, on: dt.date | None) -> dt.date:
        """An act's business date: ``on``, or today (live: Beijing's today; simulation: the
        ledger's clock). In live mode a date after today is refused: business time is now."""
        today = self.clock.today() if self.mode == "live" else self.ledger.today
        if on is None:
            return today
        if self.mode == "live" and on > today:
            raise Problem(
                422, "FutureDate", f"on: {on} is after today ({today}) and the service is live"
            )
        return on


def _service(request: Request) -> Service:
    service = request.app.state.service
    assert isinstance(service, Service)
    return service


async def service_of(request: Request) -> Service:
    """The process's service. ``async``: FastAPI runs a plain dependency in its thread pool,
    one more hop per request for what is an attribute read."""
    return _service(request)


_bearer = HTTPBearer(auto_error=False, description="A token made by `escrow tokens create`.")


async def current_party(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Party:
    """The party the request's bearer token was issued to; ``401`` without a valid one.

    Looked up on every request (a revoked token is refused at once), on the service's reader in
    the event loop: one primary-key read, not worth a thread-pool hop."""
    challenge = {"WWW-Authenticate": 'Bearer realm="escrow"'}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Problem(401, "Unauthorized", "a bearer token is required", challenge)
    found = authenticate(_service(request).reader, credentials.credentials)
    if found is None:
        raise Problem(401, "Unauthorized", "the token is unknown or revoked", challenge)
    return found


PartyDep = Annotated[Party, Depends(current_party)]
ServiceDep = Annotated[Service, Depends(service_of)]
