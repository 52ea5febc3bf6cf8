"""The ledger end to end on PostgreSQL: every scenario gives the report it gives on SQLite.

Each test gets a fresh schema on the server named by ``ESCROW_TEST_POSTGRES_URL`` (see
``pg_support.py``); without one the tests skip locally and fail under CI=true. Every file in
``scenarios/`` is run on both backends and must give the same report and store the same events
in the same global order; a re-run on PostgreSQL (idempotency keys) and a fresh replay must give
the same report again. The CLI reaches PostgreSQL by ``--db`` and by ``ESCROW_DATABASE_URL``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from pg_support import execute_raw, fresh_schema
from typer.testing import CliRunner

from escrow.cli import app
from escrow.errors import EscrowError
from escrow.projector import drift
from escrow.report import build_report
from escrow.runner import run_scenario
from escrow.scenario import load_scenario
from escrow.service import open_ledger
from escrow.simulate import UNIT_ACTS_FEWEST, acts_per_unit, simulate

SCENARIOS_DIR = Path(__file__).resolve().parents[2] / "scenarios"
SCENARIOS = sorted(SCENARIOS_DIR.glob("*.toml"))
WORKED_EXAMPLE = SCENARIOS_DIR / "rule-03-07-deposit-refund-national-day.toml"

# What is stored, but for recorded_at (the wall clock of each run).
EVENT_ROWS = (
    "SELECT position, stream, version, type, effective_date, data, idempotency_key"
    " FROM events ORDER BY position"
)

runner = CliRunner()


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_schema() as url:
        yield url


def _outcome(path: Path, url: str) -> dict[str, Any]:
    """The scenario's report, or the refusal of the whole run (which must match too)."""
    try:
        return run_scenario(load_scenario(path), url)
    except EscrowError as exc:
        return {"error": type(exc).__name__, "message": str(exc)}


def test_the_scenarios_folder_has_the_worked_example() -> None:
    assert WORKED_EXAMPLE in SCENARIOS


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_a_scenario_gives_the_same_report_and_events_on_postgresql_as_on_sqlite(
    path: Path, pg_url: str, tmp_path: Path
) -> None:
    sqlite_path = tmp_path / "ledger.db"

    on_sqlite = _outcome(path, str(sqlite_path))
    on_postgres = _outcome(path, pg_url)

    assert on_postgres == on_sqlite
    if "error" in on_sqlite:
        return
    with closing(sqlite3.connect(sqlite_path)) as con:
        sqlite_rows = con.execute(EVENT_ROWS).fetchall()
    assert execute_raw(pg_url, EVENT_ROWS) == sqlite_rows

    # Run again on the same database: every action has been applied, nothing is added.
    assert _outcome(path, pg_url) == on_sqlite
    assert len(execute_raw(pg_url, EVENT_ROWS)) == len(sqlite_rows)

    # A fresh process replaying the PostgreSQL ledger sees the same books; the chain holds.
    with open_ledger(pg_url) as ledger:
        assert build_report(ledger, load_scenario(path).name) == on_sqlite
        report = ledger.store.verify()
    assert (report.ok, report.events_checked) == (True, len(sqlite_rows))


def test_escrow_run_with_a_postgresql_db_prints_the_sqlite_report(
    pg_url: str, tmp_path: Path
) -> None:
    expected = run_scenario(load_scenario(WORKED_EXAMPLE), str(tmp_path / "ledger.db"))

    result = runner.invoke(app, ["run", str(WORKED_EXAMPLE), "--db", pg_url, "--json"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == expected
    assert execute_raw(pg_url, "SELECT count(*) FROM events")[0][0] > 0


def test_escrow_database_url_takes_run_balance_and_deadlines_to_postgresql(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqlite_db = str(tmp_path / "ledger.db")
    queries = [
        ["balance", "--filing-no", "JZ-2025-000001", "--as-of", "2025-10-12", "--json"],
        ["balance", "--contract", "C1", "--json"],
        ["deadlines", "--as-of", "2025-10-12", "--json"],
    ]
    assert runner.invoke(app, ["run", str(WORKED_EXAMPLE), "--db", sqlite_db]).exit_code == 0
    expected = []
    for args in queries:
        result = runner.invoke(app, [*args, "--db", sqlite_db])
        assert result.exit_code == 0, result.output
        expected.append(json.loads(result.stdout))

    monkeypatch.setenv("ESCROW_DATABASE_URL", pg_url)
    run = runner.invoke(app, ["run", str(WORKED_EXAMPLE), "--json"])
    answers = []
    for args in queries:
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        answers.append(json.loads(result.stdout))

    assert run.exit_code == 0, run.output
    assert execute_raw(pg_url, "SELECT count(*) FROM events")[0][0] > 0  # it went to PostgreSQL
    assert answers == expected
    assert answers[0]["funds"]["deposit"]["principal"] == "300.00"


def test_a_postgresql_server_that_does_not_answer_is_one_line_on_stderr() -> None:
    result = runner.invoke(
        app, ["balance", "--contract", "C1", "--db", "postgresql://escrow:Pa55-w0rd@127.0.0.1:1/x"]
    )

    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("escrow: database error")
    assert len(result.stderr.splitlines()) == 1
    assert "Pa55-w0rd" not in result.output


def test_a_simulation_in_units_of_work_stores_the_same_events_on_both_backends(
    pg_url: str, tmp_path: Path
) -> None:
    """escrow simulate commits a thousand acts per unit of work (EventStore.append_batches):
    on PostgreSQL it must give the summary, and store the events, that it does on SQLite."""
    sqlite_path = tmp_path / "sim.db"
    with open_ledger(str(sqlite_path)) as ledger:
        expected = simulate(ledger, contracts=400, months=14, seed=11).as_json()
    with open_ledger(pg_url) as ledger:
        summary = simulate(ledger, contracts=400, months=14, seed=11).as_json()
        with open_ledger(pg_url) as again:
            assert build_report(again, "sim") == build_report(ledger, "sim")
        assert drift(ledger.store) == []  # PostgreSQL's read models equal a rebuild (on SQLite)

    assert summary == expected
    # Every tenancy opens, pays a deposit and pays rent within its first 7 months, inside the
    # 14 simulated: 400 x 3 acts > the 1,000 acts of one unit (a simulation of fewer than
    # 50,000 acts is written in units of 1,000), so several units were written.
    contracts = summary["contracts"]
    assert isinstance(contracts, int) and contracts * 3 > UNIT_ACTS_FEWEST
    assert acts_per_unit(contracts * 10) == UNIT_ACTS_FEWEST  # 400 tenancies make < 4,000 acts
    with closing(sqlite3.connect(sqlite_path)) as con:
        assert execute_raw(pg_url, EVENT_ROWS) == con.execute(EVENT_ROWS).fetchall()
