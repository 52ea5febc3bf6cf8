"""Extreme but well-formed scenario files: ``escrow run`` ends cleanly on them (issue 6).

These files pass ``escrow check`` (every field is well-formed), so they are not "bad input";
what they ask is extreme: dates at the end of the calendar, amounts at the maximum, rent prepaid
for a thousand years. Whatever escrow makes of them, it must end: exit 0 with a report, or exit
2 with one line (and then nothing written); never a traceback, never a run without end.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from reliability_support import ESCROW
from typer.testing import CliRunner

from escrow.cli import app

runner = CliRunner()


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


EXTREME = {
    "deposit-returned-at-the-end-of-the-calendar": (
        'name = "far future"\n'
        + contract("9999-12-01", "9999-12-31", "100.00", "100.00")
        + action("9999-12-01", "pay_deposit", "100.00")
        + action("9999-12-30", "return_home")
    ),
    "rent-released-past-the-end-of-the-calendar": (
        'name = "rent near the end"\n'
        + contract("9999-06-01", "9999-12-31", "100.00", "0.00")
        + action("9999-06-01", "pay_rent", "1200.00")
    ),
    "maximum-amounts-until-the-end-of-the-calendar": (
        'name = "maximum amounts"\nuntil = 9999-12-31\n'
        + contract("2025-01-01", "2025-12-31", "999999999999.99", "999999999999.99")
        + action("2025-01-02", "pay_deposit", "999999999999.99")
        + action("2025-01-02", "pay_rent", "999999999999.99")
        + action("2025-01-03", "pay_deposit", "999999999999.99")
        + action("2025-12-31", "return_home")
    ),
    "year-one": (
        'name = "year one"\n'
        + contract("0001-01-01", "0001-12-31", "1.00", "1.00")
        + action("0001-01-01", "pay_deposit", "1.00")
    ),
}


@pytest.mark.parametrize("label", list(EXTREME))
def test_an_extreme_scenario_ends_with_a_report_or_one_line(tmp_path: Path, label: str) -> None:
    scenario = tmp_path / f"{label}.toml"
    scenario.write_text(EXTREME[label], encoding="utf-8")
    assert runner.invoke(app, ["check", str(scenario)]).exit_code == 0  # well-formed
    db = tmp_path / "ledger.db"

    result = runner.invoke(app, ["run", str(scenario), "--db", str(db), "--json"])

    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}"
    )
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 0:
        json.loads(result.stdout)
    else:
        assert len(result.stderr.splitlines()) == 1
        assert not db.exists()


def test_rent_prepaid_for_a_thousand_years_does_not_run_without_end(tmp_path: Path) -> None:
    """100,000 months of rent at 0.01 a month, no return, no ``until``: run_until_idle releases
    one month at a time (about 600 months a second here), so the run would take minutes and then
    fail in year 9999. It must end promptly: refuse the payment, or stop releasing at some
    bound, or report it."""
    scenario = tmp_path / "forever.toml"
    scenario.write_text(
        'name = "forever"\n'
        + contract("2025-01-01", "2025-12-31", "0.01", "0.00")
        + action("2025-01-02", "pay_rent", "1000.00"),
        encoding="utf-8",
    )
    try:
        done = subprocess.run(
            [*ESCROW, "run", str(scenario), "--db", str(tmp_path / "l.db"), "--json"],
            capture_output=True,
            timeout=15,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("`escrow run` was still releasing rent after 15 s")
    assert done.returncode in (0, 2), done.stderr.decode()[-500:]
    assert b"Traceback" not in done.stderr
