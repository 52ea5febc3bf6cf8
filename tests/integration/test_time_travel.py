"""Time travel: backdated corrections, as-of and known-at queries, replay, verify, live mode."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import freezegun
import pytest
from typer.testing import CliRunner

import escrow
from escrow.cli import app
from escrow.clock import BEIJING, FixedClock

TERMS = escrow.ContractTerms(
    id="C1",
    filing_no="JZ-2025-000009",
    tenant="T1",
    enterprise="E1",
    start=dt.date(2025, 6, 20),
    end=dt.date(2026, 6, 19),
    monthly_rent=Decimal("4000.00"),
    deposit=Decimal("4000.00"),
)
SCENARIO = (
    Path(__file__).resolve().parents[2]
    / "scenarios"
    / "rule-03-07-deposit-refund-national-day.toml"
)


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=BEIJING)


def test_a_backdated_bank_notice_changes_the_past_only_from_when_it_was_recorded(
    tmp_path: Path,
) -> None:
    clock = FixedClock(at(dt.date(2025, 6, 20)))
    with escrow.open_ledger(str(tmp_path / "l.db"), clock=clock) as ledger:
        ledger.open_contract(TERMS, on=dt.date(2025, 6, 20))
        clock.set(at(dt.date(2025, 7, 1)))
        ledger.advance_to(dt.date(2025, 7, 1))
        clock.set(at(dt.date(2025, 7, 2)))
        # The bank's notice, recorded on 07-02, of a deposit that arrived on 06-28.
        ledger.pay_deposit("C1", Decimal("4000.00"), on=dt.date(2025, 6, 28))

        def held_on_0630(known_at: dt.datetime) -> Decimal:
            b = ledger.balances("C1", as_of=dt.date(2025, 6, 30), known_at=known_at)
            return b.deposit.principal

        assert held_on_0630(at(dt.date(2025, 7, 1))) == Decimal("0.00")  # not yet known
        assert held_on_0630(at(dt.date(2025, 7, 3))) == Decimal("4000.00")  # known since 07-02
        assert ledger.balances("C1", as_of=dt.date(2025, 6, 27)).deposit.principal == Decimal(
            "0.00"
        )  # before it arrived
        # Interest follows the effective date: as of 07-28, 4,000.00 x 0.35 % x 30 / 360
        # (06-28 -> 07-28 = 30 days) = 1.1666... -> 1.17
        b = ledger.balances("C1", as_of=dt.date(2025, 7, 28))
        assert b.deposit.interest_accrued == Decimal("1.17")
        assert b.deposit.lots == ((dt.date(2025, 6, 28), Decimal("4000.00")),)
        # The transfer is dated 06-28 but only known from 07-02.
        assert ledger.transfers(known_at=at(dt.date(2025, 7, 1))) == []
        [payment] = ledger.transfers(known_at=at(dt.date(2025, 7, 3)))
        assert payment.date == dt.date(2025, 6, 28)


def test_a_backdated_deposit_refund_counts_interest_from_its_arrival(tmp_path: Path) -> None:
    with escrow.open_ledger(str(tmp_path / "l.db")) as ledger:
        ledger.open_contract(TERMS, on=dt.date(2025, 6, 20))
        ledger.advance_to(dt.date(2025, 7, 2))
        ledger.pay_deposit("C1", Decimal("4000.00"), on=dt.date(2025, 6, 28))
        ledger.return_home("C1", on=dt.date(2025, 7, 31))
        ledger.propose_refund("C1", "deposit", [], on=dt.date(2025, 8, 1))
        refund = ledger.transfers("C1")[-1]
        # 06-28 -> 08-01 = 3 (06-28..30) + 31 = 34 days; 4,000.00 x 0.35 % x 34 / 360
        # = 1.3222... -> 1.32
        assert (refund.date, refund.interest) == (dt.date(2025, 8, 1), Decimal("1.32"))


def test_a_backdated_rent_tranche_is_not_released_before_it_was_known(tmp_path: Path) -> None:
    with escrow.open_ledger(str(tmp_path / "l.db")) as ledger:
        ledger.open_contract(TERMS, on=dt.date(2025, 6, 20))
        ledger.advance_to(dt.date(2025, 7, 2))
        ledger.pay_rent("C1", Decimal("24000.00"), on=dt.date(2025, 6, 30))  # 6 months
        first = next(t for t in ledger.transfers("C1") if t.kind == "release")
        # Arrived Mon 06-30, booked Wed 07-02: the 3 months (12,000.00) go on 07-02 with
        # 12,000.00 x 0.35 % x 2 / 360 = 0.2333... -> 0.23
        assert (first.date, first.principal, first.interest) == (
            dt.date(2025, 7, 2),
            Decimal("12000.00"),
            Decimal("0.23"),
        )


def test_replay_prints_the_same_report_as_run(tmp_path: Path) -> None:
    runner = CliRunner()
    db = str(tmp_path / "l.db")
    ran = runner.invoke(app, ["run", str(SCENARIO), "--db", db, "--json"])
    assert ran.exit_code == 0, ran.output
    replayed = runner.invoke(app, ["replay", "--db", db, "--json"])
    assert replayed.exit_code == 0, replayed.output
    assert json.loads(ran.stdout) == json.loads(replayed.stdout)
    assert ran.stdout == replayed.stdout


@pytest.fixture
def run_db(tmp_path: Path) -> Path:
    db = tmp_path / "l.db"
    result = CliRunner().invoke(app, ["run", str(SCENARIO), "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    return db


def verify(db: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["verify", "--db", str(db)])
    return result.exit_code, result.stdout.strip()


def test_verify_passes_a_sound_database(run_db: Path) -> None:
    code, out = verify(run_db)
    assert code == 0
    assert out.startswith("sound: 12 events")


def test_verify_names_a_changed_row(run_db: Path) -> None:
    with sqlite3.connect(run_db) as conn:
        data = conn.execute("SELECT data FROM events WHERE position = 8").fetchone()[0]
        conn.execute(
            "UPDATE events SET data = ? WHERE position = 8", (data.replace("4700.00", "4800.00"),)
        )
    code, out = verify(run_db)
    assert code == 1
    assert out.startswith("unsound: event 8:"), out


def test_verify_names_a_deleted_row(run_db: Path) -> None:
    with sqlite3.connect(run_db) as conn:
        conn.execute("DELETE FROM events WHERE position = 5")
    code, out = verify(run_db)
    assert code == 1
    assert out.startswith("unsound: event 5:"), out


def test_verify_names_reordered_rows(run_db: Path) -> None:
    with sqlite3.connect(run_db) as conn:
        rows = conn.execute(
            "SELECT position, data FROM events WHERE position IN (9, 10)"
        ).fetchall()
        (p1, d1), (p2, d2) = rows
        conn.execute("UPDATE events SET data = ? WHERE position = ?", (d2, p1))
        conn.execute("UPDATE events SET data = ? WHERE position = ?", (d1, p2))
    code, out = verify(run_db)
    assert code == 1
    assert out.startswith("unsound: event 9:"), out


def test_verify_finds_a_deadline_the_clock_passed_without_handling(tmp_path: Path) -> None:
    """A hand-written event log whose clock passed the enterprise's deadline: unsound."""
    with escrow.open_ledger(str(tmp_path / "l.db")) as ledger:
        ledger.open_contract(TERMS, on=dt.date(2025, 6, 20))
        ledger.pay_deposit("C1", Decimal("4000.00"), on=dt.date(2025, 6, 20))
        ledger.return_home("C1", on=dt.date(2025, 9, 30))
        # Append a clock event behind the service's back: the deadline (10-11) lapses unhandled.
        clock = escrow.domain.events.ClockAdvanced(on=dt.date(2025, 10, 20))
        ledger.store.append_many([("ledger", ledger.store.stream_version("ledger"), [clock])])
    code, out = verify(tmp_path / "l.db")
    assert code == 1
    assert "fell due on 2025-10-12" in out


def test_live_mode_tick_processes_what_fell_due_by_the_system_clock(tmp_path: Path) -> None:
    with (
        freezegun.freeze_time(at(dt.date(2025, 9, 30))) as frozen,
        escrow.open_ledger(str(tmp_path / "l.db")) as ledger,
    ):
        ledger.open_contract(TERMS)
        ledger.pay_deposit("C1", Decimal("4000.00"))
        ledger.return_home("C1")
        frozen.move_to(at(dt.date(2025, 10, 11)))
        assert ledger.tick() == dt.date(2025, 10, 11)
        assert [t.kind for t in ledger.transfers()] == ["payment_in"]  # deadline is today
        frozen.move_to(at(dt.date(2025, 10, 13)))
        ledger.tick()
        refund = ledger.transfers()[-1]
        # missed on Sun 10-12, settled Mon 10-13; 09-30 -> 10-13 = 13 days;
        # 4,000.00 x 0.35 % x 13 / 360 = 0.50555... -> 0.51
        assert (refund.date, refund.interest) == (dt.date(2025, 10, 13), Decimal("0.51"))
        # recorded times come from the frozen wall clock, in UTC
        assert ledger.entries()[-1].recorded_at == at(dt.date(2025, 10, 13))
