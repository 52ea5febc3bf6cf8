"""Extreme but well-formed scenario files: ``escrow run`` ends cleanly on them (issue 6).

What these files ask is extreme: dates at the ends of the calendar, amounts at the maximum, rent
prepaid for a thousand years. escrow supports business dates from 2000-01-01 to 2099-12-31
(``escrow.calendar.FIRST_DATE``/``LAST_DATE``): a file with a date outside that range is refused
by ``escrow check`` and by ``escrow run`` alike (exit 2, one line naming the field, nothing
written); a file within it passes ``check`` and ``run`` ends with exit 0 and a report, even when
deadlines or releases fall after 2099-12-31 (they stay pending: the clock stops at LAST_DATE).
Never a traceback, never a run without end.
"""

from __future__ import annotations

import json
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from reliability_support import ESCROW
from typer.testing import CliRunner, Result

from escrow.cli import app

runner = CliRunner()

LAST = "2099-12-31"
REPORT_KEYS = {"scenario", "clock", "transfers", "notices", "held", "refused"}


def contract(start: str, end: str, rent: str, deposit: str) -> str:
    return f"""
[[contracts]]
id = "C1"
tenant = "T1"
enterprise = "E1"
start = {start}
end = {end}
monthly_rent = "{rent}"
deposit = "{deposit}"
"""


def action(date: str, kind: str, amount: str | None = None) -> str:
    text = f'\n[[actions]]\ndate = {date}\naction = "{kind}"\ncontract = "C1"\n'
    return text + (f'amount = "{amount}"\n' if amount else "")


def max_amounts(until: str) -> str:
    return (
        f'name = "maximum amounts"\nuntil = {until}\n'
        + contract("2025-01-01", "2025-12-31", "999999999999.99", "999999999999.99")
        + action("2025-01-02", "pay_deposit", "999999999999.99")
        + action("2025-01-02", "pay_rent", "999999999999.99")
        + action("2025-01-03", "pay_deposit", "999999999999.99")
        + action("2025-12-31", "return_home")
    )


# Outside the supported dates: refused by check and run, naming the field (after "<file>: ").
REFUSED: dict[str, tuple[str, str]] = {
    "deposit-returned-at-the-end-of-the-calendar": (
        'name = "far future"\n'
        + contract("9999-12-01", "9999-12-31", "100.00", "100.00")
        + action("9999-12-01", "pay_deposit", "100.00")
        + action("9999-12-30", "return_home"),
        "contracts[0].start: 9999-12-01 is outside the supported dates 2000-01-01 to 2099-12-31",
    ),
    "rent-released-past-the-end-of-the-calendar": (
        'name = "rent near the end"\n'
        + contract("9999-06-01", "9999-12-31", "100.00", "0.00")
        + action("9999-06-01", "pay_rent", "1200.00"),
        "contracts[0].start: 9999-06-01 is outside the supported dates 2000-01-01 to 2099-12-31",
    ),
    "maximum-amounts-until-the-end-of-the-calendar": (
        max_amounts("9999-12-31"),
        "until: 9999-12-31 is outside the supported dates 2000-01-01 to 2099-12-31",
    ),
    "year-one": (
        'name = "year one"\n'
        + contract("0001-01-01", "0001-12-31", "1.00", "1.00")
        + action("0001-01-01", "pay_deposit", "1.00"),
        "contracts[0].start: 0001-01-01 is outside the supported dates 2000-01-01 to 2099-12-31",
    ),
    "a-return-the-day-after-the-last-date": (
        'name = "one day too far"\n'
        + contract("2099-12-01", "2099-12-31", "100.00", "100.00")
        + action("2099-12-01", "pay_deposit", "100.00")
        + action("2100-01-01", "return_home"),
        "actions[1].date: 2100-01-01 is outside the supported dates 2000-01-01 to 2099-12-31",
    ),
    "a-contract-ending-the-day-after-the-last-date": (
        'name = "ends too late"\n' + contract("2099-01-01", "2100-01-01", "100.00", "100.00"),
        "contracts[0].end: 2100-01-01 is outside the supported dates 2000-01-01 to 2099-12-31",
    ),
}

