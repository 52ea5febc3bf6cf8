"""The simulation's plan: its acts come out by day, then by their order on that day, up to the
simulation's end, as two compact arrays; the sort keys are let go once sorted."""

from __future__ import annotations

import datetime as dt

from escrow.simulate import _DEPOSIT, _OPEN, _RENT, _Plan, acts_per_unit


def test_acts_come_out_by_day_then_order_up_to_the_end_and_the_keys_are_let_go() -> None:
    plan = _Plan()
    d1, d2, d3 = dt.date(2024, 10, 8), dt.date(2024, 11, 1), dt.date(2025, 1, 1)
    plan.add(d2, 5, _RENT, 1)  # row 0
    plan.add(d1, 7, _DEPOSIT, 1)  # row 1
    plan.add(d3, 0, _RENT, 2)  # row 2: after the end (2024-12-31), left out
    plan.add(d1, -2, _OPEN, 1)  # row 3: opens have negative orders, first on their day
    plan.add(d2, 1, _DEPOSIT, 2)  # row 4
    days, rows = plan.ordered(dt.date(2024, 12, 31))
    # d1: row 3 (order -2), row 1 (7); d2: row 4 (1), row 0 (5); d3 is past the end.
    assert list(rows) == [3, 1, 4, 0]
    assert [dt.date.fromordinal(d) for d in days] == [d1, d1, d2, d2]
    assert plan.keys == []
    assert plan.kind[rows[0]] == _OPEN  # the rows index the plan's arrays


def test_a_simulation_s_unit_of_work_is_a_fiftieth_of_its_acts_between_1000_and_5000() -> None:
    assert acts_per_unit(0) == 1000
    assert acts_per_unit(49_999) == 1000  # 49,999 // 50 = 999: the fewest, 1,000
    assert acts_per_unit(100_000) == 2000  # 100,000 // 50
    assert acts_per_unit(250_049) == 5000  # 250,049 // 50 = 5,000
    assert acts_per_unit(600_000) == 5000  # 12,000: the most, 5,000
