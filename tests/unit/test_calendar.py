"""escrow.calendar: the official mainland-China workday calendar (docs/rules.md rule 21).

Every date below was worked by hand from the State Council's holiday notices
(国务院办公厅关于2024/2025/2026年部分节假日安排的通知), not read off the code.
"""

from __future__ import annotations

from datetime import date

import pytest

from escrow.calendar import WorkdayCalendar
from escrow.errors import CalendarError


@pytest.fixture
def cal() -> WorkdayCalendar:
    return WorkdayCalendar()


def test_the_worked_example_deadline_is_the_make_up_saturday(cal: WorkdayCalendar) -> None:
    # Home returned Tue 2025-09-30. National Day + Mid-Autumn holiday 10-01..10-08 (8 days off).
    # Thu 10-09 (1), Fri 10-10 (2), Sat 10-11 make-up working day (3).
    assert cal.nth_working_day(date(2025, 9, 30), 3) == date(2025, 10, 11)


def test_the_worked_example_tenant_windows(cal: WorkdayCalendar) -> None:
    # Opinion on Fri 10-10: Sat 10-11 (1), Sun 10-12 off, Mon 10-13 (2), Tue 10-14 (3).
    assert cal.nth_working_day(date(2025, 10, 10), 3) == date(2025, 10, 14)
    # Second window from the end of the first: Wed 10-15 (1), Thu 10-16 (2), Fri 10-17 (3).
    assert cal.nth_working_day(date(2025, 10, 14), 3) == date(2025, 10, 17)


def test_spring_festival_2026_pushes_a_deadline_across_the_holiday(cal: WorkdayCalendar) -> None:
    # Start Thu 2026-02-12. Fri 02-13 (1), Sat 02-14 make-up working day (2),
    # 02-15..02-23 Spring Festival off (9 days), Tue 02-24 (3).
    assert cal.nth_working_day(date(2026, 2, 12), 3) == date(2026, 2, 24)


def test_the_start_day_never_counts_even_when_it_is_a_working_day(cal: WorkdayCalendar) -> None:
    # Mon 2025-10-13 is a working day; the 1st working day after it is Tue 10-14.
    assert cal.nth_working_day(date(2025, 10, 13), 1) == date(2025, 10, 14)


@pytest.mark.parametrize("n", [0, -1])
def test_nth_working_day_needs_n_of_at_least_one(cal: WorkdayCalendar, n: int) -> None:
    with pytest.raises(CalendarError):
        cal.nth_working_day(date(2025, 10, 13), n)


MAKE_UP_WORKDAYS = [
    # 2024 notice: Spring Festival Sun 02-04 and Sun 02-18; Qingming Sun 04-07; Labour Day
    # Sun 04-28 and Sat 05-11; Mid-Autumn Sat 09-14; National Day Sun 09-29 and Sat 10-12.
    date(2024, 2, 4),
    date(2024, 2, 18),
    date(2024, 4, 7),
    date(2024, 4, 28),
    date(2024, 5, 11),
    date(2024, 9, 14),
    date(2024, 9, 29),
    date(2024, 10, 12),
    # 2025 notice: Spring Festival Sun 01-26 and Sat 02-08; Labour Day Sun 04-27;
    # National Day Sun 09-28 and Sat 10-11.
    date(2025, 1, 26),
    date(2025, 2, 8),
    date(2025, 4, 27),
    date(2025, 9, 28),
    date(2025, 10, 11),
    # 2026 notice: New Year Sun 01-04; Spring Festival Sat 02-14 and Sat 02-28; Labour Day
    # Sat 05-09; National Day Sun 09-20 and Sat 10-10.
    date(2026, 1, 4),
    date(2026, 2, 14),
    date(2026, 2, 28),
    date(2026, 5, 9),
    date(2026, 9, 20),
    date(2026, 10, 10),
]


@pytest.mark.parametrize("day", MAKE_UP_WORKDAYS, ids=str)
def test_every_make_up_weekend_day_is_a_working_day(cal: WorkdayCalendar, day: date) -> None:
    assert day.weekday() >= 5  # they are all Saturdays or Sundays
    assert cal.is_working_day(day)


@pytest.mark.parametrize(
    "day",
    [
        date(2025, 10, 1),  # Wed, National Day
        date(2025, 10, 8),  # Wed, last day of the 2025 National Day holiday
        date(2026, 2, 17),  # Tue, Spring Festival (正月初一)
        date(2026, 1, 1),  # Thu, New Year's Day
        date(2024, 5, 3),  # Fri, bridged Labour Day holiday
    ],
    ids=str,
)
def test_public_holidays_are_not_working_days(cal: WorkdayCalendar, day: date) -> None:
    assert not cal.is_working_day(day)