# Within the supported dates, at its edges: check passes and run ends with exit 0 and a report.
RUNS: dict[str, str] = {
    "deposit-returned-on-the-last-days": (
        'name = "last days"\n'
        + contract("2099-12-01", LAST, "100.00", "100.00")
        + action("2099-12-01", "pay_deposit", "100.00")
        + action("2099-12-30", "return_home")
    ),
    "rent-prepaid-past-the-last-date": (
        'name = "rent near the end"\n'
        + contract("2099-06-01", LAST, "100.00", "0.00")
        + action("2099-06-01", "pay_rent", "1200.00")
    ),
    "maximum-amounts-until-the-last-date": max_amounts(LAST),
    "everything-on-the-last-date": (
        f'name = "the last day"\nuntil = {LAST}\n'
        + contract(LAST, LAST, "100.00", "100.00")
        + action(LAST, "pay_deposit", "100.00")
        + action(LAST, "pay_rent", "100.00")
        + action(LAST, "return_home")
    ),
    "a-contract-on-the-first-date": (  # refused by the rule pack (before 2024-10-01), not a crash
        'name = "the first day"\n'
        + contract("2000-01-01", "2000-12-31", "100.00", "100.00")
        + action("2000-01-01", "pay_deposit", "100.00")
    ),
}

EXTREME = {**{label: text for label, (text, _) in REFUSED.items()}, **RUNS}


def write(tmp_path: Path, label: str, text: str) -> Path:
    scenario = tmp_path / f"{label}.toml"
    scenario.write_text(text, encoding="utf-8")
    return scenario


def run(scenario: Path, db: Path) -> Result:
    return runner.invoke(app, ["run", str(scenario), "--db", str(db), "--json"])


def no_database(db: Path) -> bool:
    return not any(db.parent.glob(db.name + "*"))


@pytest.mark.parametrize("label", list(EXTREME))
def test_an_extreme_scenario_ends_with_a_report_or_one_line(tmp_path: Path, label: str) -> None:
    """Whatever check says, run agrees: ok → exit 0 and a report; refused → the same line."""
    scenario = write(tmp_path, label, EXTREME[label])
    checked = runner.invoke(app, ["check", str(scenario)])
    assert checked.exit_code in (0, 2), checked.output
    db = tmp_path / "ledger.db"

    result = run(scenario, db)

    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}"
    )
    assert result.exit_code == checked.exit_code, result.output
    if result.exit_code == 0:
        assert set(json.loads(result.stdout)) == REPORT_KEYS
    else:
        assert result.stdout == ""
        assert result.stderr.splitlines() == checked.stderr.splitlines()
        assert len(result.stderr.splitlines()) == 1
        assert no_database(db)


@pytest.mark.parametrize("label", list(REFUSED))
def test_a_date_outside_the_supported_dates_is_refused_by_check_and_run(
    tmp_path: Path, label: str
) -> None:
    text, problem = REFUSED[label]
    scenario = write(tmp_path, label, text)
    expected = [f"escrow: {scenario}: {problem}"]
    db = tmp_path / "ledger.db"

    checked = runner.invoke(app, ["check", str(scenario)])
    result = run(scenario, db)

    assert checked.exit_code == 2, checked.output
    assert checked.stderr.splitlines() == expected
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines() == expected
    assert no_database(db), sorted(p.name for p in tmp_path.iterdir())


def report_of(tmp_path: Path, label: str) -> dict[str, Any]:
    scenario = write(tmp_path, label, RUNS[label])
    checked = runner.invoke(app, ["check", str(scenario)])
    assert checked.exit_code == 0, checked.output
    result = run(scenario, tmp_path / "ledger.db")
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    assert set(report) == REPORT_KEYS
    return report


@pytest.mark.parametrize("label", list(RUNS))
def test_a_scenario_at_the_edges_of_the_supported_dates_runs_to_a_report(
    tmp_path: Path, label: str
) -> None:
    report = report_of(tmp_path, label)

    # ISO dates compare as strings; nothing happens after the last supported date.
    assert report["clock"] <= LAST
    assert all(t["date"] <= LAST for t in report["transfers"]), report["transfers"]


