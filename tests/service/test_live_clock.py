"""Live mode: the ledger's clock follows Beijing's today, moved by one process at a time."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import escrow
from escrow.api.context import Service
from escrow.api.live_clock import LEASE, take_lease, tick
from escrow.clock import BEIJING, FixedClock
from escrow.domain.terms import ContractTerms
from escrow.service import CODEC
from escrow.store import EventStoreLike, open_store

INTERVAL = 60.0


def _at(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=BEIJING)


def _reader(path: Path) -> EventStoreLike:
    return open_store(str(path), CODEC, read_only=True)


def _ledger_with_rent(path: Path, clock: FixedClock) -> None:
    terms = ContractTerms(
        id="C1", filing_no="F1", tenant="T1", enterprise="E1",
        start=dt.date(2025, 6, 3), end=dt.date(2026, 6, 2),
        monthly_rent="5000.00", deposit="0.00",
    )  # fmt: skip
    with escrow.open_ledger(path, clock=clock) as ledger:
        ledger.open_contract(terms)
        ledger.pay_rent("C1", "40000.00")


def test_one_worker_moves_the_clock_and_the_other_waits_for_the_lease(tmp_path: Path) -> None:
    path = tmp_path / "live.db"
    clock = FixedClock(_at(dt.date(2025, 6, 3)))
    _ledger_with_rent(path, clock)
    # 40,000.00 of rent at 5,000.00 a month (rule 9/10): 15,000.00 (3 months) released at once
    # on 06-03, the rest one month at a time: the next release is due Thursday 2025-07-03.
    clock.set(_at(dt.date(2025, 7, 4)))
    first = Service(escrow.open_ledger(path, clock=clock), "live", clock, _reader(path))
    second = Service(escrow.open_ledger(path, clock=clock), "live", clock, _reader(path))
    try:
        assert tick(first, "worker-1", INTERVAL) is True
        assert first.ledger.today == dt.date(2025, 7, 4)
        releases = [t for t in first.ledger.transfers("C1") if t.kind == "release"]
        assert [(t.date, t.principal) for t in releases] == [
            (dt.date(2025, 6, 3), Decimal("15000.00")),
            (dt.date(2025, 7, 3), Decimal("5000.00")),
        ]
        # The other worker finds the lease held (3 intervals from 09:00) and does nothing.
        assert tick(second, "worker-2", INTERVAL) is False
        clock.set(_at(dt.date(2025, 7, 4)) + dt.timedelta(seconds=3 * INTERVAL - 1))
        assert tick(second, "worker-2", INTERVAL) is False
        # The holder renews it while it runs...
        assert tick(first, "worker-1", INTERVAL) is True
        # ...and once it stops renewing, the lease expires and the other worker takes it.
        clock.set(clock.now() + dt.timedelta(seconds=3 * INTERVAL + 1))
        assert tick(second, "worker-2", INTERVAL) is True
        assert tick(first, "worker-1", INTERVAL) is False
    finally:
        for service in (first, second):
            service.ledger.close()
            service.reader.close()


def test_the_lease_is_one_row_naming_its_holder(tmp_path: Path) -> None:
    path = tmp_path / "lease.db"
    clock = FixedClock(_at(dt.date(2025, 6, 3)))
    with escrow.open_ledger(path, clock=clock) as ledger:
        now = clock.now()
        ttl = dt.timedelta(seconds=180)
        assert take_lease(ledger.store, LEASE, "a", now, ttl)
        assert not take_lease(ledger.store, LEASE, "b", now + dt.timedelta(seconds=179), ttl)
        assert take_lease(ledger.store, LEASE, "b", now + dt.timedelta(seconds=181), ttl)
        with ledger.store.connection() as conn:
            rows = conn.exec_driver_sql("SELECT name, holder FROM service_leases").fetchall()
        assert [tuple(r) for r in rows] == [(LEASE, "b")]
