"""Small input, bounded work (issue 14, item 6).

20 contracts at 0.01 a month, each paid 999,999,999,999.99 (4.5 KB of TOML) used to take 35 s
and write 36,061 events: the rent was released one month at a time, far past the contracts' end,
until the calendar ran out in 2099. Now:

- rent for months after the contract's end is an ``excess_payment``, flagged at arrival, and is
  not released to the enterprise: a tranche releases at most the rent of the months from its
  arrival to the contract's end; the rest stays in supervision for the refund workflow;
- one payment covers at most 240 months (a lease is at most 20 years, Civil Code Art. 705), one
  file holds at most 10,000 contracts and 100,000 actions: beyond, one line and exit 2;
- ``escrow calendar next-working-day DATE N`` refuses an N that ends past 2099-12-31 at once.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from escrow.cli import app
from escrow.scenario import MAX_ACTIONS, MAX_CONTRACTS

runner = CliRunner()


def contract(cid: str, start: str, end: str, rent: str) -> str:
    return (
        f'\n[[contracts]]\nid = "{cid}"\ntenant = "T"\nenterprise = "E"\nstart = {start}\n'
        f'end = {end}\nmonthly_rent = "{rent}"\ndeposit = "0.00"\n'
    )


def pay_rent(cid: str, date: str, amount: str) -> str:
    return (
        f'\n[[actions]]\ndate = {date}\naction = "pay_rent"\ncontract = "{cid}"\n'
        f'amount = "{amount}"\n'
    )


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    return path


def refused(result: Result) -> str:
    assert "Traceback" not in result.output
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_the_issues_small_file_of_huge_work_is_refused_at_once(tmp_path: Path) -> None:
    text = 'name = "bounded"\n'
    text += "".join(contract(f"C{i}", "2025-01-01", "2025-12-31", "0.01") for i in range(20))
    text += "".join(pay_rent(f"C{i}", "2025-01-02", "999999999999.99") for i in range(20))
    scenario = write(tmp_path, text)
    db = tmp_path / "l.db"

    started = time.perf_counter()
    checked = runner.invoke(app, ["check", str(scenario)])
    ran = runner.invoke(app, ["run", str(scenario), "--db", str(db)])
    took = time.perf_counter() - started

    line = refused(checked)
    assert refused(ran) == line
    assert line.startswith(f"escrow: {scenario}: actions[0].amount: 999999999999.99 is more than")
    assert "240 months" in line
    assert not db.exists()
    assert took < 10, took


@pytest.mark.parametrize(("amount", "ok"), [("24000.00", True), ("24000.01", False)])
def test_a_payment_covers_at_most_240_months(tmp_path: Path, amount: str, ok: bool) -> None:
    """At 100.00 a month, 240 months are 24,000.00: that is accepted, a fen more is not."""
    scenario = write(
        tmp_path,
        'name = "limit"\n'
        + contract("C1", "2025-01-01", "2025-12-31", "100.00")
        + pay_rent("C1", "2025-01-02", amount),
    )

    result = runner.invoke(app, ["check", str(scenario)])

    if ok:
        assert result.exit_code == 0, result.output
    else:
        assert "actions[0].amount" in refused(result)


@pytest.mark.parametrize(("key", "limit"), [("contracts", MAX_CONTRACTS), ("actions", MAX_ACTIONS)])
def test_a_file_with_too_many_entries_is_refused_in_one_line(
    tmp_path: Path, key: str, limit: int
) -> None:
    text = 'name = "many"\n' + contract("C0", "2025-01-01", "2025-12-31", "100.00")
    if key == "contracts":
        text += "".join(
            contract(f"C{i}", "2025-01-01", "2025-12-31", "100.00") for i in range(1, limit + 1)
        )
    else:
        text += pay_rent("C0", "2025-01-02", "100.00") * (limit + 1)
    scenario = write(tmp_path, text)

    started = time.perf_counter()
    line = refused(runner.invoke(app, ["check", str(scenario)]))

    assert line == (
        f"escrow: {scenario}: {key}: {limit + 1} entries; one file may hold at most {limit}"
        " (split the file, or use the library for bulk imports)"
    )
    assert time.perf_counter() - started < 20


def report(tmp_path: Path, text: str) -> dict[str, Any]:
    scenario = write(tmp_path, text)
    result = runner.invoke(app, ["run", str(scenario), "--db", str(tmp_path / "l.db"), "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_rent_for_months_after_the_end_is_flagged_at_arrival_and_refunded_at_the_return(
    tmp_path: Path,
) -> None:
    """Contract 2025-03-03 to 2025-08-31 at 1,000.00 a month; 12 months (12,000.00) paid on
    arrival, 2025-03-03: flagged ``excess_payment`` that day (12,000.00 > 6,000.00, the rent of
    the 6 months of the term). Rule 10 releases the tranche month by month while the tenant
    keeps the home: 3,000.00 on arrival, then 1,000.00 on 04-03, 05-03 (Saturday in the Labour
    Day break: Tue 05-06), 06-03, 07-03 and 08-03 (Sunday: Mon 08-04) = 8,000.00. The home is
    returned at the end, Sun 08-31: later releases do not happen (rule 12) and the 4,000.00 left
    goes through the rent refund workflow. No opinion by the 3rd working day (09-01, 09-02,
    09-03): everything goes back to the tenant on Thu 09-04 (rule 6), 185 days after 03-03:
    4,000.00 x 0.35 % = 14.00; x 185 = 2,590.00; / 360 = 7.1944.. -> 7.19."""
    data = report(
        tmp_path,
        'name = "excess rent"\nuntil = 2025-12-31\n'
        + contract("C1", "2025-03-03", "2025-08-31", "1000.00")
        + pay_rent("C1", "2025-03-03", "12000.00")
        + '\n[[actions]]\ndate = 2025-08-31\naction = "return_home"\ncontract = "C1"\n',
    )

    releases = [(t["date"], t["principal"]) for t in data["transfers"] if t["kind"] == "release"]
    assert releases == [
        ("2025-03-03", "3000.00"),
        ("2025-04-03", "1000.00"),
        ("2025-05-06", "1000.00"),
        ("2025-06-03", "1000.00"),
        ("2025-07-03", "1000.00"),
        ("2025-08-04", "1000.00"),
    ]
    refunds = [(t["date"], t["principal"], t["interest"]) for t in data["transfers"] if t["kind"] == "refund"]
    assert refunds == [("2025-09-04", "4000.00", "7.19")]
    assert data["held"]["C1"]["rent"] == "0.00"
    excess = [n for n in data["notices"] if n["kind"] == "excess_payment"]
    assert [(n["date"], n["fund"]) for n in excess] == [("2025-03-03", "rent")]


def test_a_tranche_late_in_the_term_is_flagged_when_it_covers_months_after_the_end(
    tmp_path: Path,
) -> None:
    """The same contract, nothing paid until Tue 2025-07-15, then 5,000.00 (5 months,
    supervised). Flagged excess on arrival although the 5,000.00 paid is below the 6,000.00 of
    the term: only 07-15 and 08-15 fall before the end (08-31), so 3 of its months are after it.
    With the home not returned, rule 10 releases it all: 3,000.00 on arrival, 1,000.00 on Fri
    08-15 and on Mon 09-15."""
    data = report(
        tmp_path,
        'name = "late tranche"\nuntil = 2025-12-31\n'
        + contract("C1", "2025-03-03", "2025-08-31", "1000.00")
        + pay_rent("C1", "2025-07-15", "5000.00"),
    )

    releases = [(t["date"], t["principal"]) for t in data["transfers"] if t["kind"] == "release"]
    assert releases == [
        ("2025-07-15", "3000.00"),
        ("2025-08-15", "1000.00"),
        ("2025-09-15", "1000.00"),
    ]
    assert data["held"]["C1"]["rent"] == "0.00"
    excess = [n for n in data["notices"] if n["kind"] == "excess_payment"]
    assert [n["date"] for n in excess] == ["2025-07-15"]


# --- the calendar --------------------------------------------------------------------------------


def test_a_count_of_working_days_past_the_calendar_is_refused_at_once() -> None:
    started = time.perf_counter()
    huge = runner.invoke(app, ["calendar", "next-working-day", "2025-01-01", "999999"])
    past = runner.invoke(app, ["calendar", "next-working-day", "2099-12-31", "30"])
    took = time.perf_counter() - started

    assert "999999" in refused(huge)
    assert "end after 2100-01-31" in refused(past)  # 30 working days reach February 2100
    assert took < 2, took


def test_the_deadlines_of_the_last_supported_date_are_still_answered() -> None:
    """2099-12-31 is a Thursday. Counted from it, working days reach January 2100, where the
    deadlines the rules count from the last supported date fall: answered up to 2100-01-31."""
    last = runner.invoke(app, ["calendar", "next-working-day", "2099-12-30", "1", "--json"])
    january = runner.invoke(app, ["calendar", "next-working-day", "2099-12-31", "3", "--json"])

    assert last.exit_code == 0, last.output
    assert json.loads(last.stdout)["working_day"] == "2099-12-31"
    assert january.exit_code == 0, january.output
    assert json.loads(january.stdout)["working_day"].startswith("2100-01-")