def test_a_deposit_returned_on_the_last_days_stays_held_past_the_last_date(
    tmp_path: Path,
) -> None:
    """Returned 2099-12-30: the enterprise's opinion deadline falls in January 2100, after the
    clock's last day, so the 100.00 is still held when the run ends."""
    report = report_of(tmp_path, "deposit-returned-on-the-last-days")

    assert [(t["date"], t["kind"], t["principal"]) for t in report["transfers"]] == [
        ("2099-12-01", "payment_in", "100.00")
    ]
    assert report["held"]["C1"]["deposit"] == "100.00"


def test_rent_prepaid_past_the_last_date_is_released_up_to_it(tmp_path: Path) -> None:
    """1200.00 paid 2099-06-01 for a contract that ends 2099-12-31: what was released (all of it
    on or before 2099-12-31) plus what is still held is exactly what was paid."""
    report = report_of(tmp_path, "rent-prepaid-past-the-last-date")

    payments = [t for t in report["transfers"] if t["kind"] == "payment_in"]
    releases = [t for t in report["transfers"] if t["kind"] == "release"]
    assert [(t["date"], t["principal"]) for t in payments] == [("2099-06-01", "1200.00")]
    assert releases
    outflows = sum(
        (Decimal(t["principal"]) for t in report["transfers"] if t["from"] == "supervision"),
        Decimal(0),
    )
    assert outflows + Decimal(report["held"]["C1"]["rent"]) == Decimal("1200.00")


def test_rent_prepaid_for_a_thousand_years_is_refused_and_the_most_allowed_ends_quickly(
    tmp_path: Path,
) -> None:
    """100,000 months of rent at 0.01 a month (1000.00) used to be released one month at a time
    until the clock stopped at 2099-12-31 (about 900 releases). One payment now covers at most
    240 months (a lease is at most 20 years; issue 14): that file is refused in one line. The
    most a file may ask, 240 months (2.40) for a contract of 2025, is flagged excess at arrival
    and, with the home never returned, released as rule 10 says: 0.03 on arrival (2025-01-02),
    then 0.01 on each of the next 237 monthly anniversaries (to 2044-10), 238 releases in all,
    well within the time limit; nothing stays held."""
    forever = tmp_path / "forever.toml"
    forever.write_text(
        'name = "forever"\n'
        + contract("2025-01-01", "2025-12-31", "0.01", "0.00")
        + action("2025-01-02", "pay_rent", "1000.00"),
        encoding="utf-8",
    )
    refused = run(forever, tmp_path / "refused.db")
    assert refused.exit_code == 2, refused.output
    assert "actions[0].amount: 1000.00 is more than 240 months' rent" in refused.stderr

    most = tmp_path / "most.toml"
    most.write_text(
        'name = "most"\n'
        + contract("2025-01-01", "2025-12-31", "0.01", "0.00")
        + action("2025-01-02", "pay_rent", "2.40"),
        encoding="utf-8",
    )
    try:
        done = subprocess.run(
            [*ESCROW, "run", str(most), "--db", str(tmp_path / "l.db"), "--json"],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("`escrow run` was still releasing rent after 30 s")
    assert b"Traceback" not in done.stderr
    assert done.returncode == 0, done.stderr.decode()[-500:]
    report = json.loads(done.stdout)
    releases = [t for t in report["transfers"] if t["kind"] == "release"]
    assert len(releases) == 238, len(releases)  # 1 + (240 - 3)
    assert releases[0]["principal"] == "0.03"
    assert "2044-10-01" <= releases[-1]["date"] <= "2044-10-31"  # 2025-01-02 + 237 months
    released = sum((Decimal(t["principal"]) for t in releases), Decimal(0))
    assert released == Decimal("2.40")
    assert report["held"]["C1"]["rent"] == "0.00"
    assert [n["kind"] for n in report["notices"]].count("excess_payment") == 1
