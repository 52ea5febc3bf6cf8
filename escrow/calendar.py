"""The official mainland-China workday calendar (docs/rules.md rule 21; Art. 15, rules 3, 5, 11).

Working days are mainland China's official calendar: Saturdays, Sundays and public holidays are
off, except the weekend **make-up working days** (调休上班) the State Council announces each year.
The ``holidays`` package (``holidays.China``) carries both. Overrides add holidays or workdays on
top (an extra workday wins over everything; then an extra holiday; then the package).

Deadlines count working days **after** a start day; the start day itself never counts (Civil
Code Art. 201: 按照日计算期间的，开始的当日不计入).

Provisional years
-----------------
``holidays.China`` can compute the statutory holidays of any year, but the State Council's
arrangement for a year (which days are bridged, which weekend days become make-up working days)
is only published around the previous November/December. The package records each published
arrangement in ``China.special_public_holidays``, a dict keyed by year (2001..2026 in holidays
0.109). So a year is **official** iff it is a key of that dict or the caller lists it in
``official_years`` (e.g. after adding that year's schedule through the override lists); every
other year is **provisional**: a deadline computed in it may move once the schedule appears and
must be flagged (rule 21), not silently trusted. Years before the package's first published year
are provisional too (no schedule is known for them).

The calendar never reads the wall clock: "provisional" depends only on the installed package
and the caller's declarations.

Performance: the package's answer for a date is memoised module-wide (one shared, lazily
extended ``holidays.China`` instance); each calendar also memoises ``nth_working_day``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from holidays.countries.china import China

from escrow.errors import CalendarError

__all__ = ["FIRST_DATE", "LAST_DATE", "WorkdayCalendar", "check_supported_date"]

_ONE_DAY = timedelta(days=1)

FIRST_DATE = date(2000, 1, 1)
"""The first business date escrow accepts. China has worked a five-day week since 1995 and the
``holidays`` package carries State Council schedules from 2001; earlier dates would be counted
on a calendar that did not apply."""

LAST_DATE = date(2099, 12, 31)
"""The last business date escrow accepts, and the furthest its clock runs. Deadlines computed
from a date near it may fall a few days later; releases and lapses due after it stay pending.
The bound keeps every date escrow computes (deadlines, monthly anniversaries of a prepayment of
any length) far from the end of Python's calendar (9999-12-31)."""


def check_supported_date(day: date, what: str) -> None:
    """Raise :class:`CalendarError` (an input error) when ``day`` is outside the supported range."""
    if not FIRST_DATE <= day <= LAST_DATE:
        raise CalendarError(
            f"{what} {day.isoformat()} is outside the supported dates"
            f" {FIRST_DATE.isoformat()} to {LAST_DATE.isoformat()}"
        )


# One shared instance; holidays expands it year by year on demand (``expand=True``).
_CHINA = China()  # type: ignore[no-untyped-call]  # holidays leaves __init__ untyped


def _published_years() -> frozenset[int]:
    """Years whose State Council schedule the installed ``holidays`` package encodes."""
    return frozenset(int(year) for year in _CHINA.special_public_holidays)


_PUBLISHED_YEARS = _published_years()


@functools.cache
def _package_is_working_day(day: date) -> bool:
    """The package's answer (weekends off except make-up days, public holidays off)."""
    # ``day in _CHINA`` populates the year first, so ``weekend_workdays`` is filled in before
    # ``is_working_day`` consults it.
    is_holiday = day in _CHINA
    return bool(_CHINA.is_working_day(day)) and not is_holiday


def _check_day(day: object, what: str) -> date:
    if not isinstance(day, date) or isinstance(day, datetime):
        raise CalendarError(f"{what}: expected a date, got {type(day).__name__}")
    return day


class WorkdayCalendar:
    """Mainland China's working days, with overrides; see the module docstring."""

    def __init__(
        self,
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
        official_years: Iterable[int] = (),
    ) -> None:
        self._extra_holidays = frozenset(_check_day(d, "extra holiday") for d in extra_holidays)
        self._extra_workdays = frozenset(_check_day(d, "extra workday") for d in extra_workdays)
        both = sorted(self._extra_holidays & self._extra_workdays)
        if both:
            listed = ", ".join(d.isoformat() for d in both)
            raise CalendarError(f"{listed} listed both as an extra holiday and an extra workday")
        declared = frozenset(official_years)
        for year in declared:
            if not isinstance(year, int) or isinstance(year, bool):
                raise CalendarError(f"official year must be an int, got {year!r}")
        self._official_years = _PUBLISHED_YEARS | declared
        self._nth_cache: dict[tuple[date, int], date] = {}

    def is_working_day(self, day: date) -> bool:
        """Extra workdays win, then extra holidays, then the official calendar."""
        if day in self._extra_workdays:
            return True
        if day in self._extra_holidays:
            return False
        return _package_is_working_day(day)

    def nth_working_day(self, start: date, n: int) -> date:
        """The ``n``-th working day after ``start`` (``start`` never counts; ``n >= 1``)."""
        key = (start, n)
        cached = self._nth_cache.get(key)
        if cached is not None:
            return cached
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise CalendarError(f"the number of working days must be at least 1, got {n!r}")
        _check_day(start, "start")
        day = start
        remaining = n
        while remaining:
            day += _ONE_DAY
            if self.is_working_day(day):
                remaining -= 1
        self._nth_cache[key] = day
        return day

    def settlement_day(self, day: date) -> date:
        """``day`` itself if it is a working day, else the next working day (rule 11)."""
        while not self.is_working_day(day):
            day += _ONE_DAY
        return day

    def is_provisional(self, day: date) -> bool:
        """True when ``day``'s year has no official schedule (package or ``official_years``)."""
        return day.year not in self._official_years

    def is_provisional_span(self, start: date, end: date) -> bool:
        """True when any day in ``(start, end]`` falls in a provisional year.

        An empty span (``end == start``) is not provisional; ``end < start`` is a CalendarError.
        """
        if end < start:
            raise CalendarError(f"span ends {end.isoformat()} before it starts {start.isoformat()}")
        if end == start:
            return False
        first_year = (start + _ONE_DAY).year
        return any(year not in self._official_years for year in range(first_year, end.year + 1))

    def working_days_between(self, start: date, end: date) -> int:
        """The number of working days in ``(start, end]``; ``end < start`` is a CalendarError."""
        if end < start:
            raise CalendarError(f"span ends {end.isoformat()} before it starts {start.isoformat()}")
        count = 0
        day = start
        while day < end:
            day += _ONE_DAY
            if self.is_working_day(day):
                count += 1
        return count

    def official_until(self) -> int:
        """The last year of the unbroken run of official years from the package's latest one.

        With holidays 0.109 that is 2026; ``official_years=[2027]`` makes it 2027, while
        ``official_years=[2028]`` alone leaves it at 2026 (2027 is still provisional). Every
        year from the package's first published year (2001) to this one is official.
        """
        year = max(_PUBLISHED_YEARS)
        while year + 1 in self._official_years:
            year += 1
        return year