@pytest.mark.parametrize("day", [date(2025, 10, 18), date(2025, 10, 19), date(2026, 3, 7)], ids=str)
def test_plain_weekends_are_not_working_days(cal: WorkdayCalendar, day: date) -> None:
    assert not cal.is_working_day(day)


def test_plain_weekdays_are_working_days(cal: WorkdayCalendar) -> None:
    assert cal.is_working_day(date(2025, 10, 20))  # Monday
    assert cal.is_working_day(date(2025, 9, 30))  # Tuesday before National Day


def test_a_saturday_settles_on_the_next_monday(cal: WorkdayCalendar) -> None:
    # Sat 2025-10-18 off, Sun 10-19 off, Mon 10-20 working.
    assert cal.settlement_day(date(2025, 10, 18)) == date(2025, 10, 20)


def test_a_working_day_settles_the_same_day(cal: WorkdayCalendar) -> None:
    assert cal.settlement_day(date(2025, 10, 11)) == date(2025, 10, 11)  # make-up Saturday


def test_a_holiday_settles_after_the_whole_holiday(cal: WorkdayCalendar) -> None:
    # 2025-10-01..08 off -> Thu 10-09.
    assert cal.settlement_day(date(2025, 10, 1)) == date(2025, 10, 9)


def test_working_days_between_counts_the_half_open_span(cal: WorkdayCalendar) -> None:
    # (2025-09-30, 2025-10-14]: 10-09, 10-10, 10-11 (make-up), 10-13, 10-14 = 5.
    assert cal.working_days_between(date(2025, 9, 30), date(2025, 10, 14)) == 5
    assert cal.working_days_between(date(2025, 9, 30), date(2025, 9, 30)) == 0
    with pytest.raises(CalendarError):
        cal.working_days_between(date(2025, 10, 14), date(2025, 9, 30))


def test_working_days_in_2025_total_248() -> None:
    # 261 weekdays in 2025, minus 18 weekday holidays (01-01; 01-28..31, 02-03, 02-04; 04-04;
    # 05-01, 05-02, 05-05; 06-02; 10-01..03, 10-06..08) = 243, plus 5 make-up days = 248.
    cal = WorkdayCalendar()
    assert cal.working_days_between(date(2024, 12, 31), date(2025, 12, 31)) == 248


def test_an_extra_holiday_on_a_wednesday_pushes_a_deadline_by_one_day() -> None:
    # From Mon 2025-11-10: Tue 11-11 (1), Wed 11-12 (2), Thu 11-13 (3).
    assert WorkdayCalendar().nth_working_day(date(2025, 11, 10), 3) == date(2025, 11, 13)
    # With Wed 11-12 off: Tue 11-11 (1), Thu 11-13 (2), Fri 11-14 (3).
    cal = WorkdayCalendar(extra_holidays=[date(2025, 11, 12)])
    assert not cal.is_working_day(date(2025, 11, 12))
    assert cal.nth_working_day(date(2025, 11, 10), 3) == date(2025, 11, 14)


def test_an_extra_workday_on_a_sunday_pulls_a_deadline_in() -> None:
    # From Fri 2025-11-14: Mon 11-17 (1), Tue 11-18 (2), Wed 11-19 (3).
    assert WorkdayCalendar().nth_working_day(date(2025, 11, 14), 3) == date(2025, 11, 19)
    # With Sun 11-16 worked: Sun 11-16 (1), Mon 11-17 (2), Tue 11-18 (3).
    cal = WorkdayCalendar(extra_workdays=[date(2025, 11, 16)])
    assert cal.is_working_day(date(2025, 11, 16))
    assert cal.nth_working_day(date(2025, 11, 14), 3) == date(2025, 11, 18)


def test_an_extra_workday_overrides_an_official_holiday() -> None:
    cal = WorkdayCalendar(extra_workdays=[date(2025, 10, 8)])
    assert cal.is_working_day(date(2025, 10, 8))


def test_a_date_in_both_override_lists_is_refused_by_name() -> None:
    with pytest.raises(CalendarError, match="2025-11-12"):
        WorkdayCalendar(extra_holidays=[date(2025, 11, 12)], extra_workdays=[date(2025, 11, 12)])


def test_overrides_of_one_calendar_do_not_leak_into_another() -> None:
    WorkdayCalendar(extra_holidays=[date(2025, 11, 12)]).is_working_day(date(2025, 11, 12))
    assert WorkdayCalendar().is_working_day(date(2025, 11, 12))


