"""Tampering: any single changed, deleted or reordered event row is reported by `escrow verify`.

A ledger is written by a generated scenario (4 contracts, every kind of act, 23 kinds of event,
about 150 rows). Then, for EVERY row, on a fresh copy of the file each time:

- its data is changed (one digit of the event's JSON), and separately one of its other hashed
  columns (stream, version, type, effective date, recorded time, idempotency key, previous hash,
  hash);
- it is deleted (the last row too: the chain head outside the events table says where it ends);
- it is swapped with its neighbour;

and ``escrow verify --db COPY`` must exit 1 with one line naming that row's position (for a
swap, the first of the two). The untouched copy verifies (exit 0).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from reliability_support import add, copy_db, large_scenario, recompute, record
from toml_writer import to_toml
from typer.testing import CliRunner

from escrow.cli import app
from escrow.runner import run_scenario
from escrow.scenario import parse_scenario

runner = CliRunner()
COLUMNS = [
    "position",
    "stream",
    "version",
    "type",
    "effective_date",
    "recorded_at",
    "data",
    "idempotency_key",
    "prev_hash",
    "hash",
]
OTHER_HASHED = [
    "stream",
    "version",
    "type",
    "effective_date",
    "recorded_at",
    "idempotency_key",
    "prev_hash",
    "hash",
]


@pytest.fixture(scope="module")
def ledger_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tamper") / "ledger.db"
    scenario = parse_scenario(to_toml(large_scenario(4, seed=3)), "tamper.toml")
    run_scenario(scenario, str(path))
    single = path.with_name("single.db")
    copy_db(path, single)  # one self-contained file (no -wal beside it)
    return single


def rows(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as con:
        return con.execute(f"SELECT {', '.join(COLUMNS)} FROM events ORDER BY position").fetchall()


def verify(path: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["verify", "--db", str(path)])
    assert "Traceback" not in result.output
    lines = result.output.splitlines()
    # one verdict line; a sound ledger's is followed by its checkpoint (one JSON line)
    assert len(lines) == (2 if result.exit_code == 0 else 1), lines
    return result.exit_code, lines[0]


def tampered(ledger_db: Path, tmp_path: Path, sql: list[tuple[str, tuple[object, ...]]]) -> Path:
    copy = tmp_path / "copy.db"
    copy.unlink(missing_ok=True)
    copy_db(ledger_db, copy)
    con = sqlite3.connect(copy)
    try:
        with con:
            for statement, params in sql:
                con.execute(statement, params)
    finally:
        con.close()
    return copy


def changed_digit(text: str) -> str:
    """``text`` with its last digit changed (JSON stays JSON; the event may stop decoding)."""
    for i in range(len(text) - 1, -1, -1):
        if text[i].isdigit():
            return text[:i] + str((int(text[i]) + 1) % 10) + text[i + 1 :]
    return text + " "


def other_value(column: str, value: object) -> object:
    if column == "idempotency_key":
        return "forged-key" if value is None else None  # set on a keyless row, cleared on a keyed
    if column == "version":
        return int(value) + 1000  # type: ignore[call-overload]  # (stream, version) is unique
    text = str(value)
    if column in ("prev_hash", "hash"):
        return ("1" if text[0] != "1" else "2") + text[1:]
    if column == "stream":
        return text + "x"
    if column == "type":
        return "deposit_received" if text != "deposit_received" else "rent_received"
    return changed_digit(text)


def reported_at(line: str) -> int:
    assert line.startswith("unsound: event "), line
    return int(line.removeprefix("unsound: event ").split(":")[0])


def test_the_untouched_ledger_verifies(ledger_db: Path) -> None:
    code, line = verify(ledger_db)
    assert code == 0, line
    assert len(rows(ledger_db)) > 100


def test_every_changed_row_is_reported_at_its_position(ledger_db: Path, tmp_path: Path) -> None:
    started = time.perf_counter()
    missed = []
    for n, row in enumerate(rows(ledger_db)):
        position = row[0]
        column = OTHER_HASHED[n % len(OTHER_HASHED)]
        for name, value in (("data", changed_digit(str(row[6]))), (column, None)):
            new = value if name == "data" else other_value(name, row[COLUMNS.index(name)])
            copy = tampered(
                ledger_db,
                tmp_path,
                [(f"UPDATE events SET {name} = ? WHERE position = ?", (new, position))],
            )
            code, line = verify(copy)
            add("tamper_cases")
            if code != 1 or reported_at(line) != position:
                missed.append((position, name, code, line))
    record("tamper_changed_seconds", round(time.perf_counter() - started, 1))
    assert not missed, missed[:5]


def deleted(ledger_db: Path, tmp_path: Path, position: int) -> tuple[int, str]:
    copy = tampered(ledger_db, tmp_path, [("DELETE FROM events WHERE position = ?", (position,))])
    add("tamper_cases")
    return verify(copy)


def test_every_deleted_row_is_reported(ledger_db: Path, tmp_path: Path) -> None:
    missed = []
    all_rows = rows(ledger_db)
    for row in all_rows:
        position = int(row[0])  # type: ignore[call-overload]
        code, line = deleted(ledger_db, tmp_path, position)
        if code != 1 or reported_at(line) != position:
            missed.append((position, code, line))
    record("tamper_rows", len(all_rows))
    assert not missed, f"{len(missed)} deletions not reported: {missed[:5]}"


def test_every_row_swapped_with_its_neighbour_is_reported(ledger_db: Path, tmp_path: Path) -> None:
    missed = []
    all_rows = rows(ledger_db)
    body = COLUMNS[1:]
    assign = ", ".join(f"{c} = ?" for c in body)
    for i, row in enumerate(all_rows):
        j = i + 1 if i + 1 < len(all_rows) else i - 1
        first, second = sorted((row, all_rows[j]), key=lambda r: r[0])  # type: ignore[arg-type, return-value]
        sql = [
            (
                "UPDATE events SET stream = '~', idempotency_key = NULL WHERE position = ?",
                (first[0],),
            ),
            (f"UPDATE events SET {assign} WHERE position = ?", (*first[1:], second[0])),
            (f"UPDATE events SET {assign} WHERE position = ?", (*second[1:], first[0])),
        ]
        copy = tampered(ledger_db, tmp_path, sql)
        code, line = verify(copy)
        add("tamper_cases")
        if code != 1 or reported_at(line) != first[0]:
            missed.append((row[0], code, line))
    assert not missed, missed[:5]


def test_every_idempotency_key_changed_or_cleared_is_reported(
    ledger_db: Path, tmp_path: Path
) -> None:
    """A row's key is hashed: clearing it would let a bank's re-delivery be applied twice."""
    keyed = [row for row in rows(ledger_db) if row[COLUMNS.index("idempotency_key")] is not None]
    assert len(keyed) > 20
    missed = []
    for row in keyed:
        key = str(row[COLUMNS.index("idempotency_key")])
        for new in (None, key + "x"):
            copy = tampered(
                ledger_db,
                tmp_path,
                [("UPDATE events SET idempotency_key = ? WHERE position = ?", (new, row[0]))],
            )
            code, line = verify(copy)
            add("tamper_cases")
            if code != 1 or reported_at(line) != row[0]:
                missed.append((row[0], new, code, line))
    assert not missed, missed[:5]


# --- damaged rows under a re-written chain (issue 14, item 2) -----------------------------------
#
# A tamperer who knows the chain's algorithm rewrites it from the damaged row to the end, the head
# included: the chain is intact, but the row cannot be folded. `verify` reports the row (exit 1);
# every command that folds the damaged stream refuses the ledger with one line (exit 2), never a
# traceback: `replay` (every stream) and `balance` of the row's own contract. (A query on another
# contract reads none of the damaged stream's rows, by design: cost follows the work.)


def rechain(path: Path) -> None:
    """Recompute every hash, the chain head and the Merkle tree's kept nodes (as a careful
    attacker would), so only what the rows themselves say can give the damage away."""
    con = sqlite3.connect(path)
    try:
        with con:
            recompute(con)
    finally:
        con.close()


def damaged(ledger_db: Path, tmp_path: Path, sql: list[tuple[str, tuple[object, ...]]]) -> Path:
    copy = tampered(ledger_db, tmp_path, sql)
    rechain(copy)
    return copy


def refused_in_one_line(copy: Path, command: list[str]) -> str:
    result = runner.invoke(app, [*command, "--db", str(copy)])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code == 2, (command, result.output)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def folding(stream: object, day: object) -> list[list[str]]:
    """The commands that fold ``stream`` up to a row of ``day``: replay, and the balance of its
    contract as of that day. (The current balance starts from the contract's kept state and
    reads only the rows after it: a damaged row before it is ``escrow verify``'s to find.)"""
    commands = [["replay"]]
    if str(stream).startswith("contract:"):
        contract = str(stream)[len("contract:") :]
        commands.append(["balance", "--contract", contract, "--as-of", str(day)])
    return commands


def test_the_rechaining_tamperer_leaves_an_intact_chain(ledger_db: Path, tmp_path: Path) -> None:
    """The helper is right: re-chaining an untouched copy changes nothing."""
    copy = damaged(ledger_db, tmp_path, [])
    assert rows(copy) == rows(ledger_db)


def test_every_row_whose_recorded_time_is_not_a_time_is_reported_at_its_position(
    ledger_db: Path, tmp_path: Path
) -> None:
    missed = []
    all_rows = rows(ledger_db)
    for n, row in enumerate(all_rows):
        position = row[0]
        copy = damaged(
            ledger_db,
            tmp_path,
            [("UPDATE events SET recorded_at = 'not a time' WHERE position = ?", (position,))],
        )
        code, line = verify(copy)
        add("tamper_cases")
        if code != 1 or reported_at(line) != position or "recorded time" not in line:
            missed.append((position, code, line))
        if n % 10 == 0:  # the folding commands on a sample (replay folds the whole ledger)
            for command in folding(row[1], row[COLUMNS.index("effective_date")]):
                assert f"position {position}" in refused_in_one_line(copy, command)
    assert not missed, missed[:5]


def test_every_row_moved_to_an_unknown_contract_is_reported_at_its_position(
    ledger_db: Path, tmp_path: Path
) -> None:
    """The last row of each contract stream moved to ``contract:C9`` (version 1, so no version
    gap gives it away): C9 was never opened."""
    last_of: dict[str, tuple[object, ...]] = {}
    for row in rows(ledger_db):
        if str(row[1]).startswith("contract:"):
            last_of[str(row[1])] = row
    assert len(last_of) >= 4
    missed = []
    for row in last_of.values():
        position = row[0]
        copy = damaged(
            ledger_db,
            tmp_path,
            [
                (
                    "UPDATE events SET stream = 'contract:C9', version = 1 WHERE position = ?",
                    (position,),
                )
            ],
        )
        code, line = verify(copy)
        add("tamper_cases")
        if code != 1 or reported_at(line) != position:
            missed.append((position, code, line))
        # The contract it left lost its last event (a valid prefix: only the global fold, or
        # verify, sees the orphan); replay folds every stream.
        assert f"position {position}" in refused_in_one_line(copy, ["replay"])
    assert not missed, missed[:5]
