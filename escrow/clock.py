"""Clocks: the only module that reads the wall clock.

Business time (dates) is a parameter everywhere else. The store asks a clock for the *recorded*
time of each event; the ledger asks it for *today* in live mode.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    """Something that tells the time."""

    def now(self) -> dt.datetime:
        """The current instant, timezone-aware (UTC)."""
        ...

    def today(self) -> dt.date:
        """Today's business date."""
        ...


BEIJING = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


class SystemClock:
    """The wall clock. Business dates are Beijing dates (UTC+8, no DST)."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def today(self) -> dt.date:
        return dt.datetime.now(BEIJING).date()


class FixedClock:
    """A clock that says what it is told (tests, simulations)."""

    def __init__(self, now: dt.datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._now = now

    def now(self) -> dt.datetime:
        return self._now

    def today(self) -> dt.date:
        return self._now.astimezone(BEIJING).date()

    def set(self, now: dt.datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._now = now
