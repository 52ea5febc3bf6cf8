"""Running a scenario again never books twice (issue 13): acts are keyed by their place.

A contract's key is its id and an action's key its position in the file; the ledger records the
act with its key. Editing the name or the description, or appending actions, resumes; a recorded
act that the file changed or removed, and a database made by another scenario, are refused with
one line (exit 2) before anything is written.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from contextlib import closing
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from escrow import ContractTerms, open_ledger
from escrow.cli import app

runner = CliRunner()
SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
MONTHLY = SCENARIOS / "rule-10-monthly-releases.toml"

RETURNED_WHILE_HELD = """\
name = "returned while releases are held"
[[contracts]]
id = "C7"
filing_no = "JZ-2025-000777"
tenant = "T7"
enterprise = "E2"
start = 2025-06-16
end = 2025-12-15
monthly_rent = "2500.00"
deposit = "0"
[[actions]]
date = 2025-06-16
action = "pay_rent"
contract = "C7"
amount = "15000.00"
[[actions]]
date = 2025-08-01
action = "suspend_releases"
enterprise = "E2"
[[actions]]
date = 2025-11-03
action = "return_home"
contract = "C7"
"""
OPINION = """\
[[actions]]
date = 2025-11-05
action = "propose_refund"
contract = "C7"
fund = "rent"
deductions = []
"""
RESUMED = """\
[[actions]]
date = 2025-12-01
action = "resume_releases"
enterprise = "E2"
"""


def invoke(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def run_json(path: Path, db: Path) -> dict[str, Any]:
    result = invoke("run", path, "--db", db, "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def events(db: Path) -> int:
    with closing(sqlite3.connect(db)) as con:
        return int(con.execute("SELECT count(*) FROM events").fetchone()[0])


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_editing_the_description_and_running_again_books_the_prepayment_once(
    tmp_path: Path,
) -> None:
    db = tmp_path / "ledger.db"
    first = run_json(MONTHLY, db)
    text = MONTHLY.read_text(encoding="utf-8")
    edited = write(tmp_path / "edited.toml", text.replace("Rule 10 (Art. 14)", "Rule 10 (Art 14)"))
    assert edited.read_text(encoding="utf-8") != text
    count = events(db)

    again = run_json(edited, db)

    assert again == first
    assert events(db) == count
    # 35,000.00 paid in once, all of it released: nothing held.
    paid = [t["principal"] for t in again["transfers"] if t["kind"] == "payment_in"]
    assert paid == ["35000.00"]
    assert again["held"] == {"C1": {"deposit": "0.00", "rent": "0.00"}}


def test_renaming_the_scenario_resumes_and_reports_the_new_name(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    first = run_json(write(tmp_path / "a.toml", RETURNED_WHILE_HELD), db)
    renamed = RETURNED_WHILE_HELD.replace('name = "returned', 'name = "renamed: returned')

    again = run_json(write(tmp_path / "b.toml", renamed), db)

    assert again["scenario"] == "renamed: returned while releases are held"
    assert {**again, "scenario": first["scenario"]} == first


def test_appending_an_action_does_only_the_new_one(tmp_path: Path) -> None:
    # The first run ends idle (everything due was done); the appended action comes after it.
    full = write(tmp_path / "full.toml", RETURNED_WHILE_HELD + OPINION + RESUMED)
    fresh = run_json(full, tmp_path / "fresh.db")
    db = tmp_path / "grown.db"
    run_json(write(tmp_path / "start.toml", RETURNED_WHILE_HELD + OPINION), db)
    count = events(db)

    grown = run_json(full, db)

    assert grown == fresh
    assert events(db) > count
    # Rule 13: the 5,000.00 held at the return is refunded once, with 142 days' interest:
    # 5,000.00 × 0.35 % × 142 / 360 = 6.902… → 6.90; resuming E2 afterwards pays it nothing.
    refunds = [(t["principal"], t["interest"]) for t in grown["transfers"] if t["kind"] == "refund"]
    assert refunds == [("5000.00", "6.90")]
    assert [t["kind"] for t in grown["transfers"]] == ["payment_in", "release", "release", "refund"]
    assert grown["refused"] == []


# (what the ledger was made by, what is run on it next, words the one-line refusal must hold)
REFUSED_RERUNS = [
    pytest.param(
        RETURNED_WHILE_HELD,
        RETURNED_WHILE_HELD.replace('amount = "15000.00"', 'amount = "12500.00"'),
        ("action #1", "12500.00", "15000.00"),
        id="a-recorded-action-changed",
    ),
    pytest.param(
        RETURNED_WHILE_HELD + OPINION,
        RETURNED_WHILE_HELD,
        ("action #4", "no longer has"),
        id="a-recorded-action-removed",
    ),
    pytest.param(
        RETURNED_WHILE_HELD,
        MONTHLY.read_text(encoding="utf-8"),
        ("new database",),
        id="another-scenario",
    ),
    pytest.param(
        RETURNED_WHILE_HELD,
        RETURNED_WHILE_HELD + "[parameters]\nday_basis = 365\n",
        ("day_basis = 360, not 365",),
        id="other-parameters",
    ),
    pytest.param(
        RETURNED_WHILE_HELD,
        RETURNED_WHILE_HELD.replace('monthly_rent = "2500.00"', 'monthly_rent = "2400.00"'),
        ("contract C7", "2400.00"),
        id="a-contract-with-other-terms",
    ),
]


@pytest.mark.parametrize(("made_by", "run_next", "words"), REFUSED_RERUNS)
def test_a_file_that_contradicts_the_recorded_acts_is_refused_in_one_line_writing_nothing(
    made_by: str, run_next: str, words: tuple[str, ...], tmp_path: Path
) -> None:
    db = tmp_path / "ledger.db"
    run_json(write(tmp_path / "a.toml", made_by), db)
    count = events(db)

    result = invoke("run", write(tmp_path / "b.toml", run_next), "--db", db)

    assert result.exit_code == 2
    line = result.output.strip()
    assert "\n" not in line
    assert all(word in line for word in words), line
    assert events(db) == count


def simulate(db: Path, seed: int = 3) -> Result:
    return invoke(
        "simulate", "--contracts", "30", "--months", "6", "--seed", str(seed), "--db", db, "--json"
    )


def test_simulate_twice_on_one_database_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "sim.db"
    first = simulate(db)
    assert first.exit_code == 0, first.output
    count = events(db)

    second = simulate(db)

    assert second.exit_code == 0, second.output
    assert json.loads(second.stdout) == json.loads(first.stdout)
    assert events(db) == count


def test_simulate_refuses_a_database_holding_something_else(tmp_path: Path) -> None:
    db = tmp_path / "sim.db"
    assert simulate(db, seed=3).exit_code == 0
    count = events(db)

    other_seed = simulate(db, seed=4)
    assert other_seed.exit_code == 2
    assert "another database" in other_seed.output

    scenario_db = tmp_path / "scenario.db"
    run_json(write(tmp_path / "a.toml", RETURNED_WHILE_HELD), scenario_db)
    assert simulate(scenario_db).exit_code == 2
    assert events(db) == count


def test_a_run_stopped_before_the_first_date_resumes_to_the_uninterrupted_report(
    tmp_path: Path,
) -> None:
    # --until before every date of the file opens the contracts on the stop day (the clock may
    # not pass it); running the file again must recognise them by their terms, not by that day.
    path = write(tmp_path / "s.toml", RETURNED_WHILE_HELD + OPINION)
    fresh = run_json(path, tmp_path / "fresh.db")
    db = tmp_path / "early.db"
    early = invoke("run", path, "--db", db, "--until", "2025-06-01", "--json")
    assert early.exit_code == 0, early.output
    assert json.loads(early.stdout)["transfers"] == []

    assert run_json(path, db) == fresh


def test_a_ledger_whose_contracts_no_scenario_run_recorded_is_refused(tmp_path: Path) -> None:
    # The same contract opened through the library (no scenario keys): running the scenario on
    # it would redo every act beside the history already there, so it is refused, untouched.
    db = tmp_path / "library.db"
    with open_ledger(db) as ledger:
        terms = ContractTerms(
            id="C7",
            filing_no="JZ-2025-000777",
            tenant="T7",
            enterprise="E2",
            start=dt.date(2025, 6, 16),
            end=dt.date(2025, 12, 15),
            monthly_rent=Decimal("2500.00"),
            deposit=Decimal("0"),
        )
        ledger.open_contract(terms, on=dt.date(2025, 6, 16))
        ledger.pay_rent("C7", Decimal("15000.00"), on=dt.date(2025, 6, 16))
    count = events(db)

    result = invoke("run", write(tmp_path / "a.toml", RETURNED_WHILE_HELD), "--db", db)

    assert result.exit_code == 2
    assert "contract C7 but no scenario run recorded it" in result.output
    assert events(db) == count
