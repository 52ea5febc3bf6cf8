"""A pytest plugin for platforms that test their own code against escrow.

Registered through the ``pytest11`` entry point, so installing escrow is enough; the fixture
names start with ``escrow_`` so that they never shadow a platform's own ``ledger`` fixture:

- ``escrow_ledger``: a :class:`~escrow.Ledger` on a temporary SQLite file, on the system clock;
- ``escrow_travel``: moves business time and, through freezegun, the wall clock, then runs what
  fell due: ``travel.to(date)``, ``travel.by(days=…)``, ``travel.by(working_days=…)``. Time only
  goes forward: ``travel.to`` a date before the last one is refused with an ``InputError``.
  pytest's own timing (``--durations``, the run's duration) keeps the real clock. It needs
  freezegun, which the ``testing`` extra installs:
  ``pip install 'beijing-rental-escrow[testing]'``.

A platform's test reads::

    def test_silent_enterprise_refunds_everything(escrow_ledger, escrow_travel):
        escrow_travel.to(date(2025, 6, 3))
        escrow_ledger.open_contract(terms)
        escrow_ledger.pay_deposit("C1", Decimal("5000.00"))
        escrow_travel.to(date(2025, 9, 30))
        escrow_ledger.return_home("C1")
        escrow_travel.by(working_days=4)
        ...
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

import escrow
from escrow.clock import BEIJING, SystemClock
from escrow.errors import InputError
from escrow.service import Ledger, open_ledger

NOON = dt.time(12, 0)


class _WallClock(Protocol):
    """What freezegun's ``freeze_time`` gives: a wall clock we can move."""

    def move_to(self, target_datetime: dt.datetime) -> None: ...


class Travel:
    """Time travel for a ledger: the wall clock (freezegun) and business time move together."""

    def __init__(self, ledger: Ledger, frozen: _WallClock) -> None:
        self.ledger = ledger
        self._frozen = frozen
        self._at: dt.date | None = None

    @property
    def today(self) -> dt.date:
        """Today's business date, as the clock module sees it."""
        return SystemClock().today()

    def to(self, day: dt.date) -> dt.date:
        """Go to noon (Beijing) on ``day`` and process everything that fell due up to it.

        Refuses (:class:`~escrow.errors.InputError`) a day before the one travelled to last, or
        before the ledger's clock: the ledger has already processed the days in between.
        """
        # Before the first journey the ledger's today is the real one; after it, the clock's.
        since = None if self._at is None else max(self._at, self.ledger.today)
        if since is not None and day < since:
            raise InputError(
                f"travel.to: {day.isoformat()} is before {since.isoformat()}, where the ledger's"
                " clock already is; time travel only goes forward (use a new escrow_ledger)"
            )
        self._frozen.move_to(dt.datetime.combine(day, NOON, tzinfo=BEIJING))
        self._at = day
        self.ledger.tick()
        return day

    def by(self, *, days: int = 0, working_days: int = 0) -> dt.date:
        """Move on by calendar days or by working days (the official calendar), not both."""
        if (days != 0) == (working_days != 0) or days < 0 or working_days < 0:
            raise InputError("travel.by: give a positive days= or working_days=, not both")
        start = self.today
        if days:
            target = start + dt.timedelta(days=days)
        else:
            target = self.ledger.calendar.nth_working_day(start, working_days)
        return self.to(target)


@pytest.fixture
def escrow_ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A ledger on a real SQLite file in the test's temporary directory."""
    with open_ledger(str(tmp_path / "escrow-ledger.db")) as opened:
        yield opened


@pytest.fixture
def escrow_travel(escrow_ledger: Ledger) -> Iterator[Travel]:
    """Freeze the wall clock at now and move it, with the ledger's business time, on request.

    pytest's own modules keep the real clock (freezegun's ``ignore``), so ``--durations`` and the
    run's duration stay true.
    """
    try:
        import freezegun
    except ImportError:
        raise pytest.UsageError(
            "escrow_travel needs freezegun: pip install 'beijing-rental-escrow[testing]'"
        ) from None
    # Load every public name first: freezegun looks through the attributes of every module when
    # it starts, and a name ``escrow`` loads on first use would otherwise be imported with the
    # clock frozen (its pydantic models would then be built on freezegun's fake date class).
    for name in escrow.__all__:
        getattr(escrow, name)
    with freezegun.freeze_time(SystemClock().now(), ignore=["_pytest", "pluggy"]) as frozen:
        yield Travel(escrow_ledger, frozen)
