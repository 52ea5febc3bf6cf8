"""Crash safety: ``escrow run`` killed with SIGKILL at random moments loses nothing (issue 6).

A large generated scenario (100 contracts, about 600 actions of every kind, some 2,300 events)
is run by a real ``escrow run FILE --db DB --json`` process, killed with SIGKILL, and started
again on the same database, over and over; when a run gets to the end, the next one starts on a
fresh database. Every other kill comes after a random (seeded) delay, anywhere from start-up to
after the end; the rest come once the committed events pass a random count, so that half the
kills land while events are being written however fast the machine starts a run. After every
kill:

- ``escrow verify --db DB`` exits 0: the hash chain is intact and every invariant holds on what
  was written (a kill never leaves half a command behind);
- every idempotency key's rows are all there (an act is appended in one transaction with its
  key, or not at all);

and every run that gets to the end, however many times it was killed on the way, prints exactly
the report of an uninterrupted run on a fresh database.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Any

from reliability_support import (
    ESCROW,
    event_count,
    key_spans_complete,
    large_scenario,
    record,
)
from toml_writer import to_toml
from typer.testing import CliRunner

from escrow.cli import app

KILLS = int(os.environ.get("RELIABILITY_KILLS", "22"))
CONTRACTS = 100
SEED = 20251011

runner = CliRunner()


def has_schema(db: Path) -> bool:
    """Whether the store got as far as creating its tables."""
    if not db.exists():
        return False
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        found = con.execute("SELECT 1 FROM sqlite_master WHERE name = 'events'").fetchone()
    except sqlite3.DatabaseError:
        return False
    finally:
        con.close()
    return found is not None


def run(scenario: Path, db: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*ESCROW, "run", str(scenario), "--db", str(db), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finish(scenario: Path, db: Path) -> dict[str, Any]:
    done = subprocess.run(
        [*ESCROW, "run", str(scenario), "--db", str(db), "--json"],
        capture_output=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode()
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def kill_after(process: subprocess.Popen[bytes], db: Path, events: int) -> None:
    """SIGKILL ``process`` as soon as ``db`` holds at least ``events`` committed events.

    Reads the count every few milliseconds from a second (read-only) connection, as any other
    reader of a live ledger would. Does nothing if the process ends first.
    """
    while process.poll() is None:
        try:
            count = event_count(db)
        except sqlite3.DatabaseError:  # caught while the file is being made: nothing counted yet
            count = 0
        if count >= events:
            process.send_signal(signal.SIGKILL)
            return
        time.sleep(0.003)


def verify(db: Path) -> tuple[int, str]:
    """``escrow verify --db DB``: its exit code and its one line."""
    result = runner.invoke(app, ["verify", "--db", str(db)])
    assert "Traceback" not in result.output
    return result.exit_code, result.output.strip()


def test_sigkill_at_random_moments_loses_nothing_and_reruns_to_the_same_report(
    tmp_path: Path,
) -> None:
    scenario = tmp_path / "large.toml"
    scenario.write_text(to_toml(large_scenario(CONTRACTS, seed=6)), encoding="utf-8")

    started = time.perf_counter()
    reference = finish(scenario, tmp_path / "reference.db")
    uninterrupted = time.perf_counter() - started
    total_events = event_count(tmp_path / "reference.db")
    assert total_events > 2000

    rng = random.Random(SEED)
    kills: list[int] = []  # events in the database at each kill
    unsound: list[tuple[int, str]] = []  # kills after which `escrow verify` did not exit 0
    rounds, completed, db = 0, 0, tmp_path / "round-0.db"
    killed_this_round = False
    while len(kills) < KILLS:
        before = event_count(db)
        process = run(scenario, db)
        if len(kills) % 2 == 0 or before >= total_events - 1:
            # A kill at a random moment: start-up, replay, writing, or after the end.
            delay = rng.uniform(0.05, uninterrupted + 0.5)
            try:
                out, err = process.communicate(timeout=delay)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGKILL)
                out, err = process.communicate()
        else:
            # A kill while events are being written, however fast this machine starts a run:
            # once the events committed pass a random count between this run's start and the end.
            kill_after(process, db, rng.randint(before + 1, total_events - 1))
            out, err = process.communicate()
        if process.returncode == -signal.SIGKILL:
            events = event_count(db)
            kills.append(events)
            killed_this_round = True
            if has_schema(db):
                code, line = verify(db)
                if code != 0 or not line.startswith(f"sound: {events} events"):
                    unsound.append((events, line))
                assert key_spans_complete(db) == []
            elif db.exists():
                # Killed after the file was created (0600, empty) and before the schema: nothing
                # was written; verify refuses it in one line, and the rerun below creates it.
                code, line = verify(db)
                assert code == 2 and line.startswith("escrow: not an escrow ledger"), line
            continue
        # The run got to the end before the kill: it must print the uninterrupted report.
        assert process.returncode == 0, err.decode()
        assert json.loads(out) == reference
        completed += killed_this_round
        killed_this_round = False
        rounds += 1
        db = tmp_path / f"round-{rounds}.db"

    # The last database, killed at least once, is run to the end.
    if db.exists():
        assert finish(scenario, db) == reference
        assert verify(db)[0] == 0
        completed += 1
    elapsed = time.perf_counter() - started

    mid_run = [n for n in kills if 0 < n < total_events]
    record("crash_kills", len(kills))
    record("crash_kills_mid_run", len(mid_run))
    record("crash_events_at_each_kill", kills)
    record("crash_events_in_full_run", total_events)
    record("crash_runs_completed_after_kills", completed)
    record("crash_unsound_after_kill", len(unsound))
    record("crash_uninterrupted_run_seconds", round(uninterrupted, 1))
    record("crash_test_seconds", round(elapsed, 1))
    assert len(kills) >= 20
    assert len(mid_run) >= 10, kills  # at least the targeted half land while events are written
    assert not unsound, (
        f"`escrow verify` failed after {len(unsound)} of {len(kills)} kills; first: {unsound[:3]}"
    )


# --- a kill at a chosen moment ---------------------------------------------------------------------

CRASH_BETWEEN_TICKS = """
import datetime as dt, os, signal, sys
from decimal import Decimal
from escrow import ContractTerms, open_ledger
from escrow.store import EventStore

