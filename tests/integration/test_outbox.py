"""The outbox (issue 18, "notices reach people"): messages written in the act's transaction.

On a real SQLite file. Messages come with their events or not at all: a refused act, a failed
transaction and a failed outbox write leave neither; ``escrow rebuild`` and ``replay`` write
none and ``escrow verify`` does not compare them; migrating does not back-fill them.
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
from notify_support import missed_deadlines, terms
from typer.testing import CliRunner

from escrow.cli import app
from escrow.clock import FixedClock
from escrow.errors import ConcurrencyError, OpinionAlreadyGiven
from escrow.notify.parties import receives, recipients
from escrow.runner import run_scenario
from escrow.scenario import load_scenario
from escrow.service import Ledger, open_ledger
from escrow.store import SCHEMA_VERSION, service_tables

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
RULE_05 = SCENARIOS / "rule-05-agree-after-reminder.toml"
NOW = dt.datetime(2025, 1, 2, 1, 0, tzinfo=dt.UTC)

runner = CliRunner()


def d(y: int, m: int, day: int) -> dt.date:
    return dt.date(y, m, day)


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def query(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as con:
        return [tuple(row) for row in con.execute(sql, params)]


def outbox(path: Path) -> list[tuple[Any, ...]]:
    return query(
        path,
        "SELECT seq, id, position, kind, contract, enterprise, tenant, date FROM outbox"
        " ORDER BY seq",
    )


def event_at(path: Path, kind: str) -> tuple[int, str]:
    """The position and recorded time of the only event of type ``kind``."""
    rows = query(path, "SELECT position, recorded_at FROM events WHERE type = ?", (kind,))
    assert len(rows) == 1, rows
    return rows[0][0], rows[0][1]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.db"


def opinion_given(path: Path) -> Ledger:
    """scenarios/rule-05-agree-after-reminder.toml up to the opinion: deposit 3,000.00 on Tue
    2024-10-08, home returned Fri 2024-12-27, opinion Tue 2024-12-31 deducting 500.00."""
    ledger = open_ledger(path, clock=FixedClock(NOW))
    ledger.open_contract(
        terms("C1", tenant="T1").model_copy(update={"filing_no": "JZ-2024-050003"}),
        on=d(2024, 10, 8),
    )
    ledger.pay_deposit("C1", "3000.00", on=d(2024, 10, 8))
    ledger.return_home("C1", reason="expiry", on=d(2024, 12, 27))
    ledger.propose_refund("C1", "deposit", [("broken door", Decimal("500.00"))], on=d(2024, 12, 31))
    return ledger


def test_the_reminder_and_the_deemed_agreement_write_one_message_each(path: Path) -> None:
    # Rule 5: the tenant has 3 working days after the opinion (Tue 12-31): Thu 01-02, Fri 01-03,
    # Mon 01-06 (New Year's Day is off) -> the first window closes 2025-01-06. Silent: the
    # reminder comes the calendar day after, Tue 2025-01-07, with 3 more working days counted
    # from the end of the first window: 01-07, 01-08, 01-09. Still silent: deemed agreed the
    # calendar day after the second window, Fri 2025-01-10.
    with opinion_given(path) as ledger:
        assert outbox(path) == []  # an opinion is the enterprise's own act: no message
        ledger.advance_to(d(2025, 1, 6))
        assert outbox(path) == []  # the first window is still open on its last day
        ledger.advance_to(d(2025, 1, 7))
    position, recorded = event_at(path, "reminder_issued")
    assert outbox(path) == [
        (1, f"msg-{position}-0", position, "reminder", "C1", "E1", "T1", "2025-01-07")
    ]
    body = query(path, "SELECT body FROM outbox")[0][0]
    assert json.loads(body) == {
        "id": f"msg-{position}-0",
        "kind": "reminder",
        "date": "2025-01-07",
        "contract": "C1",
        "filing_no": "JZ-2024-050003",
        "enterprise": "E1",
        "tenant": "T1",
        "fund": "deposit",
        "detail": "the tenant may still answer until 2025-01-09",
        "position": position,
        "recorded_at": recorded,
    }
    # The message's id is the notice's place in the notices read model.
    assert query(path, "SELECT position, seq, kind FROM rm_notices") == [(position, 0, "reminder")]

    with open_ledger(path, clock=FixedClock(NOW)) as ledger:
        ledger.advance_to(d(2025, 1, 9))
        assert len(outbox(path)) == 1  # the second window's last day: nothing yet
        ledger.advance_to(d(2025, 1, 10))
    deemed, _ = event_at(path, "deemed_agreed")
    assert outbox(path)[1:] == [
        (2, f"msg-{deemed}-0", deemed, "deemed_agreed", "C1", "E1", "T1", "2025-01-10")
    ]


def test_an_answer_in_the_second_window_writes_the_reminder_only(path: Path) -> None:
    # The scenario itself: the tenant agrees on Wed 2025-01-08; the clock that runs inside that
    # act issues the reminder of Tue 01-07 (one message), and no deemed agreement follows.
    run_scenario(load_scenario(RULE_05), str(path))
    position, _ = event_at(path, "reminder_issued")
    assert outbox(path) == [
        (1, f"msg-{position}-0", position, "reminder", "C1", "E1", "T1", "2025-01-07")
    ]


def test_missed_deadlines_write_one_message_per_contract_in_order(path: Path) -> None:
    with open_ledger(path, clock=FixedClock(NOW)) as ledger:
        missed_deadlines(ledger, 3)
    rows = outbox(path)
    positions = [
        p
        for (p,) in query(
            path,
            "SELECT position FROM events WHERE type ="
            " 'enterprise_deadline_missed' ORDER BY position",
        )
    ]
    assert [(r[0], r[3], r[4], r[7]) for r in rows] == [
        (1, "enterprise_deadline_missed", "C1", "2025-01-03"),
        (2, "enterprise_deadline_missed", "C2", "2025-01-03"),
        (3, "enterprise_deadline_missed", "C3", "2025-01-03"),
    ]
    assert [r[2] for r in rows] == positions  # in the order the events were written


def test_a_refused_act_writes_no_message_though_its_clock_reached_a_reminder(path: Path) -> None:
    # A second opinion on Tue 01-07 is refused; the clock ran to 01-07 inside the act (the
    # reminder), but a refused act writes nothing: neither the reminder nor its message.
    with opinion_given(path) as ledger:
        events = query(path, "SELECT count(*) FROM events")[0][0]
        with pytest.raises(OpinionAlreadyGiven):
            ledger.propose_refund("C1", "deposit", on=d(2025, 1, 7))
        assert query(path, "SELECT count(*) FROM events")[0][0] == events
        assert outbox(path) == []
        # The ledger carries on: the next act writes the reminder and its message.
        ledger.advance_to(d(2025, 1, 7))
    assert [r[3] for r in outbox(path)] == ["reminder"]


def test_a_transaction_that_fails_writes_neither_events_nor_messages(path: Path) -> None:
    with opinion_given(path) as ledger:
        events = query(path, "SELECT count(*) FROM events")[0][0]
        with pytest.raises(RuntimeError), ledger.unit_of_work():
            ledger.advance_to(d(2025, 1, 10))  # the reminder and the deemed agreement
            raise RuntimeError("the process fails before the commit")
        assert query(path, "SELECT count(*) FROM events")[0][0] == events
        assert outbox(path) == []


def test_an_outbox_write_that_fails_takes_the_events_with_it(path: Path) -> None:
    # Both or neither, the other way round: a message that cannot be written (its id is
    # taken by a row planted in the way) fails the whole act; its events are not written.
    with opinion_given(path) as ledger:
        events = query(path, "SELECT count(*) FROM events")[0][0]
        reminder_at = events + 1  # the clock's tick on 01-07 appends the reminder next
        with closing(sqlite3.connect(path)) as con, con:
            con.execute(
                "INSERT INTO outbox VALUES (7, ?, 0, 'x', NULL, NULL, NULL, '2025-01-01', '{}', '')",
                (f"msg-{reminder_at}-0",),
            )
        with pytest.raises(ConcurrencyError):
            ledger.advance_to(d(2025, 1, 7))
        assert query(path, "SELECT count(*) FROM events")[0][0] == events
        assert query(path, "SELECT seq FROM outbox") == [(7,)]


def test_rebuild_and_replay_write_no_messages_and_verify_ignores_them(path: Path) -> None:
    run_scenario(load_scenario(RULE_05), str(path))
    before = query(path, "SELECT * FROM outbox")
    assert len(before) == 1
    assert cli("rebuild", "--db", str(path))[0] == 0
    assert query(path, "SELECT * FROM outbox") == before  # neither doubled nor dropped
    assert cli("replay", "--db", str(path), "--json")[0] == 0
    assert query(path, "SELECT * FROM outbox") == before
    assert cli("verify", "--db", str(path))[0] == 0
    with closing(sqlite3.connect(path)) as con, con:
        con.execute("DELETE FROM outbox")  # deliveries, not read models: no drift
    code, out = cli("verify", "--db", str(path))
    assert code == 0, out


def test_migrating_a_version_3_ledger_writes_no_message_for_its_history(path: Path) -> None:
    run_scenario(load_scenario(RULE_05), str(path))
    with closing(sqlite3.connect(path)) as con, con:
        for table in service_tables.tables():
            con.execute(f"DROP TABLE {table.name}")
        con.execute("UPDATE escrow_meta SET value = '3' WHERE key = 'schema_version'")
    code, out = cli("migrate", "--db", str(path))
    done = f"migrated the ledger's schema from version 3 to {SCHEMA_VERSION}"
    assert (code, out.strip()) == (0, done)
    assert outbox(path) == []  # the reminder of 01-07 is history: not back-filled
    assert cli("verify", "--db", str(path))[0] == 0


def test_recipients_by_kind() -> None:
    contract_parties = ("enterprise:E1", "tenant:T1", "fund_centre", "auditor")
    for kind in ("reminder", "enterprise_deadline_missed", "deemed_agreed"):
        assert recipients(kind, "E1", "T1") == contract_parties
    # Held releases (Art. 20) also reach the district authorities that suspend releases.
    assert recipients("releases_held", "E1", "T1") == (*contract_parties, "district")
    # The Art. 18 notice is the fund centre's duty: no contract, no enterprise, no tenant.
    assert recipients("authority_notice_due", None, None) == ("fund_centre", "auditor")


def test_a_party_receives_its_own_key_and_its_role_wide_messages() -> None:
    assert receives("enterprise:E1", "enterprise:E1")
    assert not receives("enterprise:E1", "enterprise:E10")
    assert not receives("enterprise:E10", "enterprise:E1")
    assert receives("district:Haidian", "district")
    assert receives("district", "district")
    assert not receives("district", "district:Haidian")
    assert not receives("tenant:T1", "enterprise:T1")
    assert not receives("auditor", "fund_centre")
