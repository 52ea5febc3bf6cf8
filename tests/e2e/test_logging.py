"""The library logs through `logging` under `escrow.` and never prints; the CLI sends the records
to stderr with `--log-level` (default WARNING) and `--log-json` (issue 17, item 3).

The ledger is the worked example of docs/rules.md: deposit 5,000.00 on 2025-06-03, the home back
on 2025-09-30, the opinion of 10-10 (4,700.00 refunded at once), the clock running to 10-20 when
the 300.00 is paid on the first settlement day after the deemed agreement of Saturday 10-18.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from escrow import ContractTerms, open_ledger
from escrow.cli import app
from escrow.errors import DeductionsExceedHeld

runner = CliRunner()
SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
WORKED = SCENARIOS / "rule-03-07-deposit-refund-national-day.toml"
REFUSED = SCENARIOS / "rule-03-05-refused-actions.toml"


def test_by_default_a_run_logs_nothing(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(WORKED), "--db", str(tmp_path / "l.db")])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


def test_info_logs_the_store_open_the_acts_and_the_clock_run(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    result = runner.invoke(app, ["--log-level", "INFO", "run", str(WORKED), "--db", str(db)])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == f"escrow: INFO escrow.store: opened the store sqlite:///{db}"
    assert "escrow: INFO escrow.service: pay_deposit on 2025-06-03: contract:C1" in result.stderr
    assert "escrow: INFO escrow.service: propose_refund on 2025-10-10: contract:C1" in result.stderr
    # The last action is the opinion of 10-10; the clock then runs to the payment of 10-20.
    assert "escrow: INFO escrow.service: clock ran from 2025-10-10 to 2025-10-20" in lines
    assert all(line.startswith("escrow: INFO ") for line in lines)  # no DEBUG at INFO
    assert "money in 5000.00" in result.stdout  # the report is unchanged, on stdout


def test_a_refusal_is_logged_at_info(tmp_path: Path) -> None:
    # rule-03-05-refused-actions.toml: C1 holds a deposit of 4,000.00; deducting 4,500.00 is
    # refused (rule 5).
    db = str(tmp_path / "l.db")
    result = runner.invoke(app, ["--log-level", "info", "run", str(REFUSED), "--db", db])
    assert result.exit_code == 0, result.output
    assert (
        "escrow: INFO escrow.service: refused: contract C1: deductions of 4500.00 exceed the"
        " 4000.00 held in deposit"
    ) in result.stderr.splitlines()


def test_log_json_is_one_object_per_line_with_debug_records(tmp_path: Path) -> None:
    db = str(tmp_path / "l.db")
    result = runner.invoke(
        app, ["--log-json", "--log-level", "DEBUG", "run", str(WORKED), "--db", db, "--json"]
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert records and all(
        set(r) == {"time", "level", "logger", "message"} and r["logger"].startswith("escrow.")
        for r in records
    )
    levels = {r["level"] for r in records}
    assert levels == {"DEBUG", "INFO"}
    # The clock's own tick of 10-15 (the reminder) is logged at DEBUG.
    assert any(
        r["level"] == "DEBUG" and r["message"].startswith("clock on 2025-10-15: ReminderIssued")
        for r in records
    )
    assert json.loads(result.stdout)["clock"] == "2025-10-20"  # stdout is still the report alone


def test_a_bad_log_level_is_a_one_line_usage_error() -> None:
    result = runner.invoke(app, ["--log-level", "LOUD", "rates", "show"])
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and "--log-level" in result.stderr


def test_the_cli_leaves_no_handler_behind(tmp_path: Path) -> None:
    handlers = list(logging.getLogger("escrow").handlers)
    runner.invoke(app, ["--log-level", "DEBUG", "run", str(WORKED), "--db", str(tmp_path / "l")])
    assert logging.getLogger("escrow").handlers == handlers


START = dt.date(2025, 3, 3)


def terms(cid: str) -> ContractTerms:
    return ContractTerms(
        id=cid, filing_no=f"JZ-{cid}", tenant="T1", enterprise="E1", start=START,
        end=dt.date(2026, 3, 2), monthly_rent=Decimal("3000.00"), deposit=Decimal("3000.00"),
    )  # fmt: skip


def test_the_library_logs_acts_and_refusals_and_never_prints(
    tmp_path: Path, monkeypatch: Any, caplog: pytest.LogCaptureFixture, capsys: Any
) -> None:
    path = str(tmp_path / "shared.db")
    caplog.set_level(logging.INFO, logger="escrow")
    with open_ledger(path) as ours, open_ledger(path) as theirs:
        ours.open_contract(terms("S"), on=START)
        # Another process pays 1.00 into S just before our act's transaction begins.
        transaction = ours.store.transaction
        sneaked: list[bool] = []

        def theirs_first() -> Any:
            if not sneaked:
                sneaked.append(True)
                theirs.pay_deposit("S", Decimal("1.00"), on=START, idempotency_key="theirs")
            return transaction()

        monkeypatch.setattr(ours.store, "transaction", theirs_first)
        ours.pay_deposit("S", Decimal("2.00"), on=START, idempotency_key="ours")
        ours.return_home("S", on=dt.date(2025, 6, 3))
        with pytest.raises(DeductionsExceedHeld):  # 3.00 held, 4.00 asked
            ours.propose_refund(
                "S", "deposit", [("cleaning", Decimal("4.00"))], on=dt.date(2025, 6, 4)
            )
    records = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    # Events: 1 the configuration, 2 the contract, 3-4 theirs (the payment and its short-payment
    # flag: 1.00 of a 3,000.00 deposit), 5-6 ours, decided on theirs (2.00, short again).
    assert ("escrow.service", "INFO", "pay_deposit on 2025-03-03: contract:S (events 5-6)") in (
        records
    )
    # Acts are serial under the store's write lock: nothing to retry, no warning (the retry's
    # warnings are the next test's).
    assert [r for r in records if r[1] == "WARNING"] == []
    assert any(level == "INFO" and message.startswith("refused: ") for _, level, message in records)
    assert any(name == "escrow.store" and "opened the store" in m for name, _, m in records)
    assert capsys.readouterr() == ("", "")


def test_retries_are_warnings_when_asked_and_the_error_alone_otherwise(tmp_path: Path) -> None:
    # A trigger refuses every insert as a stream-version clash: each act is retried
    # MAX_RETRIES (8) times, 7 retries logged, then the give-up, then exit 75.
    db = tmp_path / "busy.db"
    args = ["run", str(WORKED), "--db", str(db)]
    assert runner.invoke(app, [*args, "--until", "2025-06-03"]).exit_code == 0
    with sqlite3.connect(db) as con:
        con.execute(
            "CREATE TRIGGER always_busy BEFORE INSERT ON events BEGIN"
            " SELECT RAISE(ABORT, 'UNIQUE constraint failed: events.stream, events.version');"
            " END"
        )
    con.close()

    quiet = runner.invoke(app, args)
    logged = runner.invoke(app, ["--log-level", "WARNING", *args])

    assert quiet.exit_code == logged.exit_code == 75
    assert len(quiet.stderr.splitlines()) == 1
    lines = logged.stderr.splitlines()
    assert [line.split(": ")[0] for line in lines[:8]] == ["escrow"] * 8
    assert sum("WARNING escrow.service: concurrent append" in line for line in lines) == 7
    assert "WARNING escrow.service: still busy after 8 tries" in lines[7]
    assert lines[8:] == quiet.stderr.splitlines()