d = dt.date
with open_ledger(sys.argv[1]) as ledger:
    for cid in ("C1", "C2"):
        terms = ContractTerms(
            id=cid, filing_no="JZ-" + cid, tenant="T" + cid, enterprise="E1",
            start=d(2025, 6, 1), end=d(2026, 5, 31),
            monthly_rent=Decimal("5000.00"), deposit=Decimal("5000.00"),
        )
        ledger.open_contract(terms, on=d(2025, 6, 1), idempotency_key="open-" + cid)
    for cid in ("C1", "C2"):
        ledger.pay_deposit(cid, Decimal("5000.00"), on=d(2025, 6, 3), idempotency_key="pay-" + cid)
    for cid in ("C1", "C2"):
        ledger.return_home(cid, on=d(2025, 9, 30), idempotency_key="return-" + cid)
    if sys.argv[2] == "crash":
        # Both enterprises miss their deadline (Sat 2025-10-11): on 10-12 the clock has two
        # contracts to process. Die like SIGKILL right after the first one is written.
        append = EventStore.append_many

        def append_then_die(self, writes, idempotency_key=None, request=None):
            append(self, writes, idempotency_key, request)
            os.kill(os.getpid(), signal.SIGKILL)

        EventStore.append_many = append_then_die
    ledger.advance_to(d(2025, 10, 20))
