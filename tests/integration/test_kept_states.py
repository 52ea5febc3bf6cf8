"""Kept states (``rm_states``): a contract is loaded from its state after its last 8th event and
the events after it, and the rows are the ones a rebuild makes.

The expected rows are worked out from the events with the domain's own fold (``fold`` over the
first ``version`` events), not read back from what the ledger wrote.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

from test_one_contract_at_a_time import (
    _ledger_with_three_contracts,
    _reads_of_events,
    _streams_read,
)
from typer.testing import CliRunner

import escrow
from escrow.cli import app
from escrow.domain.state import fold
from escrow.store import SCHEMA_VERSION, snapshots

runner = CliRunner()
AUG_10 = dt.date(2025, 8, 10)


def _kept_rows(path: Path) -> dict[str, tuple[int, str]]:
    with closing(sqlite3.connect(path)) as con:
        rows = con.execute("SELECT contract, version, state FROM rm_states").fetchall()
    return {str(c): (int(v), str(s)) for c, v, s in rows}


def _set_kept(path: Path, contract: str, **values: object) -> None:
    columns = ", ".join(f"{name} = ?" for name in values)
    with closing(sqlite3.connect(path)) as con, con:
        con.execute(
            f"UPDATE rm_states SET {columns} WHERE contract = ?", (*values.values(), contract)
        )


def test_every_contract_keeps_its_state_after_its_last_eighth_event(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    _ledger_with_three_contracts(path)
    kept = _kept_rows(path)
    with escrow.open_ledger(path) as ledger:
        for n in (1, 2, 3):
            events = [s.event for s in ledger.store.load(f"contract:C{n}")]
            # The stream is longer than 8 events (open, deposit, rent, 4 releases, lapses…):
            # its kept version is the largest multiple of 8 it has reached.
            assert len(events) >= 8
            version = len(events) - len(events) % 8
            state = fold(events[:version])
            assert state is not None
            assert kept[f"C{n}"] == (version, snapshots.dump(state))
    # A rebuild from the events alone makes the same rows: verify compares them.
    result = runner.invoke(app, ["verify", "--db", str(path)])
    assert result.exit_code == 0, result.output


def test_a_cold_act_reads_the_kept_state_and_the_events_after_it(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    _ledger_with_three_contracts(path)
    with escrow.open_ledger(path) as ledger:
        length = ledger.store.stream_version("contract:C1")
    kept_version = _kept_rows(path)["C1"][0]
    with _reads_of_events() as seen, escrow.open_ledger(path) as ledger:
        ledger.pay_deposit("C1", "1.00", on=AUG_10)  # a fresh process: nothing cached
    with escrow.open_ledger(path) as ledger:
        after = ledger.store.stream_version("contract:C1")
    read = _streams_read(path, seen)  # the statements run again, on the ledger after the act
    # The one load of C1: its rows from the kept version's own (read, not decoded: it shows the
    # stream reaches the kept version, and where its head is) to the end, the act's new rows
    # included by the re-run: after - kept_version + 1 rows, not the whole stream.
    assert after > length
    assert read["contract:C1"] == after - kept_version + 1
    assert read["contract:C1"] < after


def _balances_after_a_deposit(path: Path) -> object:
    with escrow.open_ledger(path) as ledger:
        ledger.pay_deposit("C1", "1.00", on=AUG_10)
        return ledger.balances("C1")


def test_a_kept_state_the_stream_does_not_reach_is_not_used(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    _ledger_with_three_contracts(path)
    tampered = tmp_path / "tampered.db"
    shutil.copy(path, tampered)
    _set_kept(tampered, "C1", version=800)  # C1 has not 800 events: the row is not its stream's
    assert _balances_after_a_deposit(tampered) == _balances_after_a_deposit(path)
    result = runner.invoke(app, ["verify", "--db", str(tampered)])
    assert result.exit_code == 1 and "rm_states" in result.output, result.output


def test_a_kept_state_that_is_not_a_state_is_not_used(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    _ledger_with_three_contracts(path)
    tampered = tmp_path / "tampered.db"
    shutil.copy(path, tampered)
    _set_kept(tampered, "C1", state='{"terms": "not terms"}')
    assert _balances_after_a_deposit(tampered) == _balances_after_a_deposit(path)
    with closing(sqlite3.connect(path)) as con:
        c2_state = con.execute("SELECT state FROM rm_states WHERE contract = 'C2'").fetchone()[0]
    _set_kept(tampered, "C3", state=c2_state)  # another contract's state: not C3's
    with escrow.open_ledger(tampered) as ledger:
        assert ledger.balances("C3") == escrow.open_ledger(path).balances("C3")
    result = runner.invoke(app, ["verify", "--db", str(tampered)])
    assert result.exit_code == 1 and "rm_states" in result.output, result.output


def test_a_version_4_ledger_is_migrated_to_kept_states(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    _ledger_with_three_contracts(path)
    expected = _kept_rows(path)
    with closing(sqlite3.connect(path)) as con, con:
        con.execute("DROP TABLE rm_states")
        con.execute("UPDATE escrow_meta SET value = '4' WHERE key = 'schema_version'")
    result = runner.invoke(app, ["migrate", "--db", str(path)])
    assert result.exit_code == 0, result.output
    assert f"from version 4 to {SCHEMA_VERSION}" in result.output
    assert _kept_rows(path) == expected  # the rebuild the migration runs keeps the same states
    assert runner.invoke(app, ["verify", "--db", str(path)]).exit_code == 0
