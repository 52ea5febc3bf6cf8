"""Live mode: the ledger's clock follows Beijing's calendar by itself.

A background thread in each worker wakes every ``interval`` seconds. One process at a time holds
the ``live_clock`` lease (a row of ``service_leases``, taken in a write transaction of the store
when it has expired, and renewed by its holder); the holder moves the ledger to today and runs
what falls due. Should the holder die, another worker takes the lease once it expires (three
intervals). Acts move the clock too: an act on a day runs what falls due before it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid

import sqlalchemy as sa

from escrow.api.context import Service
from escrow.errors import EscrowError
from escrow.store.protocol import EventStoreLike
from escrow.store.service_tables import LeaseRow

log = logging.getLogger(__name__)

LEASE = "live_clock"
_TABLE: sa.Table = LeaseRow.__table__  # type: ignore[attr-defined]


def holder_id() -> str:
    """This process's name as a lease holder: host, process id and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def take_lease(
    store: EventStoreLike, name: str, holder: str, now: dt.datetime, ttl: dt.timedelta
) -> bool:
    """Take or renew the lease ``name`` for ``holder`` until ``now + ttl``; False while another
    holder's lease has not expired."""
    until = (now + ttl).isoformat()
    with store.transaction() as conn:
        row = conn.execute(
            sa.select(_TABLE.c.holder, _TABLE.c.expires_at).where(_TABLE.c.name == name)
        ).first()
        if row is None:
            conn.execute(_TABLE.insert().values(name=name, holder=holder, expires_at=until))
            return True
        if row.holder != holder and dt.datetime.fromisoformat(row.expires_at) > now:
            return False
        conn.execute(
            _TABLE.update().where(_TABLE.c.name == name).values(holder=holder, expires_at=until)
        )
        return True


def tick(service: Service, holder: str, interval: float) -> bool:
    """One round: take the lease, and if held move the ledger to today. True when held."""
    now = service.clock.now()
    with service.lock:
        store = service.ledger.store
        if not take_lease(store, LEASE, holder, now, dt.timedelta(seconds=3 * interval)):
            return False
        today = service.clock.today()
        if service.ledger.today < today:
            service.ledger.advance_to(today)
            log.info("live clock: the ledger moved to %s", today)
    return True


class LiveClock:
    """The background thread of one worker."""

    def __init__(self, service: Service, interval: float) -> None:
        self.service, self.interval = service, interval
        self.holder = holder_id()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="escrow-live-clock", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                tick(self.service, self.holder, self.interval)
            except EscrowError as error:  # logged and tried again next round
                log.warning("live clock: %s", error)
            self._stop.wait(self.interval)