"""


def test_a_kill_between_two_contracts_due_the_same_day_leaves_a_sound_database(
    tmp_path: Path,
) -> None:
    """The clock processes each contract's due day in its own append; a kill between two of
    them leaves a database where one contract was processed on that day and the other not yet.
    Nothing is half-applied (each append is whole) and a re-run completes it, so `escrow verify`
    must accept it."""
    db, reference = tmp_path / "crashed.db", tmp_path / "reference.db"
    code = [sys.executable, "-c", CRASH_BETWEEN_TICKS]
    crashed = subprocess.run([*code, str(db), "crash"], capture_output=True, check=False)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr.decode()
    assert key_spans_complete(db) == []

    exit_code, line = verify(db)

    # The re-run (same keys) completes and ends where an uninterrupted run ends.
    subprocess.run([*code, str(db), "resume"], check=True, timeout=120)
    subprocess.run([*code, str(reference), "resume"], check=True, timeout=120)
    report = runner.invoke(app, ["replay", "--db", str(db), "--json"])
    expected = runner.invoke(app, ["replay", "--db", str(reference), "--json"])
    assert report.exit_code == expected.exit_code == 0
    assert json.loads(report.stdout) == json.loads(expected.stdout)
    assert verify(db)[0] == 0
    # ...and the database the kill left was already sound.
    assert exit_code == 0, line


SIMULATION = ["simulate", "--contracts", "700", "--months", "18", "--seed", "5"]
SIMULATION_KILLS = 6
STORED = (
    "SELECT position, stream, version, type, effective_date, data, idempotency_key, recorded_at"
    " FROM events ORDER BY position"
)


def stored_rows(db: Path) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db)) as con:
        return con.execute(STORED).fetchall()


def test_a_simulation_killed_at_random_moments_keeps_whole_units_of_work(tmp_path: Path) -> None:
    """``escrow simulate`` writes a thousand acts per unit of work (one transaction). Killed at
    any moment, the database holds whole units only: a prefix of an uninterrupted run's events
    that ends where one of its units ended, and it verifies."""
    whole = tmp_path / "whole.db"
    reference = json.loads(
        subprocess.run(
            [*ESCROW, *SIMULATION, "--db", str(whole), "--json"],
            check=True,
            timeout=300,
            capture_output=True,
        ).stdout
    )
    rows = stored_rows(whole)
    # A transaction stamps all its rows with one recorded time: where the time changes, one
    # unit (or the configuration, at position 1) ended.
    ends = {0, rows[-1][0]} | {a[0] for a, b in itertools.pairwise(rows) if a[7] != b[7]}
    assert len(ends) >= 5, ends  # the configuration and at least three units
    rng = random.Random(SEED)
    seen = []
    for kill in range(SIMULATION_KILLS):
        db = tmp_path / f"killed-{kill}.db"
        proc = subprocess.Popen(
            [*ESCROW, *SIMULATION, "--db", str(db)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(1.0, 9.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if not has_schema(db):
            continue  # killed before the store had created its tables
        got = stored_rows(db)
        seen.append(len(got))
        assert len(got) in ends, f"kill {kill}: {len(got)} events is not the end of a unit"
        assert [r[:7] for r in got] == [r[:7] for r in rows[: len(got)]]
        code, line = verify(db)
        assert code == 0, line
        # Run again on what the kill left: each act is done once (its key is its place in the
        # simulation), so the rerun ends with exactly the uninterrupted run's events and summary.
        rerun = subprocess.run(
            [*ESCROW, *SIMULATION, "--db", str(db), "--json"],
            timeout=300,
            capture_output=True,
        )
        assert rerun.returncode == 0, rerun.stderr.decode()
        assert json.loads(rerun.stdout) == reference, f"kill {kill}: the rerun differs"
        assert [r[:7] for r in stored_rows(db)] == [r[:7] for r in rows]
    record("crash_simulation_events_at_each_kill", seen)
    record("crash_simulation_unit_ends", sorted(ends))