# --- which years are official ------------------------------------------------------------------
#
# What the installed ``holidays`` knows about a year after 2026 is not a fact these tests may
# state: the State Council publishes each year's schedule late in the year before, and the next
# release carries it. Provisional years are tested with years no release will know for decades
# (2089..2099), and the boundary between official and provisional years is placed there by
# declaring the years before it official (``official_years``), as a platform does once it has
# added a schedule through the override lists. The published years the rules rely on (2024 to
# 2026) are pinned: the ``holidays`` floor in pyproject.toml carries them.


def test_the_published_years_the_worked_examples_rely_on_are_official(cal: WorkdayCalendar) -> None:
    for day in (date(2024, 10, 1), date(2025, 10, 11), date(2026, 2, 14), date(2026, 12, 31)):
        assert not cal.is_provisional(day), day
    # 2026 is official, so the unbroken run of official years reaches it at least.
    assert cal.official_until() >= 2026


def test_the_installed_holidays_carries_the_make_up_saturdays_of_the_worked_example(
    cal: WorkdayCalendar,
) -> None:
    # The README's worked example turns on two State Council make-up working days: Sat
    # 2025-10-11 (the enterprise's deadline, 2025 notice) and Sat 2026-02-14 (2026 notice). A
    # ``holidays`` release without these schedules (0.60 has neither) would silently change the
    # outcome (the opinion refused, 5,000.00 + 6.27 refunded); pyproject.toml's floor carries both.
    for day in (date(2025, 10, 11), date(2026, 2, 14)):
        assert day.weekday() == 5  # a Saturday
        assert cal.is_working_day(day), f"{day} must be a make-up working day (holidays too old?)"


def test_a_year_no_release_will_know_soon_is_provisional(cal: WorkdayCalendar) -> None:
    assert cal.is_provisional(date(2090, 6, 5))
    assert cal.is_provisional(date(2099, 12, 31))
    assert cal.official_until() < 2090


def test_declaring_a_year_official_makes_it_official_and_no_other() -> None:
    cal = WorkdayCalendar(official_years=[2090])
    assert not cal.is_provisional(date(2090, 6, 5))
    assert cal.is_provisional(date(2089, 6, 5))
    assert cal.is_provisional(date(2091, 1, 4))


def test_declared_years_extend_the_unbroken_run_of_official_years() -> None:
    # Every year from 2026 (the last the holidays floor carries) to 2090 declared: whatever the
    # package's last published year, the run reaches 2090, and 2091 stays provisional.
    cal = WorkdayCalendar(official_years=range(2026, 2091))
    assert cal.official_until() == 2090
    assert not cal.is_provisional(date(2090, 12, 31))
    assert cal.is_provisional(date(2091, 1, 1))


def test_official_until_stops_at_the_first_provisional_year() -> None:
    # 2026..2088 and 2090 declared, 2089 not: 2089 is still provisional, so the run ends in 2088.
    cal = WorkdayCalendar(official_years=[*range(2026, 2089), 2090])
    assert cal.official_until() == 2088
    assert cal.is_provisional(date(2089, 6, 5))
    assert not cal.is_provisional(date(2090, 6, 5))


def test_a_span_reaching_into_a_provisional_year_is_provisional() -> None:
    # Official through 2092 (declared), 2093 provisional.
    cal = WorkdayCalendar(official_years=range(2027, 2093))
    # (2092-12-29, 2093-01-02] contains 2093-01-01..02.
    assert cal.is_provisional_span(date(2092, 12, 29), date(2093, 1, 2))
    # (2092-12-29, 2092-12-31] stays in 2092.
    assert not cal.is_provisional_span(date(2092, 12, 29), date(2092, 12, 31))
    # (2092-12-31, 2093-01-01]: the start day is not in the span, the end day is.
    assert cal.is_provisional_span(date(2092, 12, 31), date(2093, 1, 1))
    # (2093-01-01, 2093-01-01] is empty: not provisional.
    assert not cal.is_provisional_span(date(2093, 1, 1), date(2093, 1, 1))
    # The same span is official once 2093 is declared too.
    official = WorkdayCalendar(official_years=range(2027, 2094))
    assert not official.is_provisional_span(date(2092, 12, 29), date(2093, 1, 2))


def test_a_span_within_a_published_year_is_not_provisional(cal: WorkdayCalendar) -> None:
    # (2026-12-24, 2026-12-29]: all in 2026, whose schedule is published.
    assert not cal.is_provisional_span(date(2026, 12, 24), date(2026, 12, 29))
    # A span reaching a year no release knows is provisional on the package alone.
    assert cal.is_provisional_span(date(2089, 12, 28), date(2090, 1, 3))
