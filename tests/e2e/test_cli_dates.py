"""Dates on the command line: escrow supports 2000-01-01 to 2099-12-31 (escrow.calendar).

Every date option or argument (``run --until``, ``balance --as-of``, ``deadlines --as-of``, the
DATE of the ``calendar`` commands) outside that range is refused before anything is opened or
written: exit 2, nothing on stdout, one line on stderr naming the option. The bounds themselves
are accepted. ``simulate`` takes no date; its longest run (``--months 120``) ends in 2034.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sample_files import GOOD
from typer.testing import CliRunner, Result

from escrow.cli import app

runner = CliRunner()

OUTSIDE = ["1999-12-31", "2100-01-01", "0001-01-01", "9999-12-31"]


def invoke(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args], env={"ESCROW_DATABASE_URL": None})


def assert_refused(result: Result, expected: str) -> None:
    """Exit 2, nothing on stdout, exactly ``expected`` as the one line on stderr."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines() == [expected]
    assert "Traceback" not in result.output


def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(GOOD, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def ledger_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database written by a run of GOOD (for balance and deadlines)."""
    root = tmp_path_factory.mktemp("dates")
    path = root / "s.toml"
    path.write_text(GOOD, encoding="utf-8")
    db = root / "ledger.db"
    result = invoke("run", path, "--db", db)
    assert result.exit_code == 0, result.output
    return db


# --- run --until ----------------------------------------------------------------------------------


@pytest.mark.parametrize("day", OUTSIDE)
def test_run_until_outside_the_supported_dates_is_refused_and_writes_nothing(
    tmp_path: Path, scenario: Path, day: str
) -> None:
    db = tmp_path / "ledger.db"
    before = files(tmp_path)

    result = invoke("run", scenario, "--db", db, "--until", day, "--json")

    assert_refused(
        result, f"escrow: --until: {day} is outside the supported dates 2000-01-01 to 2099-12-31"
    )
    assert not db.exists()
    assert files(tmp_path) == before  # no database, no journal, nothing else


def test_run_until_outside_the_supported_dates_is_refused_without_db_too(scenario: Path) -> None:
    result = invoke("run", scenario, "--until", "2100-01-01")

    assert_refused(
        result,
        "escrow: --until: 2100-01-01 is outside the supported dates 2000-01-01 to 2099-12-31",
    )


def test_run_until_the_last_supported_date_is_accepted(tmp_path: Path, scenario: Path) -> None:
    result = invoke("run", scenario, "--db", tmp_path / "l.db", "--until", "2099-12-31", "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["clock"] <= "2099-12-31"
    refunds = [t for t in report["transfers"] if t["kind"] == "refund"]
    assert [t["principal"] for t in refunds] == ["5000.00"]  # the deposit went back in full


def test_run_until_the_first_supported_date_is_accepted(tmp_path: Path, scenario: Path) -> None:
    """The clock never passes --until: it stops at the file's first date (2025-06-01)."""
    result = invoke("run", scenario, "--db", tmp_path / "l.db", "--until", "2000-01-01", "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["transfers"] == []


# --- balance / deadlines --as-of ----------------------------------------------------------------


@pytest.mark.parametrize("day", OUTSIDE)
def test_balance_as_of_outside_the_supported_dates_is_refused(ledger_db: Path, day: str) -> None:
    before = files(ledger_db.parent)

    result = invoke("balance", "--db", ledger_db, "--contract", "C1", "--as-of", day)

    assert_refused(
        result, f"escrow: --as-of: {day} is outside the supported dates 2000-01-01 to 2099-12-31"
    )
    assert files(ledger_db.parent) == before


@pytest.mark.parametrize("day", OUTSIDE)
def test_deadlines_as_of_outside_the_supported_dates_is_refused(ledger_db: Path, day: str) -> None:
    before = files(ledger_db.parent)

    result = invoke("deadlines", "--db", ledger_db, "--as-of", day, "--json")

    assert_refused(
        result, f"escrow: --as-of: {day} is outside the supported dates 2000-01-01 to 2099-12-31"
    )
    assert files(ledger_db.parent) == before


@pytest.mark.parametrize("command", [["balance", "--contract", "C1"], ["deadlines"]])
def test_as_of_outside_the_supported_dates_creates_no_database(
    tmp_path: Path, command: list[str]
) -> None:
    db = tmp_path / "missing.db"

    result = invoke(*command, "--db", db, "--as-of", "2100-01-01")

    assert_refused(
        result,
        "escrow: --as-of: 2100-01-01 is outside the supported dates 2000-01-01 to 2099-12-31",
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("day", ["2000-01-01", "2099-12-31"])
def test_deadlines_as_of_a_bound_is_accepted(ledger_db: Path, day: str) -> None:
    result = invoke("deadlines", "--db", ledger_db, "--as-of", day, "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []  # nothing open in 2000, all done by 2099


def test_balance_as_of_the_last_date_is_accepted(ledger_db: Path) -> None:
    result = invoke("balance", "--db", ledger_db, "--contract", "C1", "--as-of", "2099-12-31")

    assert result.exit_code == 0, result.output


def test_balance_as_of_the_first_date_passes_the_date_check(ledger_db: Path) -> None:
    """2000-01-01 is a supported date; the ledger then answers that C1 did not exist yet."""
    result = invoke("balance", "--db", ledger_db, "--contract", "C1", "--as-of", "2000-01-01")

    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("escrow: contract 'C1' "), line  # the ledger's answer, not the CLI's
    assert "outside the supported dates" not in line


# --- calendar --------------------------------------------------------------------------------------


@pytest.mark.parametrize("day", OUTSIDE)
def test_calendar_dates_outside_the_supported_dates_are_refused(day: str) -> None:
    expected = f"escrow: DATE: {day} is outside the supported dates 2000-01-01 to 2099-12-31"

    assert_refused(invoke("calendar", "is-working-day", day), expected)
    assert_refused(invoke("calendar", "next-working-day", day, "3"), expected)
    assert_refused(invoke("calendar", "next-working-day", day, "3", "--json"), expected)


def test_calendar_dates_at_the_bounds_are_accepted() -> None:
    first = invoke("calendar", "is-working-day", "2000-01-01", "--json")
    last = invoke("calendar", "is-working-day", "2099-12-31", "--json")

    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["working_day"] is False  # a Saturday, New Year's Day
    assert last.exit_code == 0, last.output
    assert json.loads(last.stdout)["working_day"] is True  # a Thursday


def test_a_deadline_counted_from_the_last_date_may_fall_in_2100() -> None:
    """Only the DATE given is bounded: deadlines near 2099-12-31 fall a few days later."""
    result = invoke("calendar", "next-working-day", "2099-12-31", "3", "--json")

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # 2100-01-01 (Fri) is New Year's Day; Sat 2, Sun 3 off; Mon 4, Tue 5, Wed 6.
    assert data["working_day"] == "2100-01-06"
    assert data["provisional"] is True


# --- simulate ---------------------------------------------------------------------------------------


def test_the_longest_simulation_ends_long_before_the_last_supported_date(tmp_path: Path) -> None:
    """``--months`` is at most 120 from 2024-10-08: the clock stops at 2034-10-08."""
    result = invoke(
        "simulate", "--contracts", "5", "--months", "120", "--db", tmp_path / "s.db", "--json"
    )

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["clock"] == "2034-10-08"


def test_a_simulation_longer_than_120_months_is_refused(tmp_path: Path) -> None:
    result = invoke("simulate", "--months", "121", "--db", tmp_path / "s.db")

    assert result.exit_code == 2
    assert not (tmp_path / "s.db").exists()
