"""Concurrency is retryable, never bad input (issue 14, item 5).

- Opening a new ledger appends its configuration inside the retry loop: a second process that
  creates the same ledger first is a conflict to retry, not an error (it used to surface as
  ``ConcurrencyError: stream 'ledger' is at version 1``, 4 times in 48 with 8 processes).
- Retries back off with jitter (:func:`escrow.retry.backoff_delay`).
- A conflict that survives every retry exits 75 (``EX_TEMPFAIL``) in the CLI, not 2 (bad
  input), so a wrapper knows to run the same command again; ``--help`` and the README list every
  exit code.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from reliability_support import record
from typer.testing import CliRunner

from escrow.cli import EXIT_TEMPFAIL, app
from escrow.clock import FixedClock
from escrow.domain import events as ev
from escrow.retry import BACKOFF_BASE_S, BACKOFF_CAP_S, backoff_delay
from escrow.service import CODEC, MAX_RETRIES, Ledger, open_ledger
from escrow.store import open_store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "postgres"))
from pg_support import fresh_schema

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "rule-10-monthly-releases.toml"
T0 = dt.datetime(2025, 1, 31, 2, 0, tzinfo=dt.UTC)


def test_a_new_ledger_created_first_by_another_process_is_read_not_configured_twice(
    tmp_path: Path,
) -> None:
    """Two first opens race: the other process creates the ledger after ours found it empty,
    before our configuring transaction begins. Inside it (under the write lock) ours reads the
    other's configuration and writes none."""
    path = str(tmp_path / "new.db")
    store = open_store(path, CODEC, FixedClock(T0))
    transaction = store.transaction
    opened: list[bool] = []

    def other_opens_first() -> Any:
        if not opened:
            opened.append(True)
            open_ledger(path, clock=FixedClock(T0)).close()
        return transaction()

    store.transaction = other_opens_first  # type: ignore[method-assign]
    with Ledger(store, None, FixedClock(T0)) as ours:
        assert opened == [True]
        assert ours.conflicts_retried == 0
        assert configurations(ours) == 1  # the other's, read back; not a second one


def configurations(ledger: Any) -> int:
    return sum(isinstance(e.event, ev.LedgerConfigured) for e in ledger.entries())


# --- many processes opening one new ledger at once ------------------------------------------------

PROCESSES = 8
ROUNDS = 6


def _open_rounds(urls: list[str], barrier: Any) -> list[str]:
    failures = []
    for url in urls:
        barrier.wait()
        try:
            open_ledger(url).close()
        except Exception as exc:  # counted: the assertion below shows what it was
            failures.append(f"{type(exc).__name__}: {exc}")
    return failures


@pytest.fixture(params=["sqlite", "postgresql"])
def new_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[str]]:
    if request.param == "sqlite":
        yield [str(tmp_path / f"round{r}.db") for r in range(ROUNDS)]
        return
    with ExitStack() as stack:
        yield [stack.enter_context(fresh_schema()) for _ in range(ROUNDS)]


def test_eight_processes_opening_one_new_ledger_all_succeed(new_urls: list[str]) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Manager().Barrier(PROCESSES)
    started = time.perf_counter()
    with context.Pool(PROCESSES) as pool:
        results = pool.starmap(_open_rounds, [(new_urls, barrier)] * PROCESSES)
    failures = [f for result in results for f in result]
    record(
        f"first_opens_{'postgresql' if '://' in new_urls[0] else 'sqlite'}",
        {"opens": PROCESSES * ROUNDS, "failed": len(failures)},
    )
    assert not failures, failures[:3]
    for url in new_urls:
        with open_ledger(url, read_only=True) as ledger:
            assert configurations(ledger) == 1
    assert time.perf_counter() - started < 120


# --- backoff --------------------------------------------------------------------------------------


def test_retries_back_off_exponentially_with_jitter() -> None:
    for retry in range(MAX_RETRIES):
        ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**retry)
        waits = [backoff_delay(retry) for _ in range(200)]
        assert all(0.0 <= w <= ceiling for w in waits), (retry, max(waits), ceiling)
        assert len(set(waits)) > 100  # jitter: not one fixed wait that collides again
    assert backoff_delay(1000) <= BACKOFF_CAP_S


# --- a conflict that outlives the retries ---------------------------------------------------------


def always_busy(path: Path) -> None:
    """A real SQLite trigger that refuses every new event with a constraint failure: to the store
    it is what a concurrent writer's row in the way looks like, on every retry."""
    con = sqlite3.connect(path)
    with con:
        con.execute(
            "CREATE TRIGGER always_busy BEFORE INSERT ON events BEGIN"
            " SELECT RAISE(ABORT, 'UNIQUE constraint failed: events.stream, events.version');"
            " END"
        )
    con.close()


def event_rows(path: Path) -> int:
    with sqlite3.connect(path) as con:
        return int(con.execute("SELECT count(*) FROM events").fetchone()[0])


def test_a_conflict_that_survives_the_retries_exits_75_not_2(tmp_path: Path) -> None:
    db = tmp_path / "busy.db"
    first = runner.invoke(app, ["run", str(SCENARIO), "--db", str(db), "--until", "2025-01-31"])
    assert first.exit_code == 0, first.output
    always_busy(db)
    before = event_rows(db)

    result = runner.invoke(app, ["run", str(SCENARIO), "--db", str(db)])

    assert result.exit_code == EXIT_TEMPFAIL == 75, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert "run the command again" in lines[0], lines[0]
    assert event_rows(db) == before  # nothing of the failed act was written


def test_help_and_readme_list_every_exit_code() -> None:
    shown = runner.invoke(app, ["--help"], terminal_width=200)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")

    assert shown.exit_code == 0
    help_text = " ".join(shown.stdout.split())
    for code in ("0", "1", "2", "75"):
        assert f"{code} " in help_text.split("Exit codes:", 1)[1], help_text
        assert f"| {code} " in readme or f"| `{code}`" in readme, code
