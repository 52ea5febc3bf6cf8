"""The read models: written with their events, rebuilt from them alone, checked against them.

On a real SQLite file: `escrow verify` names any table that drifted from the events and
`escrow rebuild` puts it right; a ledger of the previous schema (version 2, no read models) is
read by `verify` and `replay` as it is, refused by queries with a line that says to migrate, and
after `escrow migrate` answers as a ledger made now does; `Ledger.handle` takes every act.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import escrow
from escrow import acts
from escrow.cli import app
from escrow.domain.ledger import Transfer
from escrow.errors import AmountError, InputError
from escrow.projections import Deadline, Notice
from escrow.projector import drift, private_read_models
from escrow.runner import run_scenario
from escrow.scenario import load_scenario
from escrow.service import CODEC
from escrow.store import SCHEMA_VERSION, open_store, readstore, service_tables

ROOT = Path(__file__).resolve().parents[2]
# Between them: a suspension with held releases, an account change and its notice to the
# authority, a dispute and its mediation, refused acts: every read model has rows.
SCENARIOS = [
    ROOT / "scenarios" / "rule-13-suspension-pending-and-new-tranche.toml",
    ROOT / "scenarios" / "rule-18-change-account.toml",
    ROOT / "scenarios" / "rule-05-disagree-mediation.toml",
    ROOT / "scenarios" / "rule-03-05-refused-actions.toml",
]
runner = CliRunner()


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


# Stopped half-way, with releases still to come: the schedule and open deadlines have rows.
HALF_WAY = ("rule-10-monthly-releases.toml", dt.date(2025, 5, 15))


@pytest.fixture(params=[*((p.name, None) for p in SCENARIOS), HALF_WAY], ids=str)
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    name, until = request.param
    path = tmp_path / "ledger.db"
    report = run_scenario(load_scenario(ROOT / "scenarios" / name), str(path), until=until)
    return path, report


def tables_with_rows(path: Path) -> list[str]:
    con = sqlite3.connect(path)
    try:
        names = [
            r[0]
            for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'rm_%'"
            )
        ]
        return sorted(n for n in names if con.execute(f"SELECT count(*) FROM {n}").fetchone()[0])
    finally:
        con.close()


def tamper(path: Path, table: str) -> None:
    """Change one value of one row of ``table``: its last column that is not part of the key
    and not NULL (text gets an ``x`` appended, a number or a flag ``n`` becomes ``1 - n``)."""
    con = sqlite3.connect(path)
    try:
        with con:
            info = list(con.execute(f"PRAGMA table_info({table})"))
            columns = [r[1] for r in info]
            keys = [r[1] for r in info if r[5]]
            row = con.execute(f"SELECT * FROM {table} LIMIT 1").fetchone()
            where = " AND ".join(f"{k} = ?" for k in keys)
            args = [row[columns.index(k)] for k in keys]
            target = [c for c in columns if c not in keys and row[columns.index(c)] is not None][-1]
            value = row[columns.index(target)]
            change = f"{target} || 'x'" if isinstance(value, str) else f"1 - {target}"
            con.execute(f"UPDATE {table} SET {target} = {change} WHERE {where}", args)
    finally:
        con.close()


def test_a_fresh_ledger_has_no_drift_and_every_table_can_drift(
    ledger: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    path, report = ledger
    with open_store(str(path), CODEC, read_only=True) as store:
        assert drift(store) == []
    assert cli("verify", "--db", str(path))[0] == 0
    tables = tables_with_rows(path)
    assert {"rm_contracts", "rm_held", "rm_ledger", "rm_transfers"} <= set(tables)
    if report["clock"] == HALF_WAY[1].isoformat():  # stopped half-way
        assert {"rm_schedule", "rm_deadlines"} <= set(tables)
    for table in tables:
        copy = tmp_path / f"{table}.db"
        shutil.copyfile(path, copy)
        tamper(copy, table)
        code, out = cli("verify", "--db", str(copy))
        assert code == 1, (table, out)
        assert f"read model {table}:" in out and "escrow rebuild" in out, out
        assert cli("rebuild", "--db", str(copy))[0] == 0
        assert cli("verify", "--db", str(copy))[0] == 0, table


def test_a_row_missing_from_a_read_model_is_drift_too(
    ledger: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    path, _ = ledger
    con = sqlite3.connect(path)
    with con:
        con.execute(
            "DELETE FROM rm_transfers WHERE position = (SELECT max(position) FROM rm_transfers)"
        )
    con.close()
    code, out = cli("verify", "--db", str(path))
    assert code == 1
    assert "read model rm_transfers:" in out and "rows stored" in out, out


def downgrade_to_version_2(path: Path) -> None:
    """What a ledger made by the previous escrow holds: no read-model tables, a chain head of
    position and hash only, schema version 2."""
    con = sqlite3.connect(path)
    with con:
        for (name,) in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'rm_%'"
        ).fetchall() + [(table.name,) for table in service_tables.tables()]:
            con.execute(f"DROP TABLE {name}")
        con.execute("ALTER TABLE chain_head DROP COLUMN recorded_at")
        con.execute("ALTER TABLE chain_head DROP COLUMN peaks")
        con.execute("UPDATE escrow_meta SET value = '2' WHERE key = 'schema_version'")
    con.close()


def test_a_version_2_ledger_is_read_as_it_is_then_migrated_to_the_same_answers(
    tmp_path: Path,
) -> None:
    scenario = SCENARIOS[0]
    path = tmp_path / "old.db"
    report = run_scenario(load_scenario(scenario), str(path))
    downgrade_to_version_2(path)

    assert cli("verify", "--db", str(path))[0] == 0  # the chain and invariants, as it is
    code, out = cli("replay", "--db", str(path), "--json")
    assert code == 0, out
    assert json.loads(out) == report  # replayed from the events alone
    code, out = cli("balance", "--db", str(path), "--contract", "C1")
    assert code == 2 and "escrow migrate" in out and len(out.strip().splitlines()) == 1, out

    code, out = cli("migrate", "--db", str(path))
    done = f"migrated the ledger's schema from version 2 to {SCHEMA_VERSION}"
    assert (code, out.strip()) == (0, done)
    assert cli("verify", "--db", str(path))[0] == 0  # read models built, no drift
    with escrow.open_ledger(path, read_only=True) as migrated:
        assert migrated.held() == {
            c: {"deposit": Decimal(f["deposit"]), "rent": Decimal(f["rent"])}
            for c, f in report["held"].items()
        }
    # The scenario resumes on the migrated ledger: nothing is done twice.
    assert run_scenario(load_scenario(scenario), str(path)) == report


def test_a_version_3_ledger_whose_read_models_lack_columns_is_migrated_to_the_same_answers(
    tmp_path: Path,
) -> None:
    """A version-3 ledger made while version 3 was being written has no recording time on
    ``rm_schedule`` and ``rm_deadlines``: the step to version 4 makes the read-model tables
    again and ``escrow migrate`` fills them from the events."""
    scenario = SCENARIOS[0]
    path = tmp_path / "early-v3.db"
    report = run_scenario(load_scenario(scenario), str(path))
    con = sqlite3.connect(path)
    with con:
        for table in (*(t.name for t in service_tables.tables()),):
            con.execute(f"DROP TABLE {table}")
        con.execute("ALTER TABLE rm_schedule DROP COLUMN recorded_at")
        con.execute("ALTER TABLE rm_deadlines DROP COLUMN recorded_at")
        con.execute("UPDATE escrow_meta SET value = '3' WHERE key = 'schema_version'")
    con.close()

    code, out = cli("migrate", "--db", str(path))
    done = f"migrated the ledger's schema from version 3 to {SCHEMA_VERSION}"
    assert (code, out.strip()) == (0, done)
    assert cli("verify", "--db", str(path))[0] == 0  # read models rebuilt, no drift
    code, out = cli("replay", "--db", str(path), "--json")
    assert json.loads(out) == report
    # The scenario resumes on the migrated ledger: nothing is done twice.
    assert run_scenario(load_scenario(scenario), str(path)) == report


def test_read_models_marked_stale_are_refused_until_rebuilt(
    ledger: tuple[Path, dict[str, Any]],
) -> None:
    path, report = ledger
    con = sqlite3.connect(path)
    with con:
        con.execute("INSERT INTO escrow_meta (key, value) VALUES ('read_models', 'stale')")
    con.close()
    code, out = cli("deadlines", "--db", str(path))
    assert code == 2 and "escrow rebuild" in out, out
    assert cli("rebuild", "--db", str(path))[0] == 0
    code, out = cli("replay", "--db", str(path), "--json")
    assert json.loads(out) == report


def test_units_of_work_leave_no_drift_whether_they_commit_or_not(tmp_path: Path) -> None:
    path = tmp_path / "units.db"
    start = dt.date(2025, 3, 3)
    terms = escrow.ContractTerms(
        id="C1", filing_no="JZ-1", tenant="T1", enterprise="E1", start=start,
        end=dt.date(2026, 3, 2), monthly_rent=Decimal("3000.00"), deposit=Decimal("3000.00"),
    )  # fmt: skip
    with escrow.open_ledger(path) as ledger:
        with ledger.unit_of_work():
            ledger.open_contract(terms, on=start)
            ledger.pay_rent("C1", "12000.00", on=start)
        with pytest.raises(RuntimeError), ledger.unit_of_work():
            ledger.pay_deposit("C1", "3000.00", on=start)
            ledger.advance_to(dt.date(2025, 5, 3))
            raise RuntimeError("the import failed half-way")
        ledger.advance_to(dt.date(2025, 4, 3))
        # 12,000 = 4 months supervised, 3 months (9,000) released at once, the fourth on 04-03.
        assert ledger.held()["C1"] == {"deposit": Decimal("0.00"), "rent": Decimal("0.00")}
        assert drift(ledger.store) == []


def test_handle_takes_every_act_and_refuses_what_is_not_one(tmp_path: Path) -> None:
    with (
        escrow.open_ledger(tmp_path / "l.db") as ledger,
        pytest.raises(InputError, match="not an act the ledger knows: str"),
    ):
        ledger.handle("pay_rent")  # type: ignore[arg-type]
    with pytest.raises(AmountError):
        acts.PayRent(contract="C1", amount=1.5, on=dt.date(2025, 3, 3))  # type: ignore[arg-type]
    with pytest.raises(InputError, match="contract"):
        acts.ReturnHome(contract="", on=dt.date(2025, 3, 3))
    # Every kind of act has a handler, and its request names it.
    made = acts.PayRent(contract="C1", amount=Decimal("1E+2"), on=dt.date(2025, 3, 3))
    assert made.amount == Decimal("100.00")
    assert json.loads(made.request())["act"] == "pay_rent"
    from escrow.service import _HANDLERS

    assert set(_HANDLERS) == set(acts.ACTS)


@pytest.mark.parametrize(("cached", "packed_bytes"), [(1, 0), (1, 4096), (2, 10**9)])
def test_evicted_states_packed_or_reloaded_decide_as_cached_ones_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cached: int, packed_bytes: int
) -> None:
    """A simulation with a cache of one or two states, whose evicted states are dropped (reloaded
    from their streams), partly kept packed, or all kept packed, ends exactly where one with the
    usual cache ends: the same summary and the same read models."""
    from escrow import service
    from escrow.simulate import simulate

    with escrow.open_ledger(tmp_path / "usual.db") as ledger:
        expected = simulate(ledger, contracts=40, months=8, seed=3).as_json()
    monkeypatch.setattr(service, "CACHE_SIZE", cached)
    monkeypatch.setattr(service, "PACKED_BYTES", packed_bytes)
    with escrow.open_ledger(tmp_path / "small.db") as ledger:
        assert simulate(ledger, contracts=40, months=8, seed=3).as_json() == expected
        assert len(ledger._cache) <= cached
        assert ledger._packed_bytes <= packed_bytes
        assert bool(ledger._packed) == (packed_bytes > 0)  # the packed path was taken
        assert drift(ledger.store) == []
    usual, small = (sqlite3.connect(tmp_path / name) for name in ("usual.db", "small.db"))
    query = "SELECT stream, version, type, data FROM events ORDER BY position"
    assert usual.execute(query).fetchall() == small.execute(query).fetchall()
    usual.close()
    small.close()


def test_a_schedule_row_that_disagrees_with_its_contract_is_corrected_not_ticked(
    tmp_path: Path,
) -> None:
    """A tampered `rm_schedule` row says C1 falls due on 04-25; its state says 04-30 (the next
    monthly release of the 01-31 tranche, clamped to the month's end). The clock neither ticks C1
    on 04-25 nor loops: it rewrites the row from the state, and the read models agree with the
    events again."""
    name, until = HALF_WAY
    path = tmp_path / "ledger.db"
    run_scenario(load_scenario(ROOT / "scenarios" / name), str(path), until=dt.date(2025, 4, 20))
    con = sqlite3.connect(path)
    with con:
        (due,) = con.execute("SELECT due FROM rm_schedule WHERE key = 'contract:C1'").fetchone()
        assert due == "2025-04-30"
        con.execute("UPDATE rm_schedule SET due = '2025-04-25' WHERE key = 'contract:C1'")
    con.close()
    with escrow.open_ledger(path) as ledger:
        before = ledger.store.last_position()
        ledger.advance_to(dt.date(2025, 4, 26))
        written = [e for e in ledger.entries() if e.position > before]
        assert [type(e.event).__name__ for e in written] == ["ClockAdvanced"]  # nothing of C1
        assert drift(ledger.store) == []
        ledger.advance_to(until)  # and C1's release still comes on its day
        assert any(t.date.isoformat() == due for t in ledger.transfers("C1"))


def test_pending_rows_land_in_their_named_columns() -> None:
    """Pending keeps each row as a tuple in its table's column order (no dict per row); every
    value must come back from the column of its name, each value distinct so a swap shows."""
    pending = readstore.Pending()
    day, later = dt.date(2025, 3, 4), dt.date(2025, 4, 5)
    t = Transfer(
        day, "C1", "rent", "release", "src", "dst", Decimal("1.50"), Decimal("0.02"),
        "debit-acct", "credit-acct", "chan",
    )  # fmt: skip
    pending.add_transfers(7, "rec-7", [t])
    pending.add_notices(8, "rec-8", [Notice(day, "reminder", "C2", "deposit", "a detail")])
    pending.add_refusal(9, "rec-9", day, "pay_rent", "C3", "E1", "a reason")
    pending.set_held("C4", Decimal("10.00"), Decimal("20.00"), day, "rec-h")
    pending.set_deadlines("C5", [Deadline(later, "C5", "deposit", "refund_due", "d")], "rec-d")
    with private_read_models() as conn:
        pending.write(conn)
        assert not pending
        got = {
            name: [dict(r._mapping) for r in conn.execute(sa.text(f"SELECT * FROM {name}"))]
            for name in ("rm_transfers", "rm_notices", "rm_refusals", "rm_held", "rm_deadlines")
        }
    assert got["rm_transfers"] == [
        {
            "position": 7, "seq": 0, "contract": "C1", "date": "2025-03-04",
            "recorded_at": "rec-7", "fund": "rent", "kind": "release", "source": "src",
            "target": "dst", "principal": "1.50", "interest": "0.02", "debit": "debit-acct",
            "credit": "credit-acct", "channel": "chan",
        }
    ]  # fmt: skip
    assert got["rm_notices"] == [
        {
            "position": 8, "seq": 0, "contract": "C2", "date": "2025-03-04",
            "recorded_at": "rec-8", "kind": "reminder", "fund": "deposit", "detail": "a detail",
        }
    ]  # fmt: skip
    assert got["rm_refusals"] == [
        {
            "position": 9, "date": "2025-03-04", "recorded_at": "rec-9", "action": "pay_rent",
            "contract": "C3", "enterprise": "E1", "reason": "a reason",
        }
    ]  # fmt: skip
    assert got["rm_held"] == [
        {"contract": "C4", "deposit": "10.00", "rent": "20.00", "date": "2025-03-04",
         "recorded_at": "rec-h"}
    ]  # fmt: skip
    assert got["rm_deadlines"] == [
        {
            "contract": "C5", "seq": 0, "date": "2025-04-05", "recorded_at": "rec-d",
            "fund": "deposit", "kind": "refund_due", "detail": "d",
        }
    ]  # fmt: skip
